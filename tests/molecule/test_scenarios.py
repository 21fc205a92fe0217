"""Every Molecule scenario (molecule/<name>/) runs its full test sequence as one pytest test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


@pytest.mark.containers
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario: str, containers_ready: None, tmp_path: Path) -> None:
    # *_upstream scenarios install the vendors' real packages: they need internet access, which CI lacks.
    if scenario.endswith("_upstream") and os.environ.get("ALUR_UPSTREAM") != "1":
        pytest.skip("needs the vendors' repositories: run with ALUR_UPSTREAM=1 on a machine with internet access")
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
