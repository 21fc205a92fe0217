"""Bad network models against real hosts: each is rejected with its message, and no host changes.

Every case of tests/unit/cases_network_model.py's BAD_MODELS runs the real playbook against two
real hosts (Debian 13 and 12). Host b's model is valid in every case and differs from what b
has, so a run that slipped past validation would change b; the last test proves it would.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cases_network_model as CASES
import pytest
import yaml
from lab_hosts import BIN, LabUp, run

HOSTS = ("a", "b")
BASELINE = {
    "a": [{"name": "eth1", "addresses": ["192.168.60.10/24"]}],
    "b": [{"name": "eth1", "addresses": ["192.168.60.11/24"]}],
}

pytestmark = pytest.mark.containers


@dataclass
class Lab:
    instance: str
    inventory: Path

    def write(self, models: dict[str, Any], **extra: Any) -> None:
        hosts = yaml.safe_load((self.inventory / "hosts.yml").read_text())
        hosts["all"]["vars"].pop("network_take_over_netplan", None)
        hosts["all"]["vars"].update(extra)
        (self.inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
        for host in HOSTS:
            (self.inventory / "host_vars" / f"{host}.yml").write_text(
                yaml.safe_dump({"network_interfaces": models[host]})
            )

    def exec(self, host: str, command: str) -> subprocess.CompletedProcess[str]:
        return run("podman", "exec", f"alur-{self.instance}-{host}", "sh", "-c", command)

    def state(self) -> dict[str, str]:
        """Everything the role could change on each host: its files, eth1's addresses, its backups."""
        probe = (
            "sha256sum /etc/network/interfaces /etc/network/interfaces.d/* /etc/resolv.conf; "
            "ip -o addr show dev eth1 | grep -v ' fe80'; ls /var/lib/alur-network/backups; "
            "ls /etc/netplan /var/backups/alur-network/netplan 2>/dev/null"
        )
        return {host: self.exec(host, probe).stdout for host in HOSTS}

    def playbook(self) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_FORCE_COLOR="0")
        proc = run(str(BIN / "ansible-playbook"), "-i", str(self.inventory), "playbooks/network.yml", env=env)
        start = proc.stdout.find("{")
        return proc, json.loads(proc.stdout[start:]) if start >= 0 else {}


def messages(report: dict[str, Any]) -> list[str]:
    found = []
    for play in report.get("plays", []):
        for task in play["tasks"]:
            for result in task["hosts"].values():
                if result.get("failed"):
                    found.append(str(result.get("msg")))
    return found


@pytest.fixture(scope="module")
def lab(two_hosts: LabUp, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    hosts = two_hosts("nb")
    folder = hosts.write_inventory(tmp_path_factory.mktemp("bad-input"))
    (folder / "host_vars").mkdir()
    return Lab(hosts.instance, folder)


@pytest.fixture(scope="module")
def converged(lab: Lab) -> dict[str, str]:
    lab.write(BASELINE)
    proc, report = lab.playbook()
    assert proc.returncode == 0, messages(report) or proc.stderr[-2000:]
    state = lab.state()
    assert "192.168.60.10/24" in state["a"] and "192.168.60.11/24" in state["b"]
    return state


@pytest.mark.parametrize(("models", "message"), CASES.BAD_MODELS)
def test_bad_model_changes_no_host(lab: Lab, converged: dict[str, str], models: dict[str, Any], message: str) -> None:
    lab.write(copy.deepcopy(models))
    proc, report = lab.playbook()
    assert proc.returncode != 0
    found = messages(report)
    assert any(message in m for m in found), found
    assert any(m.startswith("network_interfaces: ") and "nothing was changed on any host" in m for m in found)
    assert {host: stats["changed"] for host, stats in report["stats"].items()} == dict.fromkeys(HOSTS, 0)
    assert lab.state() == converged


def test_a_netplan_host_stops_the_play_before_any_change(lab: Lab, converged: dict[str, str]) -> None:
    lab.exec("a", "mkdir -p /etc/netplan && printf 'network: {version: 2}\\n' > /etc/netplan/01-netcfg.yaml")
    try:
        with_netplan = lab.state()
        lab.write({"a": BASELINE["a"], "b": CASES.GOOD_B})
        proc, report = lab.playbook()
        assert proc.returncode != 0
        assert any(
            m.startswith("a: netplan owns the network here (/etc/netplan/01-netcfg.yaml)")
            and "network_take_over_netplan: true" in m
            for m in messages(report)
        ), messages(report)
        assert lab.state() == with_netplan, "b changed although a stopped the play"

        lab.write(BASELINE, network_take_over_netplan=True)
        proc, report = lab.playbook()
        assert proc.returncode == 0, messages(report)
        assert lab.exec("a", "test -e /etc/netplan/01-netcfg.yaml").returncode != 0
        assert lab.exec("a", "cat /var/backups/alur-network/netplan/01-netcfg.yaml").stdout == "network: {version: 2}\n"
    finally:
        lab.exec("a", "rm -rf /etc/netplan /var/backups/alur-network")


def test_the_good_host_would_have_changed(lab: Lab, converged: dict[str, str]) -> None:
    """Control: b's model in the bad cases is a real change, so 'no host changed' above means something."""
    lab.write({"a": BASELINE["a"], "b": CASES.GOOD_B})
    proc, report = lab.playbook()
    assert proc.returncode == 0, messages(report)
    assert report["stats"]["b"]["changed"] > 0 and report["stats"]["a"]["changed"] == 0
    assert "192.168.60.12/24" in lab.state()["b"]
