"""Every Molecule scenario (molecule/<name>/) runs its full test sequence as one pytest test.

The *_upstream scenarios install the vendors' real packages (Jenkins and its plugins, Temurin, the Elastic stack)
instead of the CI stand-ins, and run their stand-in twin's verifier (molecule/<twin>/tests), where the checks
marked real_product then run. They need the vendors' repositories and several GB of memory, so they only run when
asked: `make test-upstream` (ALUR_UPSTREAM=1). Otherwise `make test` skips them at once, without touching the
network. Asked for on a machine that cannot reach a vendor or lacks the memory, they fail within seconds, saying
which, instead of after an apt timeout deep in a converge.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MOLECULE = ROOT / "molecule"
SCENARIOS = sorted(p.parent.name for p in MOLECULE.glob("*/molecule.yml"))
UPSTREAM = [s for s in SCENARIOS if s.endswith("_upstream")]

# What each upstream scenario fetches from (host, port) and about how much memory its hosts need together, in GB:
# vendor-facts.md plans ~1.5 GB per Elasticsearch or Kibana host, ~1 GB for Logstash and for Jenkins; each
# container's base system (systemd, sshd, chrony) adds ~0.1 GB.
UPSTREAM_NEEDS: dict[str, tuple[tuple[str, ...], float]] = {
    # es1, es2: one Elasticsearch node each.
    "elasticsearch_upstream": (("artifacts.elastic.co",), 3.5),
    # elk-logs: Elasticsearch and Logstash; elk-kibana: Kibana; elk-app: Filebeat.
    "logstash_kibana_filebeat_upstream": (("artifacts.elastic.co",), 4.5),
    # jenkins-ctl: Jenkins (package and plugins); jenkins-agent (Debian 12): Temurin and the agent's JVM.
    "jenkins_upstream": (("pkg.jenkins.io", "updates.jenkins.io", "get.jenkins.io", "packages.adoptium.net"), 2.0),
}


def unreachable(hosts: tuple[str, ...], timeout: float = 5.0) -> list[str]:
    """The hosts (HTTPS port) this machine cannot open a TCP connection to; the containers go out through it."""

    def fails(name: str) -> bool:
        try:
            with socket.create_connection((name, 443), timeout=timeout):
                return False
        except OSError:
            return True

    with ThreadPoolExecutor(len(hosts)) as pool:
        return [name for name, failed in zip(hosts, pool.map(fails, hosts), strict=True) if failed]


def available_memory_gb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def require_upstream(scenario: str) -> None:
    """Skip unless asked for (ALUR_UPSTREAM=1); once asked for, fail fast when the machine cannot run it."""
    if os.environ.get("ALUR_UPSTREAM") != "1":
        pytest.skip("needs the vendors' repositories: run `make test-upstream` (ALUR_UPSTREAM=1) with internet access")
    hosts, memory = UPSTREAM_NEEDS[scenario]
    if missing := unreachable(hosts):
        pytest.fail(f"{scenario} installs from the vendors, but this machine cannot reach {', '.join(missing)} (443)")
    if (free := available_memory_gb()) < memory:
        pytest.fail(f"{scenario} needs about {memory:.1f} GB of free memory, {free:.1f} GB available")


@pytest.mark.containers
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario: str, containers_ready: None, tmp_path: Path) -> None:
    if scenario in UPSTREAM:
        require_upstream(scenario)
    log = tmp_path / f"molecule-{scenario}.log"
    env = dict(os.environ, PY_COLORS="0", ANSIBLE_FORCE_COLOR="0", MOLECULE_NO_LOG="false")
    with log.open("w") as out:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "molecule"), "test", "-s", scenario],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if proc.returncode != 0:
        tail = log.read_text().splitlines()[-150:]
        pytest.fail(f"molecule test -s {scenario} failed (rc {proc.returncode}); log tail:\n" + "\n".join(tail))


# --- the upstream scenarios are their twins with the vendors' packages (no containers needed) ---------------------


def scenario_config(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((MOLECULE / name / "molecule.yml").read_text()))


def playbook(name: str, step: str) -> Path:
    """The playbook a scenario runs for `step` (prepare, converge): its own file or the one molecule.yml names."""
    configured = scenario_config(name).get("provisioner", {}).get("playbooks", {}).get(step)
    return (MOLECULE / name / (configured or f"{step}.yml")).resolve()


def imported(path: Path) -> set[Path]:
    """A playbook and every playbook it imports, recursively (import_playbook is static, so this is all of them)."""
    found = {path}
    for play in yaml.safe_load(path.read_text()) or []:
        target = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
        if target:
            found |= imported((path.parent / target).resolve())
    return found


def runs(name: str) -> set[Path]:
    """Every playbook the scenario's prepare and converge run (a missing prepare is none)."""
    return set().union(*(imported(p) for p in (playbook(name, "prepare"), playbook(name, "converge")) if p.is_file()))


def test_every_upstream_scenario_says_what_it_needs() -> None:
    assert sorted(UPSTREAM_NEEDS) == UPSTREAM


@pytest.mark.parametrize("scenario", UPSTREAM)
def test_upstream_scenario_is_its_twin_with_the_vendors_packages(scenario: str) -> None:
    twin = scenario.removesuffix("_upstream")
    config, twin_config = scenario_config(scenario), scenario_config(twin)
    # The twin's verifier, so every check the stand-in scenario has runs against the real product too.
    assert config["verifier"]["directory"] == f"../{twin}/tests"
    assert playbook(twin, "converge") in imported(playbook(scenario, "converge")), "the twin's converge"
    # The twin's hosts by name and groups (the verifier finds them by name); a release may differ.
    assert [(p["name"], p.get("groups")) for p in config["platforms"]] == [
        (p["name"], p.get("groups")) for p in twin_config["platforms"]
    ]
    # Everything the twin's prepare imports runs here too: the lab network, the base system (common: its
    # /etc/nftables.d is where the roles' firewall drop-ins go). Only the twin's own prepare plays (the stand-in
    # bundle, the vendor hosts made unreachable) are left out.
    missing = sorted(str(p.relative_to(ROOT)) for p in runs(twin) - {playbook(twin, "prepare")} - runs(scenario))
    assert not missing, f"{scenario} skips what {twin} runs: {missing}"
    group_vars = config["provisioner"]["inventory"]["group_vars"]["all"]
    assert group_vars["artifacts_source"] == "upstream"
    assert not group_vars.get("artifacts_allow_standins") and "artifacts_bundle_dir" not in group_vars
