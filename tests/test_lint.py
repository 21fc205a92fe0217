"""The linters, as one unit of make test: they run side by side with the Molecule scenarios instead of
before them (about two minutes of a 40-minute budget). `make lint` runs this file alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYTHON_TREES = ["src", "tests", "molecule", "bench"]
LINTERS = {
    "yamllint": ["yamllint", "-s", "."],
    "ansible-lint": ["ansible-lint"],
    "ruff": ["ruff", "check", *PYTHON_TREES],
    "ruff-format": ["ruff", "format", "--check", *PYTHON_TREES],
    "mypy": ["mypy"],
}


@pytest.mark.parametrize("name", LINTERS)
def test_linter_passes(name: str) -> None:
    command = [str(BIN / LINTERS[name][0]), *LINTERS[name][1:]]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(command)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
