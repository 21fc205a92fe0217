"""The network role when a change cuts the controller off: the hosts revert by themselves.

The controller manages two hosts (Debian 13 and 12) over SSH through their eth1, the very
interface the role changes: this machine gets an address on the lab network's bridge
(`alur lab up --lan-bridge`). The subnet is picked per run among those this machine does not
route yet, so two runs never share one.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lab_hosts import BIN, ROOT, LabUp, run

TIMEOUT = 30  # network_rollback_timeout for these tests: the shortest the role accepts

pytestmark = pytest.mark.containers


def free_subnet() -> ipaddress.IPv4Network:
    """A 192.168.x.0/24 nothing on this machine routes yet, starting from a place the run id picks."""
    taken = []
    for line in run("ip", "-4", "route", "show", "table", "all").stdout.splitlines():
        word = line.split()[0] if line.split() else ""
        if word in ("broadcast", "local", "unreachable", "blackhole", "prohibit") and len(line.split()) > 1:
            word = line.split()[1]
        try:
            taken.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            continue
    taken = [net for net in taken if net.prefixlen > 0]
    start = int(hashlib.sha256(os.environ["ALUR_RUN_ID"].encode()).hexdigest(), 16) % 30
    for offset in range(30):
        candidate = ipaddress.ip_network(f"192.168.{80 + (start + offset) % 30}.0/24")
        if not any(candidate.overlaps(net) for net in taken):
            return candidate
    pytest.fail("no free 192.168.80-109.0/24 subnet on this machine for the lab network bridge")


@dataclass
class Lab:
    instance: str
    subnet: ipaddress.IPv4Network
    folder: Path
    mgmt: dict[str, str]  # host -> management address
    host_keys: dict[str, str]  # host -> "type key"

    def address(self, last: int) -> str:
        return str(self.subnet.network_address + last)

    def container(self, host: str) -> str:
        return f"alur-{self.instance}-{host}"

    def inventory(self, name: str, addresses: dict[str, str], models: dict[str, Any], **extra: Any) -> Path:
        """An inventory reaching each host at the given address, with its model in host_vars."""
        folder = self.folder / name / "inventory"
        (folder / "host_vars").mkdir(parents=True, exist_ok=True)
        known = folder.parent / "known_hosts"
        known.write_text("".join(f"{addresses[h]} {self.host_keys[h]}\n" for h in addresses))
        key = ROOT / ".alur" / "labs" / self.instance / "id_ed25519"
        hosts = {
            "all": {
                "vars": {
                    "ansible_user": "alur",
                    "ansible_ssh_private_key_file": str(key),
                    "ansible_ssh_common_args": f"-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes "
                    "-o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5",
                    "network_rollback_timeout": TIMEOUT,
                    **extra,
                },
                "hosts": {h: {"ansible_host": a} for h, a in addresses.items()},
            }
        }
        (folder / "hosts.yml").write_text(yaml.safe_dump(hosts))
        for host, model in models.items():
            (folder / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump({"network_interfaces": model}))
        return folder

    def exec(self, host: str, command: str) -> str:
        return run("podman", "exec", self.container(host), "sh", "-c", command).stdout

    def files(self, host: str) -> str:
        """Checksums of every ifupdown file on the host."""
        return self.exec(host, "sha256sum /etc/network/interfaces /etc/network/interfaces.d/*")


def playbook(inventory: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_FORCE_COLOR="0")
    proc = run(str(BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/network.yml", env=env)
    (inventory.parent / "play.json").write_text(proc.stdout)  # kept for a post-mortem
    start = proc.stdout.find("{")
    return proc, json.loads(proc.stdout[start:]) if start >= 0 else {}


def failures(report: dict[str, Any]) -> dict[str, str]:
    """host -> message of its failed task."""
    found = {}
    for play in report.get("plays", []):
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed"):
                    found[host] = str(result.get("msg"))
    return found


def ping(inventory: Path) -> subprocess.CompletedProcess[str]:
    return run(str(BIN / "ansible"), "-i", str(inventory), "all", "-m", "ansible.builtin.ping", "-o")


class Prober(threading.Thread):
    """Connects to sshd over and over, recording when it answered and when it did not."""

    def __init__(self, address: str) -> None:
        super().__init__(daemon=True)
        self.address = address
        self.samples: list[tuple[float, bool]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            began = time.time()  # wall clock: comparable with the host's own timestamps
            try:
                with socket.create_connection((self.address, 22), timeout=0.5):
                    ok = True
            except OSError:
                ok = False
            self.samples.append((began, ok))
            time.sleep(max(0.0, 0.2 - (time.time() - began)))

    def outage(self) -> tuple[float, float] | None:
        """(cut-off, recovery) of the longest outage: its first failed connect, and the next success.

        The longest, because a loaded machine can miss a connect or two while nothing is cut.
        """
        best: tuple[float, float] | None = None
        cut: float | None = None
        for moment, ok in self.samples:
            if not ok and cut is None:
                cut = moment
            elif ok and cut is not None:
                if best is None or moment - cut > best[1] - best[0]:
                    best = (cut, moment)
                cut = None
        return best


@pytest.fixture(scope="module")
def lab(two_hosts: LabUp, tmp_path_factory: pytest.TempPathFactory) -> Lab:
    subnet = free_subnet()
    hosts = two_hosts("nl", lan_bridge=f"{subnet.network_address + 1}/{subnet.prefixlen}")
    return Lab(hosts.instance, subnet, tmp_path_factory.mktemp("lockout"), hosts.addresses, hosts.host_keys())


def lan_model(lab: Lab, last: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "eth1",
            "addresses": [f"{lab.subnet.network_address + last}/{lab.subnet.prefixlen}"],
            # A route the rollback must bring back with the address.
            "routes": [{"to": "10.77.0.0/16", "via": str(lab.subnet.network_address + 254), "metric": 70}],
        }
    ]


@pytest.fixture(scope="module")
def managed_over_eth1(lab: Lab) -> dict[str, str]:
    """Both hosts get their eth1 address (over eth0), then are managed through eth1 alone."""
    first = lab.inventory("first", lab.mgmt, {"a": lan_model(lab, 20), "b": lan_model(lab, 21)})
    proc, report = playbook(first)
    assert proc.returncode == 0, json.dumps(failures(report)) + proc.stderr[-2000:]
    lan = {"a": lab.address(20), "b": lab.address(21)}
    through_eth1 = lab.inventory("eth1", lan, {"a": lan_model(lab, 20), "b": lan_model(lab, 21)})
    reached = ping(through_eth1)
    assert reached.returncode == 0 and reached.stdout.count("SUCCESS") == 2, reached.stdout + reached.stderr
    return lan


def test_a_change_that_cuts_the_controller_off_rolls_back_by_itself(
    lab: Lab, managed_over_eth1: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = {h: lab.files(h) for h in ("a", "b")}
    # A classic slip: the address is dropped from the interface the controller comes in on.
    cut = lab.inventory("cut", managed_over_eth1, {h: [{"name": "eth1", "method": "manual"}] for h in ("a", "b")})
    probers = {h: Prober(address) for h, address in managed_over_eth1.items()}
    for prober in probers.values():
        prober.start()
    began = time.monotonic()
    proc, report = playbook(cut)
    took = time.monotonic() - began
    time.sleep(1)
    for prober in probers.values():
        prober.stop.set()
        prober.join()

    assert proc.returncode != 0
    messages = failures(report)
    for host, address in managed_over_eth1.items():
        # Two wordings: the controller gave up reaching the host, or (on a slow controller) only got
        # there after the host had reverted; both say what was rolled back.
        message = messages.get(host, "")
        assert message.startswith(f"{host}: network change rolled back after changing eth1: "), messages
        assert f"not confirmed within {TIMEOUT}s" in message
        assert "restored /etc/network/interfaces.d/alur-eth1 from /var/lib/alur-network/backups/" in message
        assert "brought eth1 up again with the old configuration" in message
        assert message.endswith(f"It answers again at {address}."), message

    timings, host_side = {}, {}
    for host, prober in probers.items():
        outage = prober.outage()
        assert outage is not None, f"{host}: the change never cut the controller off"
        state = json.loads(lab.exec(host, "/usr/local/sbin/alur-netapply status"))
        timings[host] = round(outage[1] - outage[0], 1)
        host_side[host] = round(state["reverted_epoch"] - state["started_epoch"], 1)
        # The outage is the change's: it starts after the host armed its timer, and ends as the host
        # reverts (the revert records its time once the old addresses and routes are all back).
        assert state["started_epoch"] <= outage[0] <= state["reverted_epoch"] <= outage[1] + 5, (state, outage)
        # The host reverts TIMEOUT seconds after arming the timer, a moment before the cut-off.
        assert TIMEOUT / 2 < timings[host] <= TIMEOUT + 15, timings
    report_file = lab.folder / "lockout-timing.json"
    report_file.write_text(
        json.dumps(
            {
                "rollback_timeout_s": TIMEOUT,
                "cut_off_to_recovery_s": timings,
                "armed_to_restored_on_host_s": host_side,
                "play_s": round(took),
            }
        )
    )
    with capsys.disabled():
        print(
            f"\nnetwork lockout: cut-off to recovery {timings} s (host: timer armed to old config restored "
            f"{host_side} s) with network_rollback_timeout={TIMEOUT}s; play failed after {took:.0f}s ({report_file})"
        )

    for host, address in managed_over_eth1.items():
        assert lab.files(host) == before[host], "the old files are back, byte for byte"
        assert f"{address}/{lab.subnet.prefixlen}" in lab.exec(host, "ip -o -4 addr show dev eth1")
        assert "10.77.0.0/16 via" in lab.exec(host, "ip -4 route show dev eth1")
        state = json.loads(lab.exec(host, "/usr/local/sbin/alur-netapply status"))
        assert state["state"] == "rolled-back"
    again = ping(lab.folder / "eth1" / "inventory")
    assert again.stdout.count("SUCCESS") == 2, again.stdout + again.stderr


def test_a_connection_from_before_the_bounce_cannot_confirm(lab: Lab, managed_over_eth1: dict[str, str]) -> None:
    """The apply starts late on purpose: the controller reaches the host before the interface bounces.

    That connection then dies with the change; the host must still roll back by itself.
    """
    before = lab.files("b")
    cut = lab.inventory(
        "late-cut",
        {"b": managed_over_eth1["b"]},
        {"b": [{"name": "eth1", "method": "manual"}]},
        __network_apply_delay=10,
    )
    proc, report = playbook(cut)
    assert proc.returncode != 0
    message = failures(report).get("b", "")
    assert message.startswith("b: network change rolled back after changing eth1: "), message
    assert f"not confirmed within {TIMEOUT}s" in message
    assert message.endswith(f"It answers again at {managed_over_eth1['b']}.")
    assert lab.files("b") == before
    log = lab.exec("b", "cat /var/lib/alur-network/log")
    assert "confirmed by the controller" not in log.split("armed revert")[-1]
    assert ping(lab.folder / "eth1" / "inventory").stdout.count("SUCCESS") == 2


def test_a_failing_ifup_rolls_back_at_once(lab: Lab, managed_over_eth1: dict[str, str]) -> None:
    before = lab.files("a")
    model = lan_model(lab, 20)
    # Passes validation and `ifup --no-act`, but the kernel refuses the MAC address.
    model[0]["options"] = {"hwaddress": "02:00:00:00:00"}
    broken = lab.inventory("broken", {"a": managed_over_eth1["a"]}, {"a": model})
    proc, report = playbook(broken)
    assert proc.returncode != 0
    message = failures(report).get("a", "")
    assert message.startswith("a: network change rolled back after changing eth1: apply failed: ifup eth1 failed"), (
        message
    )
    state = json.loads(lab.exec("a", "/usr/local/sbin/alur-netapply status"))
    assert state["state"] == "rolled-back"
    assert state["reverted_epoch"] - state["started_epoch"] < TIMEOUT / 2, "rolled back at once, not by the timer"
    assert lab.files("a") == before
    assert ping(lab.folder / "eth1" / "inventory").stdout.count("SUCCESS") == 2


def test_the_controller_follows_a_management_address_that_moves(lab: Lab, managed_over_eth1: dict[str, str]) -> None:
    moved = lab.address(30)
    # The default timeout: a slow controller must not turn this success into a rollback.
    inventory = lab.inventory(
        "move", {"a": managed_over_eth1["a"]}, {"a": lan_model(lab, 30)}, network_rollback_timeout=90
    )
    proc, report = playbook(inventory)
    assert proc.returncode == 0, json.dumps(failures(report))
    assert report["stats"]["a"]["changed"] > 0
    assert f"{moved}/{lab.subnet.prefixlen}" in lab.exec("a", "ip -o -4 addr show dev eth1")
    assert managed_over_eth1["a"] not in lab.exec("a", "ip -o -4 addr show dev eth1")
    state = json.loads(lab.exec("a", "/usr/local/sbin/alur-netapply status"))
    assert state["state"] == "confirmed" and state["reconnect_address"] == moved
    at_new = lab.inventory("moved", {"a": moved}, {"a": lan_model(lab, 30)})
    assert ping(at_new).returncode == 0
    # Managed at its new address, the host is already where the model wants it.
    proc, report = playbook(at_new)
    assert proc.returncode == 0 and report["stats"]["a"]["changed"] == 0
