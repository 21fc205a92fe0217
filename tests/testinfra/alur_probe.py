"""Helpers shared by the Molecule verifiers: reach other hosts, listen on ports, probe them."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import time
from typing import Any

import testinfra


def inventory_file() -> str:
    return os.environ["MOLECULE_INVENTORY_FILE"]


def host(name: str) -> Any:
    """A testinfra host for another instance of the scenario, by inventory name."""
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory_file())


def address(h: Any) -> str:
    """The address the controller manages the host at (its management address)."""
    return str(h.ansible.get_variables()["ansible_host"])


def listen(h: Any, port: int) -> None:
    """Start a throw-away TCP listener on the host (a transient systemd unit)."""
    unit = f"alur-probe-{port}"
    with h.sudo():
        h.run(f"systemctl stop {unit}")
        h.check_output(f"systemd-run --unit {unit} --collect python3 -m http.server {port} --bind 0.0.0.0")
        deadline = time.monotonic() + 15
        while not h.socket(f"tcp://0.0.0.0:{port}").is_listening:
            if time.monotonic() > deadline:
                raise AssertionError(f"probe listener on {port} did not start")
            time.sleep(0.3)


def connects_from(h: Any, target: str, port: int, timeout: int = 3) -> bool:
    """True when `h` can open a TCP connection to target:port (bash's /dev/tcp, bounded)."""
    cmd = f"timeout {timeout} bash -c {shlex.quote(f'exec 3<>/dev/tcp/{target}/{port}')}"
    return bool(h.run(cmd).rc == 0)


def connects_from_controller(target: str, port: int, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((target, port), timeout=timeout):
            return True
    except OSError:
        return False


def ssh_from_controller(target: str, *options: str, command: str = "true") -> subprocess.CompletedProcess[str]:
    """One non-interactive ssh attempt from the controller, for probing sshd's policy."""
    return subprocess.run(
        [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
            *options,
            target,
            command,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
