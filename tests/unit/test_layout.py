"""The project's layout promises a newcomer can follow: from site.yml to the task that writes
/etc/network/interfaces in at most four hops (an import, an include, or a role)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WRITER = "alur.site.ifupdown_apply"
MAX_HOPS = 4


def _links(path: Path) -> list[Path]:
    """The files one playbook or task file leads to directly."""
    items: list[Any] = yaml.safe_load(path.read_text()) or []
    found = []
    for item in items:
        for key in ("ansible.builtin.import_playbook", "import_playbook"):
            if key in item:
                found.append(path.parent / item[key])
        for role in item.get("roles") or []:
            name = role["role"] if isinstance(role, dict) else role
            found.append(ROOT / "roles" / name / "tasks" / "main.yml")
        for key in ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks"):
            if key in item:
                target = item[key]["file"] if isinstance(item[key], dict) else item[key]
                found.append(path.parent / target)
    return found


def _writes_interfaces(path: Path) -> bool:
    items = yaml.safe_load(path.read_text()) or []
    return any(WRITER in item for item in items if isinstance(item, dict))


def test_the_write_of_etc_network_interfaces_is_at_most_four_hops_from_site_yml() -> None:
    frontier, seen = [(ROOT / "site.yml", 0)], set()
    while frontier:
        path, hops = frontier.pop(0)
        if _writes_interfaces(path):
            assert hops <= MAX_HOPS, f"{path.relative_to(ROOT)} is {hops} hops from site.yml"
            return
        seen.add(path)
        frontier += [(p, hops + 1) for p in _links(path) if p not in seen and p.is_file()]
    raise AssertionError(f"no file reachable from site.yml runs {WRITER}")
