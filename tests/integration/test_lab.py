"""The lab test bed: four hosts up, reachable over SSH, the base of site.yml (network, common) converges,
a re-run and a --check run change nothing. The service roles are their Molecule scenarios' job.

The vendors' repositories are unreachable here, so the lab installs from the CI stand-in bundle
(`alur lab up --bundle ... --allow-standins`); what that proves and does not: tests/standins/README.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "tests" / "standins"))
import build as standins  # noqa: E402 - tests/standins/build.py

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)

pytestmark = pytest.mark.containers


def alur(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "alur"), *args], capture_output=True, text=True, check=False, cwd=ROOT)


def playbook(inventory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The roles store the secrets they generate vault-encrypted with this password (kept beside the copy).
    env = dict(
        os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_VAULT_PASSWORD_FILE=str(inventory.parent / "vault-password")
    )
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), "site.yml", "--tags", "network,common", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
    )


def recap(output: str) -> dict[str, dict[str, int]]:
    return {
        m[0]: {"ok": int(m[1]), "changed": int(m[2]), "unreachable": int(m[3]), "failed": int(m[4])}
        for m in RECAP.findall(output)
    }


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, containers_ready: None) -> Iterator[tuple[Path, str]]:
    instance = f"t{os.environ['ALUR_RUN_ID']}"
    inventory = tmp_path_factory.mktemp("inv") / "lab"
    shutil.copytree(ROOT / "inventory" / "lab", inventory, ignore=shutil.ignore_patterns("zz-*", ".secrets", ".pki"))
    (inventory.parent / "vault-password").write_text(os.urandom(16).hex() + "\n")
    up = alur(
        "lab",
        "up",
        "-i",
        str(inventory),
        "--instance",
        instance,
        "--owner-pid",
        os.environ["ALUR_OWNER_PID"],
        "--bundle",
        str(standins.ensure_bundle()),
        "--allow-standins",
    )
    assert up.returncode == 0, up.stderr
    yield inventory, instance
    down = alur("lab", "down", "-i", str(inventory), "--instance", instance)
    assert down.returncode == 0, down.stderr


def test_four_hosts_run_and_answer_over_ssh(lab: tuple[Path, str]) -> None:
    inventory, instance = lab
    hosts = json.loads(alur("lab", "status", "--instance", instance, "--json").stdout)
    assert sorted(h["name"] for h in hosts) == ["app1", "app2", "ci", "logs"]
    assert all(h["state"] == "running" and h["mgmt_ip"] for h in hosts)
    ping = subprocess.run(
        [str(BIN / "ansible"), "-i", str(inventory), "all", "-m", "ansible.builtin.ping", "-o"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert ping.stdout.count("SUCCESS") == 4


def test_lab_keys_are_private(lab: tuple[Path, str]) -> None:
    _, instance = lab
    state = ROOT / ".alur" / "labs" / instance
    for name in ("id_ed25519", "known_hosts"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600


def test_each_container_has_its_own_host_key(lab: tuple[Path, str]) -> None:
    _, instance = lab
    keys = (ROOT / ".alur" / "labs" / instance / "known_hosts").read_text().split("\n")
    fingerprints = [line.split()[2] for line in keys if line.strip()]
    assert len(fingerprints) == 4 and len(set(fingerprints)) == 4


def test_up_on_a_running_lab_is_a_no_op(lab: tuple[Path, str]) -> None:
    inventory, instance = lab
    before = json.loads(alur("lab", "status", "--instance", instance, "--json").stdout)
    again = alur("lab", "up", "-i", str(inventory), "--instance", instance)
    assert again.returncode == 0, again.stderr
    assert "starting container" not in again.stdout
    after = json.loads(alur("lab", "status", "--instance", instance, "--json").stdout)
    assert before == after


def test_site_converges_and_a_rerun_changes_nothing(lab: tuple[Path, str]) -> None:
    inventory, _ = lab
    first = playbook(inventory)
    assert first.returncode == 0, first.stdout[-4000:]
    stats = recap(first.stdout)
    assert sorted(stats) == ["app1", "app2", "ci", "logs"]
    assert all(s["changed"] > 0 for s in stats.values())
    second = playbook(inventory)
    assert second.returncode == 0, second.stdout[-4000:]
    assert {h: s["changed"] for h, s in recap(second.stdout).items()} == dict.fromkeys(stats, 0)


def test_check_mode_on_a_converged_lab_changes_nothing(lab: tuple[Path, str]) -> None:
    inventory, _ = lab
    check = playbook(inventory, "--check", "--diff")
    assert check.returncode == 0, check.stdout[-4000:]
    assert all(s["changed"] == 0 for s in recap(check.stdout).values())
