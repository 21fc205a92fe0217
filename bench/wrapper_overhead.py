#!/usr/bin/env python3
"""What `alur deploy` costs over the same ansible-playbook run.

On a converged inventory (every run unchanged), times in turn, ROUNDS times:
  ansible-playbook -i INV site.yml                 (the plain run)
  alur deploy -i INV --skip-check --plain          (the same run through the wrapper)
  alur deploy -i INV --plain                       (the wrapper with its check and SSH preflight)
and prints each one's median, spread and ratio to the plain run. The runs are interleaved so that a
machine whose load drifts affects all three alike. One unmeasured run first makes sure the inventory
is converged. Usage (from the project root):

    .venv/bin/python bench/wrapper_overhead.py -i inventory/lab [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    proc = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    took = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {proc.returncode}:\n{proc.stdout[-3000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-i", "--inventory", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", dest="json_path", help="also write the figures to this file")
    args = parser.parse_args()

    env = dict(os.environ)
    env.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("COLUMNS", "160")
    commands = {
        "ansible-playbook": [str(BIN / "ansible-playbook"), "-i", args.inventory, "site.yml"],
        "alur deploy --skip-check": [str(BIN / "alur"), "deploy", "-i", args.inventory, "--skip-check", "--plain"],
        "alur deploy": [str(BIN / "alur"), "deploy", "-i", args.inventory, "--plain"],
    }
    print("warm-up run (not measured) ...", flush=True)
    timed(commands["ansible-playbook"], env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(1, args.rounds + 1):
        for name, command in commands.items():
            took = timed(command, env)
            times[name].append(took)
            print(f"round {round_number}: {name:26} {took:7.1f}s", flush=True)
    base = statistics.median(times["ansible-playbook"])
    print()
    print(f"{'run':26} {'median':>8} {'min':>8} {'max':>8} {'ratio':>7}")
    figures = {}
    for name, values in times.items():
        median = statistics.median(values)
        figures[name] = {"runs": values, "median": median, "ratio": median / base}
        print(f"{name:26} {median:7.1f}s {min(values):7.1f}s {max(values):7.1f}s {median / base:7.2f}")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
