"""Where a recorded run spent its time: per host, per role and per task, from alur's run record.

    python bench/profile.py [RUN_ID|last] [--top 25] [--json]

Counts every task result per host: how many ran a module on the host ("module runs"), how many ran on the
controller alone (set_fact, assert, include_*, ...), how many were skipped, and the time each role took.
The record is .alur/runs/<id>/events.jsonl (`alur deploy` writes it); nothing is re-run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from alur import runs

# Actions that Ansible runs in the controller only: no module goes to the host.
CONTROLLER_ONLY = {
    "add_host",
    "assert",
    "debug",
    "fail",
    "group_by",
    "include_role",
    "include_tasks",
    "include_vars",
    "import_role",
    "import_tasks",
    "meta",
    "set_fact",
    "set_stats",
    "validate_argument_spec",
}


def short_action(action: str | None) -> str:
    return (action or "").rsplit(".", 1)[-1]


@dataclass
class HostProfile:
    module_runs: int = 0
    controller_only: int = 0
    skipped: int = 0
    changed: int = 0
    seconds: float = 0.0
    roles: Counter[str] = field(default_factory=Counter)
    role_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))


def profile(events: list[dict[str, Any]]) -> tuple[dict[str, HostProfile], dict[str, list[float]]]:
    hosts: dict[str, HostProfile] = {}
    tasks: dict[str, list[float]] = defaultdict(list)
    for event in events:
        status, host = event.get("status"), event.get("host")
        if not status or not host:
            continue
        item = hosts.setdefault(host, HostProfile())
        role = event.get("role") or "(play)"
        duration = float(event.get("duration") or 0.0)
        if status == "skipped":
            item.skipped += 1
        elif short_action(event.get("action")) in CONTROLLER_ONLY:
            item.controller_only += 1
        else:
            item.module_runs += 1
            item.roles[role] += 1
        item.changed += int(bool(event.get("changed")))
        item.seconds += duration
        item.role_seconds[role] += duration
        label = event.get("task") or "?"
        if event.get("role") and not label.startswith(f"{role} : "):
            label = f"{role} : {label}"
        tasks[label].append(duration)
    return hosts, tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default="last", help="run id (alur runs) or last")
    parser.add_argument("--top", type=int, default=25, help="slowest tasks to list (summed over hosts)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    summary = runs.load(args.run)
    events = runs.events(summary.id)
    hosts, tasks = profile(events)
    slowest = sorted(tasks.items(), key=lambda kv: -sum(kv[1]))[: args.top]
    if args.json:
        data = {
            "run": summary.id,
            "accelerator": summary.accelerator,
            "duration": summary.duration,
            "hosts": {
                h: {k: v for k, v in vars(p).items() if k not in {"roles", "role_seconds"}} for h, p in hosts.items()
            },
            "module_runs_per_role": {h: dict(p.roles) for h, p in hosts.items()},
            "slowest_tasks": [{"task": t, "hosts": len(d), "seconds": round(sum(d), 2)} for t, d in slowest],
        }
        json.dump(data, sys.stdout, indent=2)
        print()
        return
    print(f"run {summary.id} ({summary.kind}, {summary.accelerator or 'strategy not recorded'}): {summary.duration}s")
    print(f"{'host':<8} {'module runs':>11} {'controller':>10} {'skipped':>7} {'changed':>7} {'task s':>7}")
    for host, item in sorted(hosts.items()):
        print(
            f"{host:<8} {item.module_runs:>11} {item.controller_only:>10} {item.skipped:>7} {item.changed:>7} "
            f"{item.seconds:7.1f}"
        )
    roles = sorted({r for p in hosts.values() for r in p.role_seconds})
    print(f"\n{'role: module runs / seconds':<28}" + "".join(f"{h:>14}" for h in sorted(hosts)))
    for role in roles:
        cells = "".join(f"{hosts[h].roles[role]:>6} /{hosts[h].role_seconds[role]:6.1f}" for h in sorted(hosts))
        print(f"{role:<28}{cells}")
    print(f"\n{'slowest tasks (summed over hosts)':<90} {'hosts':>5} {'s':>6}")
    for task, durations in slowest:
        print(f"{task[:90]:<90} {len(durations):>5} {sum(durations):6.1f}")


if __name__ == "__main__":
    main()
