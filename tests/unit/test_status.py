"""alur status: addresses from `ip -o addr`, the service check registry, and the built-in checks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from alur import status
from alur.inventory import Connection
from alur.sshexec import CommandResult, SshError

IP_ADDR = """\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eth0    inet 10.89.0.2/24 brd 10.89.0.255 scope global eth0\\       valid_lft forever preferred_lft forever
3: eth1    inet 192.168.10.21/24 brd 192.168.10.255 scope global eth1\\       valid_lft forever
2: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever
4: br0@eth2    inet6 2001:db8::5/64 scope global \\       valid_lft forever preferred_lft forever
"""

RULESET = "table inet alur {\n  chain input {\n    type filter hook input priority filter; policy drop;\n  }\n}\n"


class FakeSession:
    """Answers commands from a table of (substring, stdout, rc)."""

    answers: ClassVar[list[tuple[str, str, int]]] = []
    refuse: ClassVar[str | None] = None

    def __init__(self, connection: Connection, timeout: float = 10.0) -> None:
        if FakeSession.refuse:
            raise SshError("unreachable", FakeSession.refuse)
        self.connection = connection
        self.commands: list[tuple[str, bool]] = []

    def run(self, command: str, sudo: bool = False, timeout: float = 30.0) -> CommandResult:
        self.commands.append((command, sudo))
        for needle, out, rc in self.answers:
            if needle in command:
                return CommandResult(rc, out, "", 0.0, 0.0)
        return CommandResult(127, "", "not found", 0.0, 0.0)

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


@pytest.fixture
def fake_ssh(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeSession]]:
    FakeSession.refuse = None
    FakeSession.answers = [
        ("ip -o addr", IP_ADDR, 0),
        ("systemctl is-active ssh.service", "active\n", 0),
        ("systemctl is-active nftables.service", "active\n", 0),
        ("ssh -V", "OpenSSH_10.0p2 Debian-7, OpenSSL 3.5.1 1 Jul 2025\n", 0),
        ("nft --version", "nftables v1.1.3 (Commodore Bullwinkle)\n", 0),
        ("nft list ruleset", RULESET, 0),
    ]
    monkeypatch.setattr(status, "Session", FakeSession)
    yield FakeSession


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status, "_REGISTRY", {})


def connection(host: str = "app1") -> Connection:
    return Connection(host=host, address="10.89.0.2", user="alur")


def test_addresses_parse_every_family_and_interface() -> None:
    found = status.parse_ip_addr(IP_ADDR)
    assert [(a.interface, a.family, a.cidr, a.scope) for a in found] == [
        ("lo", "inet", "127.0.0.1/8", "host"),
        ("eth0", "inet", "10.89.0.2/24", "global"),
        ("eth1", "inet", "192.168.10.21/24", "global"),
        ("eth0", "inet6", "fe80::1/64", "link"),
        ("br0", "inet6", "2001:db8::5/64", "global"),
    ]


def test_checks_plug_in_by_group(clean_registry: None) -> None:
    def check(name: str) -> Callable[[status.ServiceContext], status.ServiceHealth]:
        return lambda context: status.ServiceHealth(name=name, up=True)

    status.service_check("all", "base")(check("base"))
    status.service_check("jenkins", "jenkins")(check("jenkins"))
    status.service_check("jenkins", "jenkins")(check("jenkins-v2"))  # re-registering replaces
    assert [(g, n) for g, n, _ in status.checks_for(["jenkins", "filebeat"])] == [
        ("all", "base"),
        ("jenkins", "jenkins"),
    ]
    assert [(g, n) for g, n, _ in status.checks_for([])] == [("all", "base")]


def test_built_in_checks_are_registered_for_every_host() -> None:
    status.load_plugins()
    names = [n for g, n, _ in status.checks_for([]) if g == "all"]
    assert {"sshd", "nftables"} <= set(names)


def test_a_host_reports_addresses_and_its_services(fake_ssh: type[FakeSession]) -> None:
    status.load_plugins()
    # A group no service check is registered for: only the checks every host gets run.
    result = status.host_status({}, "app1", ["no-such-service-group"], connection())
    assert result.reachable and result.error is None
    assert [a.cidr for a in result.addresses] == ["10.89.0.2/24", "192.168.10.21/24", "2001:db8::5/64"]
    services = {s.name: s for s in result.services}
    assert services["sshd"].up and services["sshd"].version == "10.0p2"
    assert services["sshd"].url == "ssh://alur@10.89.0.2:22"
    assert services["nftables"].up and services["nftables"].version == "1.1.3"
    assert services["nftables"].detail == "input policy drop"


def test_a_firewall_without_a_drop_policy_is_down(fake_ssh: type[FakeSession]) -> None:
    status.load_plugins()
    fake_ssh.answers = [a for a in fake_ssh.answers if a[0] != "nft list ruleset"] + [
        ("nft list ruleset", RULESET.replace("policy drop", "policy accept"), 0)
    ]
    result = status.host_status({}, "app1", [], connection())
    nft = next(s for s in result.services if s.name == "nftables")
    assert nft.up is False and nft.detail == "no input chain defaults to drop"
    assert not result.healthy


def test_a_broken_check_does_not_hide_the_others(fake_ssh: type[FakeSession], clean_registry: None) -> None:
    def broken(context: status.ServiceContext) -> status.ServiceHealth:
        raise RuntimeError("bug in a plug-in")

    def fine(context: status.ServiceContext) -> status.ServiceHealth:
        return status.ServiceHealth(name="fine", up=True)

    status.service_check("all", "broken")(broken)
    status.service_check("all", "fine")(fine)
    result = status.host_status({}, "app1", [], connection())
    assert [(s.name, s.up, s.detail) for s in result.services] == [
        ("broken", None, "check failed: bug in a plug-in"),
        ("fine", True, None),
    ]


def test_an_unreachable_host(fake_ssh: type[FakeSession]) -> None:
    fake_ssh.refuse = "cannot reach 10.89.0.2:22: No route to host"
    result = status.host_status({}, "app1", [], connection())
    assert not result.reachable and result.error == fake_ssh.refuse
    assert result.services == [] and not result.healthy


def test_checks_see_the_hosts_variables(fake_ssh: type[FakeSession], clean_registry: None) -> None:
    seen: dict[str, Any] = {}

    def port(context: status.ServiceContext) -> status.ServiceHealth:
        seen["port"] = context.variables("web_port", 80)
        seen["missing"] = context.variables("nothing", "default")
        return status.ServiceHealth(name="web", up=True, url=f"https://{context.connection.address}:{seen['port']}")

    status.service_check("web", "web")(port)

    def variables(name: str, default: Any) -> Any:
        return {"web_port": 8443}.get(name, default)

    result = status.host_status({"app1": variables}, "app1", ["web"], connection())
    assert seen == {"port": 8443, "missing": "default"}
    assert result.services[0].url == "https://10.89.0.2:8443"
    assert result.services[0].group == "web"


MODEL = [{"name": "eth1", "method": "static", "addresses": ["192.168.10.11/24"]}]


def lab_variables(name: str, default: Any) -> Any:
    return {"network_interfaces": MODEL}.get(name, default)


def curl_answer(body: str, status: int) -> str:
    return f"{body}\n{status}"  # what `curl -w '\n%{http_code}'` prints


def test_elastic_checks_ask_the_products_endpoints_and_name_stand_ins(fake_ssh: type[FakeSession]) -> None:
    status.load_plugins()
    stats = {"pipelines": {"alur-beats": {"events": {"in": 7, "out": 5}}}}
    output = {"libbeat": {"output": {"events": {"acked": 3, "failed": 0}}}}
    fake_ssh.answers = [
        *fake_ssh.answers,
        ("systemctl is-active", "active\n", 0),
        ("-f='${Version}' elasticsearch", "9.5.6+standin-1", 0),
        ("-f='${Version}' logstash", "1:9.5.6-1", 0),
        ("-f='${Version}' filebeat", "9.5.6+standin-1", 0),
        ("https://192.168.10.11:9200/", curl_answer('{"error": "unauthenticated"}', 401), 0),
        ("_node/stats/pipelines/alur-beats", curl_answer(json.dumps(stats), 200), 0),
        ("127.0.0.1:5066/stats", curl_answer(json.dumps(output), 200), 0),
        ("journalctl -u filebeat", "2026-11-22T10:00:00+0000 app1 filebeat[1]: ...\n", 0),
    ]
    groups = ["elasticsearch", "logstash", "filebeat"]
    result = status.host_status({"logs": lab_variables}, "logs", groups, connection("logs"))
    services = {s.name: s for s in result.services}
    elastic = services["elasticsearch"]
    assert (elastic.up, elastic.version, elastic.url) == (True, "9.5.6", "https://192.168.10.11:9200")
    assert elastic.detail == "answers, security on (401 without credentials) (CI stand-in)"
    assert (services["logstash"].up, services["logstash"].version) == (True, "9.5.6")
    assert services["logstash"].detail == "pipeline alur-beats up, 5 events out since start"
    assert services["filebeat"].detail == (
        "3 events acknowledged by Logstash, 0 failed; last publish logged 2026-11-22T10:00:00+0000 (CI stand-in)"
    )
    assert result.healthy


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (curl_answer('{"error": "not implemented"}', 501), "pipeline alur-beats not running (API 501)"),
        ("", "pipeline alur-beats not running (API does not answer)"),
    ],
)
def test_logstash_without_the_beats_pipeline_is_down(fake_ssh: type[FakeSession], answer: str, detail: str) -> None:
    status.load_plugins()
    fake_ssh.answers = [
        *fake_ssh.answers,
        ("systemctl is-active", "active\n", 0),
        ("-f='${Version}' logstash", "1:9.5.6-1", 0),
        ("_node/stats/pipelines/alur-beats", answer, 0 if answer else 7),
    ]
    result = status.host_status({}, "logs", ["logstash"], connection("logs"))
    logstash = next(s for s in result.services if s.name == "logstash")
    assert (logstash.up, logstash.detail) == (False, detail)
    assert not result.healthy


def test_the_proxy_is_named_by_the_address_its_certificate_carries(fake_ssh: type[FakeSession]) -> None:
    status.load_plugins()
    fake_ssh.answers = [
        *fake_ssh.answers,
        ("systemctl is-active", "active\n", 0),
        ("/usr/sbin/nginx -v", "nginx version: nginx/1.26.3\n", 0),
        ("https://127.0.0.1:8443/login", "HTTP/1.1 403 Forbidden\r\nX-Jenkins: 2.580.2\r\n\r\n", 0),
    ]

    def variables(name: str, default: Any) -> Any:
        return {"network_interfaces": MODEL, "nginx_proxy_https_port": 8443}.get(name, default)

    result = status.host_status({"ci": variables}, "ci", ["jenkins"], connection("ci"))
    proxy = next(s for s in result.services if s.name == "nginx-proxy")
    assert (proxy.up, proxy.version, proxy.url) == (True, "1.26.3", "https://192.168.10.11:8443/")
    assert proxy.detail == "HTTPS 403, reaches Jenkins"
