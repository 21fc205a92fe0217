"""Benchmark: the whole site through the execution environment (ansible-core 2.21) beside the host venv's
ansible-core, one run.

Both ways run `alur deploy --skip-check --plain` (Mitogen, alur's default, in each), on the four-host lab from the
CI stand-in bundle:
1. a fresh lab: first converge inside the execution environment, then --repeats rounds of unchanged re-runs that
   alternate the two ways (EE, host, EE, host ...), so that a drifting machine slows both alike;
2. a second fresh lab: first converge from the host venv.
Every unchanged re-run must change nothing on any host. Also timed: starting the image alone (`podman run ...
ansible-playbook --version`), the fixed cost a run inside it pays. Prints the figures and the ratios, and a
Markdown table for the README; writes bench/results/ee-<time>.json. Run it on an otherwise idle machine:

    .venv/bin/python bench/ee.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import RESULTS, ROOT, site_lab  # bench/bench.py: its lab helpers

from alur import ee, podman, support

BIN = Path(sys.executable).parent


def deploy(inventory: Path, env: dict[str, str], image: str | None, unchanged: bool) -> tuple[float, dict[str, int]]:
    """One `alur deploy` of the site: its wall time and the changed count per host (from its run record)."""
    cmd = [
        str(BIN / "alur"),
        "deploy",
        "-i",
        str(inventory),
        "--skip-check",
        "--plain",
        *(["--ee", image] if image else []),
    ]
    began = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    took = time.monotonic() - began
    if proc.returncode != 0:
        sys.exit(f"bench: failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    shown = subprocess.run(
        [str(BIN / "alur"), "runs", "show", "last", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    hosts = json.loads(shown.stdout)["hosts"]
    changed = {host: int(counts["changed"]) for host, counts in hosts.items()}
    if unchanged and (not changed or any(changed.values())):
        sys.exit(f"bench: an unchanged re-run changed something: {changed}\n{proc.stdout[-4000:]}")
    return took, changed


def container_start(image: str, rounds: int = 5) -> float:
    """Median time to start the image and answer `ansible-playbook --version` (what every run inside it adds)."""
    times = []
    for _ in range(rounds):
        began = time.monotonic()
        podman.run("run", "--rm", "--network=host", image, "ansible-playbook", "--version")
        times.append(time.monotonic() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="rounds of unchanged re-runs (default 2)")
    args = parser.parse_args()
    image = ee.ensure_image(log=False)
    info = ee.inspect(image)
    host_core = support.host_core()
    print(f"execution environment {info.describe()}; host venv ansible-core {host_core}", flush=True)
    start = container_start(image)
    print(f"starting the image: {start:.2f} s (median of 5)", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[float]] = {"ee": [], "host": []}
    with tempfile.TemporaryDirectory(prefix="alur-bench-ee-") as tmp:
        folder = Path(tmp)
        state = folder / "state"
        with site_lab(f"bee{os.getpid() % 10000}", folder) as (inventory, _count, extra):
            # alur's containers.conf (if this machine needs one) lives in the default state dir.
            env = dict(podman.podman_env(), ALUR_STATE_DIR=str(state), **extra)
            first_ee, _ = deploy(inventory, env, image, unchanged=False)
            print(f"first converge inside the EE: {first_ee:.1f} s", flush=True)
            for round_ in range(1, args.repeats + 1):
                for way in ("ee", "host"):
                    took, _ = deploy(inventory, env, image if way == "ee" else None, unchanged=True)
                    runs[way].append(took)
                    print(f"  round {round_}/{args.repeats}: unchanged re-run, {way}: {took:.1f} s", flush=True)
        with site_lab(f"bho{os.getpid() % 10000}", folder) as (inventory, _count, extra):
            # alur's containers.conf (if this machine needs one) lives in the default state dir.
            env = dict(podman.podman_env(), ALUR_STATE_DIR=str(state), **extra)
            first_host, _ = deploy(inventory, env, None, unchanged=False)
            print(f"first converge from the host venv: {first_host:.1f} s", flush=True)
    medians = {way: statistics.median(times) for way, times in runs.items()}
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "image": info.image,
        "ee_ansible_core": info.ansible_core,
        "ee_python": info.python,
        "host_ansible_core": host_core,
        "host_python": ".".join(map(str, sys.version_info[:3])),
        "container_start": start,
        "first_converge": {"ee": first_ee, "host": first_host},
        "unchanged": runs,
        "ratios": {"first ee/host": first_ee / first_host, "unchanged ee/host": medians["ee"] / medians["host"]},
    }
    out = RESULTS / f"ee-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out}")
    cell = {way: f"{medians[way]:.1f} ({min(t):.1f}-{max(t):.1f})" for way, t in runs.items()}
    print(f"\n| | first converge (s) | unchanged re-run (s), median (range) of {args.repeats} |")
    print("|---|---:|---:|")
    print(
        f"| execution environment: ansible-core {info.ansible_core}, Python {info.python} "
        f"| {first_ee:.1f} | {cell['ee']} |"
    )
    print(
        f"| host venv: ansible-core {host_core}, Python {result['host_python']} | {first_host:.1f} | {cell['host']} |"
    )
    print(f"| EE ÷ host | {first_ee / first_host:.2f}x | {medians['ee'] / medians['host']:.2f}x |")


if __name__ == "__main__":
    main()
