"""Filters of the jenkins role that only it needs: the Java a Jenkins version runs on. The plugin lockfile and
addresses come from the project's collection (`alur.site.plugin_lockfile`, `alur.site.peer_address`,
`alur.site.url_host`).

Standard library only, so the unit tests load this file by path without Ansible.
"""

from __future__ import annotations

import re
from typing import Any


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", str(version))[:4])


def java_required(version: str, rules: list[dict[str, Any]]) -> list[int]:
    """The Java feature releases a Jenkins version runs on: the rule with the newest `since` it reaches."""
    wanted = _version_key(version)
    for rule in sorted(rules, key=lambda r: _version_key(r["since"]), reverse=True):
        if wanted >= _version_key(rule["since"]):
            return [int(v) for v in rule["java"]]
    return []


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"jenkins_java_required": java_required}
