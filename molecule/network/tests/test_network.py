"""The network role on three hosts: exact addresses, routes and DNS, reachability, reboot-equivalent."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import alur_probe
import pytest

testinfra_hosts = ["ansible://all"]

# Per host: the interface carrying its addresses and exactly the global addresses it must have.
EXPECTED = {
    "net-a": ("eth1", {"192.168.70.1/24", "192.168.70.11/24", "fd70::1/64"}),
    "net-b": ("eth1", {"192.168.70.2/24", "fd70::2/64"}),
    "net-c": ("br0", {"192.168.70.3/24", "fd70::3/64"}),
}
ROUTES = {
    "net-a": [("-4", "10.70.0.0/16", "192.168.70.2", "eth1", 50)],
    "net-b": [("-4", "default", "192.168.70.1", "eth1", 300)],
    "net-c": [("-4", "10.71.0.0/16", "192.168.70.1", "br0", None), ("-6", "fd71::/64", "fd70::1", "br0", 20)],
}
RESOLV = {
    "net-b": ["search alur.test", "nameserver 192.168.70.1"],
    "net-c": ["search alur.test", "nameserver 192.168.70.1"],
}


def name_of(host) -> str:
    return host.backend.get_hostname()


def global_addresses(host, dev: str) -> set[str]:
    links = json.loads(host.check_output(f"ip -j addr show dev {dev}"))
    return {f"{a['local']}/{a['prefixlen']}" for a in links[0]["addr_info"] if a.get("scope") == "global"}


def routes(host, family: str) -> list[dict]:
    return json.loads(host.check_output(f"ip {family} -j route show"))


def assert_network_state(host) -> None:
    name = name_of(host)
    dev, wanted = EXPECTED[name]
    assert global_addresses(host, dev) == wanted
    for family, dst, via, route_dev, metric in ROUTES[name]:
        matches = [
            r
            for r in routes(host, family)
            if r.get("dst") == dst
            and r.get("gateway") == via
            and r.get("dev") == route_dev
            and r.get("metric") == metric
        ]
        assert matches, f"{name}: no route {dst} via {via} dev {route_dev} metric {metric}"


def test_each_host_has_exactly_its_static_addresses_and_routes(host):
    assert_network_state(host)


def test_management_network_is_untouched(host):
    # eth0 keeps podman's address and stays the preferred default route (lowest metric).
    eth0 = global_addresses(host, "eth0")
    assert alur_probe.address(host) + "/24" in eth0
    best = host.check_output("ip -4 route get 192.0.2.123")
    assert " dev eth0 " in best


def test_mtu_applied(host):
    # net-a's model sets 1450; the others set none and keep the lab network's 1500.
    expected = "1450" if name_of(host) == "net-a" else "1500"
    assert host.check_output("cat /sys/class/net/eth1/mtu") == expected


def test_bridge_has_its_port(host):
    if name_of(host) != "net-c":
        pytest.skip("only net-c has a bridge")
    assert host.file("/sys/class/net/br0/bridge").is_directory
    assert host.file("/sys/class/net/br0/brif/eth1").exists
    assert global_addresses(host, "eth1") == set(), "a bridge port carries no address of its own"


def test_dns_config_takes_effect(host):
    name = name_of(host)
    lines = [
        line for line in host.file("/etc/resolv.conf").content_string.splitlines() if line and not line.startswith("#")
    ]
    if name not in RESOLV:
        # No name servers in net-a's model: the file stays podman's.
        assert any(line.startswith("nameserver 10.") for line in lines), lines
        return
    assert lines == RESOLV[name]
    # The short name goes through the search domain to net-a's dnsmasq over the lab network.
    assert host.check_output("getent hosts probe").split()[0] == "192.168.70.99"


def test_hosts_reach_each_other_over_the_lab_addresses(host):
    for other, (_, addresses) in EXPECTED.items():
        if other == name_of(host):
            continue
        for cidr in addresses:
            target = cidr.split("/")[0]
            assert alur_probe.connects_from(host, target, 22), f"{name_of(host)} cannot reach sshd on {other} {target}"


def test_interfaces_file_sources_the_fragments(host):
    main = host.file("/etc/network/interfaces").content_string
    assert "source /etc/network/interfaces.d/*" in main
    assert "iface lo inet loopback" in main
    with host.sudo():
        assert host.run("ifquery --list").rc == 0


def test_obsolete_fragment_removed_and_foreign_file_kept(host):
    assert not host.file("/etc/network/interfaces.d/alur-eth9").exists
    notes = host.file("/etc/network/interfaces.d/local-notes")
    assert notes.exists and "leave this file alone" in notes.content_string


def test_second_run_bounced_nothing(host):
    # converge applied once; idempotence and check ran the role again without starting a change.
    with host.sudo():
        log = host.file("/var/lib/alur-network/log").content_string
        result = json.loads(host.check_output("/usr/local/sbin/alur-netapply status"))
    assert log.count("armed revert") == 1
    assert result["state"] == "confirmed"
    assert host.service("alur-network-boot-revert").is_enabled


def test_restarting_networking_brings_the_same_addresses_back(host):
    with host.sudo():
        host.check_output("systemctl restart networking")
    deadline = time.monotonic() + 30
    while True:
        try:
            assert_network_state(host)
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def converge_check_diff(host_name: str, model: list[dict]) -> subprocess.CompletedProcess[str]:
    """converge.yml with --check --diff on one host, with another model for it."""
    scenario = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    config = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "ansible.cfg"
    if config.is_file():
        env["ANSIBLE_CONFIG"] = str(config)
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"]]
    argv += ["--check", "--diff", "--limit", host_name, "-e", json.dumps({"network_interfaces": model})]
    return subprocess.run(
        [*argv, str(scenario / "converge.yml")], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def test_check_mode_shows_the_change_as_a_diff_and_changes_nothing(host):
    if name_of(host) != "net-b":
        pytest.skip("one host is enough")
    probe = "sha256sum /etc/network/interfaces /etc/network/interfaces.d/*; ls /var/lib/alur-network/backups"
    with host.sudo():
        before = host.check_output(probe)
    model = [{"name": "eth1", "addresses": ["192.168.70.22/24", "fd70::2/64"]}]
    proc = converge_check_diff("net-b", model)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    # The fragment's diff, line by line, and the task counted as a change.
    assert "-    address 192.168.70.2\n" in proc.stdout and "+    address 192.168.70.22\n" in proc.stdout
    recap = re.search(r"^net-b\s*: ok=\d+\s+changed=(\d+)", proc.stdout, re.MULTILINE)
    assert recap and int(recap.group(1)) >= 1, proc.stdout[-2000:]
    with host.sudo():
        assert host.check_output(probe) == before, "check mode wrote nothing"
    assert global_addresses(host, "eth1") == EXPECTED["net-b"][1]
