"""The preflight: parsing what hosts print, judging it against the groups' needs, probing in parallel."""

from __future__ import annotations

import socket
import threading

import pytest

from alur import preflight
from alur.inventory import Connection
from alur.preflight import HostProbe, Listener

OS_RELEASE_13 = 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nNAME="Debian GNU/Linux"\nVERSION_ID="13"\nID=debian\n'


def healthy(host: str = "h1", **changes: object) -> HostProbe:
    probe = HostProbe(
        host=host,
        endpoint=f"{host}:22",
        reachable=True,
        authenticated=True,
        become=True,
        python="3.13.5",
        os_id="debian",
        os_version="13",
        os_name="Debian GNU/Linux 13 (trixie)",
        memory_mb=8192,
        disk_free_mb=50000,
        disk_path="/",
        clock_skew=0.05,
    )
    for key, value in changes.items():
        setattr(probe, key, value)
    return probe


def causes(probe: HostProbe, groups: tuple[str, ...] = ()) -> list[str]:
    return [f"{f.severity}: {f.line()}" for f in preflight.evaluate(probe, preflight.needs_for(groups))]


def test_probe_output_parsers() -> None:
    sections = preflight.parse_sections("==clock\n1700000000.5\n==python\n3.11.2\n==os\nID=debian\n")
    assert sections == {"clock": "1700000000.5", "python": "3.11.2", "os": "ID=debian"}
    release = preflight.parse_os_release(OS_RELEASE_13)
    assert (release["ID"], release["VERSION_ID"]) == ("debian", "13")
    assert preflight.parse_meminfo_mb("MemTotal:       24637440 kB\nMemFree: 1 kB\n") == 24060
    df = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 263174212 26 81234567 25% /\n"
    assert preflight.parse_df_free_mb(df) == (79330, "/")
    assert preflight.parse_df_free_mb("garbage") is None


def test_listeners_carry_their_systemd_unit() -> None:
    ss = (
        'LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=101,fd=3))\n'
        'LISTEN 0 4096 [::ffff:127.0.0.1]:8080 *:* users:(("java",pid=202,fd=9))\n'
        "LISTEN 0 511 127.0.0.1:9200 0.0.0.0:*\n"
    )
    cgroups = preflight.parse_cgroups("101 0::/system.slice/ssh.service \n202 0::/system.slice/jenkins.service \n")
    listeners = preflight.parse_listeners(ss, cgroups)
    assert listeners == [
        Listener(22, "0.0.0.0", "sshd", 101, "ssh.service"),  # noqa: S104 - parsed, not bound
        Listener(8080, "::ffff:127.0.0.1", "java", 202, "jenkins.service"),
        Listener(9200, "127.0.0.1", "?", None, None),
    ]
    assert preflight.unit_of("12:pids:/system.slice/elasticsearch.service\n0::/init.scope") == "elasticsearch.service"


def test_a_port_held_by_its_own_service_passes_even_when_ss_cannot_name_the_process() -> None:
    # In a container without CAP_SYS_PTRACE, root's ss shows no process for another account's socket:
    # the socket's owner is then what tells Elasticsearch (user elasticsearch) from a stranger.
    ss = "LISTEN 0 16 192.168.10.11:9200 0.0.0.0:*\nLISTEN 0 16 127.0.0.1:9600 0.0.0.0:*\n"
    extended = (
        "LISTEN 0 16 192.168.10.11:9200 0.0.0.0:* uid:995 ino:9623346 sk:143 cgroup:unreachable:217f <->\n"
        "LISTEN 0 16 127.0.0.1:9600 0.0.0.0:* uid:1000 ino:9623347 sk:144 <->\n"
    )
    owners = preflight.parse_socket_owners(extended, "elasticsearch:x:995:995::/nonexistent:/bin/false\n"
                                           "alur:x:1000:1000::/home/alur:/bin/bash\n")  # fmt: skip
    assert owners == {("192.168.10.11", 9200): "elasticsearch", ("127.0.0.1", 9600): "alur"}
    probe = preflight.HostProbe("logs", "logs:22", become=True)
    probe.listeners = preflight.parse_listeners(ss, {}, owners)
    findings = preflight.evaluate(probe, preflight.needs_for(["elasticsearch", "logstash"]))
    assert [f.cause for f in findings if f.code == "ports"] == [
        "port 9600 (Logstash API) is already in use by ? (socket of alur) on 127.0.0.1"
    ]


def test_needs_add_up_over_the_hosts_groups() -> None:
    logs = preflight.needs_for(["elasticsearch", "logstash", "kibana", "filebeat"])
    assert logs.memory_mb == 256 + 1536 + 1024 + 1024 + 128
    assert [p.port for p in logs.ports] == [443, 5044, 5601, 9200, 9300, 9600]
    assert preflight.needs_for(["nothing-special"]) == preflight.HostNeeds(256, 1024, ())


def test_a_healthy_host_has_no_findings() -> None:
    assert causes(healthy(), ("jenkins",)) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"become": False, "become_error": "sudo: a password is required"}, "become (sudo) does not work"),
        ({"python": None}, "python3 not found"),
        ({"python": "3.6.9"}, "python 3.6.9 is older than 3.8"),
        ({"os_id": "debian", "os_version": "11", "os_name": "Debian GNU/Linux 11"}, "Debian GNU/Linux 11 is not supp"),
        ({"os_id": "centos", "os_version": "9", "os_name": "CentOS Stream 9"}, "CentOS Stream 9 is not supported"),
        ({"memory_mb": 1000}, "1000 MB memory, its groups need 1280 MB"),
        ({"disk_free_mb": 900}, "900 MB free on /, its groups need 5120 MB"),
        ({"clock_skew": -42.0}, "clock is -42.0s off"),
    ],
)
def test_each_problem_is_one_error_naming_the_host(changes: dict[str, object], expected: str) -> None:
    found = causes(healthy(**changes), ("jenkins",))
    assert len(found) == 1
    assert found[0].startswith("error: h1: ") and expected in found[0]


def test_ubuntu_and_a_small_clock_skew_are_warnings() -> None:
    found = causes(healthy(os_id="ubuntu", os_version="24.04", os_name="Ubuntu 24.04 LTS", clock_skew=2.0))
    assert found == [
        "warning: h1: Ubuntu 24.04 LTS is untested (supported: Debian 12, 13)",
        "warning: h1: clock is +2.0s off this machine's",
    ]


def test_a_port_is_busy_unless_its_own_service_holds_it() -> None:
    own = healthy(listeners=[Listener(8080, "127.0.0.1", "java", 7, "jenkins.service")])
    assert causes(own, ("jenkins",)) == []
    foreign = healthy(listeners=[Listener(8080, "*", "python3", 8, "devserver.service")])
    assert causes(foreign, ("jenkins",)) == [
        "error: h1: port 8080 (Jenkins) is already in use by python3 (devserver.service) on *"
    ]
    assert causes(foreign, ("filebeat",)) == []  # filebeat needs no port


def test_an_unreachable_host_is_one_line_and_nothing_else() -> None:
    probe = HostProbe(host="h2", endpoint="10.0.0.2:22")
    probe.error, probe.error_kind = "cannot reach 10.0.0.2:22: No route to host", "unreachable"
    findings = preflight.evaluate(probe, preflight.needs_for(()))
    assert [(f.code, f.line()) for f in findings] == [("unreachable", "h2: cannot reach 10.0.0.2:22: No route to host")]


def test_probe_reports_a_closed_port_as_unreachable() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    # Nothing listens there any more: a real connection attempt is refused.
    probe = preflight.probe(Connection(host="gone", address="127.0.0.1", port=port, user="nobody"))
    assert probe.reachable is False and probe.error_kind == "unreachable"
    assert probe.error is not None and f"127.0.0.1:{port}" in probe.error


def test_a_local_connection_is_skipped_with_a_note() -> None:
    probe = preflight.probe(Connection(host="me", address="me", connection="local"))
    assert [f.severity for f in preflight.evaluate(probe, preflight.needs_for(()))] == ["note"]


def test_hosts_are_probed_in_parallel() -> None:
    # Each fake probe waits until all four run at once: probing one host after the other would time out.
    barrier = threading.Barrier(4, timeout=10)

    def fake(connection: Connection) -> HostProbe:
        barrier.wait()
        return healthy(connection.host)

    connections = {name: Connection(host=name, address=name) for name in ("d", "c", "b", "a")}
    results = preflight.run_all(connections, fake)
    assert list(results) == ["a", "b", "c", "d"]
    assert all(r.authenticated for r in results.values())
