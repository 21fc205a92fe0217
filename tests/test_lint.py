"""The linters, as one unit of make test: they run side by side with the Molecule scenarios instead of
before them (about two minutes of a 40-minute budget). `make lint` runs this file alone.

They read what the repository holds, as git sees it: committed files and new ones not yet added, never a
file .gitignore names. `make lab`, Molecule and the tools write such files into the tree (the lab's
secrets and CA, its connection file, .alur/, caches); a fresh clone must lint the same after `make lab`
as before it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYTHON_TREES = ["src", "tests", "molecule", "bench"]
# yamllint's own default `yaml-files`: given files by name, it lints them whatever they are called.
YAML_PATHSPECS = ["*.yml", "*.yaml", ".yamllint"]


def git_files(*args: str) -> list[str]:
    """`git ls-files` with these options: paths relative to the project, as they are (no quoting)."""
    proc = subprocess.run(["git", "ls-files", "-z", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return [name for name in proc.stdout.split("\0") if name]


def repository_yaml() -> list[str]:
    """The YAML files git tracks or would add: `git ls-files` plus untracked files it does not ignore."""
    names = git_files("--cached", "--others", "--exclude-standard", "--", *YAML_PATHSPECS)
    # a file deleted but not yet committed is still in the index
    return sorted({name for name in names if (ROOT / name).is_file()})


def ignored_paths() -> list[str]:
    """What .gitignore keeps out, whole directories collapsed, as ansible-lint exclude patterns.

    ansible-lint walks the tree itself and reads only the .gitignore of the folder it is in, so the
    root's `/inventory/lab/.secrets/` never reaches it when it walks inventory/lab/."""
    names = git_files("--others", "--ignored", "--exclude-standard", "--directory")
    # A pattern with a slash inside is anchored at the project root; a top-level name gets a leading one,
    # or it would also match any file or folder of that name deeper down.
    return [name if "/" in name.rstrip("/") else "/" + name for name in names]


def linter_command(name: str) -> list[str]:
    if name == "yamllint":
        return ["yamllint", "-s", *repository_yaml()]
    if name == "ansible-lint":
        return ["ansible-lint", *(arg for path in ignored_paths() for arg in ("--exclude", path))]
    if name == "ruff":  # ruff honours every .gitignore itself
        return ["ruff", "check", *PYTHON_TREES]
    if name == "ruff-format":
        return ["ruff", "format", "--check", *PYTHON_TREES]
    return ["mypy"]  # its files are pyproject's [tool.mypy] files


@pytest.mark.parametrize("name", ["yamllint", "ansible-lint", "ruff", "ruff-format", "mypy"])
def test_linter_passes(name: str) -> None:
    command = linter_command(name)
    command[0] = str(BIN / command[0])
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    shown = " ".join(command[:6]) + (" ..." if len(command) > 6 else "")
    assert proc.returncode == 0, f"{shown} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"


def test_ansible_lint_passes_with_the_execution_environments_ansible_core() -> None:
    """The same ansible-lint run inside localhost/alur-ee: the rules of ansible-core 2.21, which the roles also run
    on there (make test builds the image first; `make lint` alone needs `make ee`)."""
    from alur import ee, podman

    info = ee.inspect(ee.default_image())
    assert info.ansible_core.startswith("2.21."), info
    root = str(ROOT)
    proc = podman.run(
        "run", "--rm", "--network=none", "--user=0:0", "-e", "HOME=/root", "-v", f"{root}:{root}", "--workdir", root,
        info.image, *linter_command("ansible-lint"), check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"ansible-lint in {info.image} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    assert "Profile 'production' was required, and it passed" in proc.stdout + proc.stderr
