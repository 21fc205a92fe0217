"""Probes of the Jenkins verifier (scenarios jenkins and jenkins_upstream) that batch several checks into one
command (each command is a round trip)."""

from __future__ import annotations

import shlex
from typing import Any


def stat(host: Any, *paths: str) -> dict[str, tuple[str, str, int]]:
    """(owner, group, mode) of each path, in one command (every probe is a round trip to the host)."""
    with host.sudo():
        out = host.check_output("stat -c '%U %G %a %n' " + " ".join(shlex.quote(p) for p in paths))
    found = {}
    for line in out.splitlines():
        user, group, mode, path = line.split(" ", 3)
        found[path] = (user, group, int(mode, 8))
    return found


def readable_by(host: Any, user: str | None, *paths: str) -> list[str]:
    """The paths `user` (None: the operator, without sudo) can read, in one command."""
    prefix = f"sudo -u {user} " if user else ""
    script = " ".join(f"{prefix}cat {shlex.quote(p)} >/dev/null 2>&1 && echo {shlex.quote(p)};" for p in paths)
    return str(host.run(script).stdout).split()
