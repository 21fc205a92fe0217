from __future__ import annotations

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "alur", *args], capture_output=True, text=True, check=False)


def test_user_errors_are_one_line_without_traceback() -> None:
    proc = run("lab", "ssh", "--instance", "no-such-instance-x", "app1")
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("alur: error:")
    assert "Traceback" not in proc.stderr


def test_help_lists_the_lab_commands() -> None:
    proc = run("lab", "--help")
    assert proc.returncode == 0
    for command in ("image", "up", "down", "status", "ssh", "prune"):
        assert command in proc.stdout


def test_role_readmes_are_current() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alur.roledocs", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
