"""Bad values for the late roles against real hosts: site.yml stops in its validate play, and no host changes.

The cases are tests/unit/cases_check.py's BAD_INPUTS, where `alur check --offline` refuses every one of
them; here each chosen case runs the whole site.yml against two fresh hosts (Debian 13 and 12) that hold every
group between them. Nothing has been applied to them yet, so any play that ran past the validation (network,
common, ...) would change their files; the last test shows the same hosts do change once the value is good.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cases_check import BAD_INPUTS
from lab_hosts import BIN, ROOT, LabUp, run

GROUPS = {"a": ["jenkins", "elasticsearch", "logstash", "kibana"], "b": ["jenkins_agents", "filebeat"]}
ADDRESSES = {"a": "192.168.61.10/24", "b": "192.168.61.11/24"}
# One case per role, and the ways an operator narrows a run: the validate play runs whatever the tags, for the
# limited hosts, and in check mode.
CHOSEN = {
    "jenkins-port": ("a", ()),
    "proxy-port": ("a", ("--check",)),
    "common-ssh-port": ("b", ("--tags", "network")),
    "es-heap-size": ("a", ()),
    "ls-workers": ("a", ("--tags", "common")),
    "kibana-path": ("a", ("--limit", "a")),
    "filebeat-port": ("b", ("--limit", "b", "--tags", "filebeat")),
}

pytestmark = pytest.mark.containers


CASES = {case[0]: case for case in BAD_INPUTS}


@dataclass
class Lab:
    instance: str
    inventory: Path
    hosts: dict[str, str]  # a/b -> the container's inventory name

    def write(self, host: str | None = None, values: dict[str, Any] | None = None) -> None:
        """Every group on the two hosts, their static addresses, and one host's extra (bad) values."""
        for name in GROUPS:
            data: dict[str, Any] = {"network_interfaces": [{"name": "eth1", "addresses": [ADDRESSES[name]]}]}
            if name == host:
                data.update(values or {})
            (self.inventory / "host_vars" / f"{self.hosts[name]}.yml").write_text(yaml.safe_dump(data))
        hosts = yaml.safe_load((self.inventory / "hosts.yml").read_text())
        children: dict[str, Any] = {}
        for name, groups in GROUPS.items():
            for group in groups:
                children.setdefault(group, {"hosts": {}})["hosts"][self.hosts[name]] = None
        hosts["all"]["children"] = children
        (self.inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))

    def exec(self, host: str, command: str) -> subprocess.CompletedProcess[str]:
        return run("podman", "exec", f"alur-{self.instance}-{host}", "sh", "-c", command)

    def state(self) -> dict[str, str]:
        """What the plays after the validation would change first: network, packages, sshd, nftables, time."""
        probe = (
            "sha256sum /etc/network/interfaces /etc/ssh/sshd_config /etc/nftables.conf /etc/timezone "
            "/etc/apt/sources.list.d/* 2>&1; ip -o addr show dev eth1 | grep -v ' fe80'; "
            "dpkg-query -W -f '${Package} ${Version}\\n' | sha256sum; ls /etc/ssh/sshd_config.d /etc/sudoers.d"
        )
        return {name: self.exec(name, probe).stdout for name in GROUPS}

    def site(self, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_FORCE_COLOR="0")
        proc = run(
            str(BIN / "ansible-playbook"),
            "-i",
            str(self.inventory),
            "--vault-password-file",
            str(self.inventory.parent / "pw"),
            "site.yml",
            *args,
            env=env,
        )
        start = proc.stdout.find("{")
        return proc, json.loads(proc.stdout[start:]) if start >= 0 else {}


def failures(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(play, host, message) of every failed task."""
    found = []
    for play in report.get("plays", []):
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                # A loop's result says "One or more items failed"; each failed item has the rule's message.
                items = [item for item in result.get("results") or [] if item.get("failed")]
                for failed in items or ([result] if result.get("failed") else []):
                    found.append((play["play"]["name"], host, " ".join(str(failed.get("msg")).split())))
    return found


@pytest.fixture(scope="module")
def lab(two_hosts: LabUp, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    hosts = two_hosts("bi")
    folder = tmp_path_factory.mktemp("bad-input-site")
    (folder / "pw").write_text("vault-pass\n")  # the roles would generate the secrets
    inventory = hosts.write_inventory(folder / "inventory", artifacts_source="upstream")
    (inventory / "host_vars").mkdir()
    return Lab(hosts.instance, inventory, {name: name for name in GROUPS})


@pytest.fixture(scope="module")
def fresh(lab: Lab) -> dict[str, str]:
    return lab.state()


@pytest.mark.parametrize("case", list(CHOSEN))
def test_a_bad_value_stops_site_yml_before_any_change(lab: Lab, fresh: dict[str, str], case: str) -> None:
    from alur import check
    from alur.inventory import Inventory, VaultOptions

    _, _, values, message = CASES[case]
    where, args = CHOSEN[case]
    lab.write(where, values)
    host = lab.hosts[where]

    vault = VaultOptions(password_files=(str(lab.inventory.parent / "pw"),))
    report = check.run_check(Inventory(lab.inventory, ROOT, vault=vault), offline=True)
    refused = [f.cause for f in report.errors if f.host == host and message in f.cause]
    assert refused, [f.line() for f in report.errors]

    proc, result = lab.site(*args)
    assert proc.returncode != 0
    failed = failures(result)
    assert {play for play, _, _ in failed} == {"Validate every host's settings before anything changes"}, failed
    # The same words as alur check's, after the host's name.
    assert (host, f"{host}: {refused[0]}") in {(h, m) for _, h, m in failed}, failed
    # Every host of the run (only the limited one under --limit) ran and changed nothing; no host changed at all.
    ran = {h: stats["changed"] for h, stats in result["stats"].items()}
    expected = [host] if "--limit" in args else list(lab.hosts.values())
    assert ran == dict.fromkeys(expected, 0)
    assert lab.state() == fresh


def test_with_good_values_the_same_run_goes_on_and_changes_the_hosts(lab: Lab, fresh: dict[str, str]) -> None:
    """Control: past the validation the network play changes both hosts, so 'nothing changed' above means
    something. (Only the network: the whole site would install Jenkins and Elastic.)"""
    lab.write()
    proc, result = lab.site("--tags", "network")
    assert proc.returncode == 0, failures(result) or proc.stderr[-2000:]
    assert all(result["stats"][h]["changed"] > 0 for h in lab.hosts.values())
    assert lab.state() != fresh
