"""Benchmark (make bench): how long converges and unchanged re-runs take on lab containers.

Figures, each the median of --repeats runs with the lowest and highest shown:
- network+common (site.yml --tags network,common) on 1, 4, 8, 16 hosts: first converge, unchanged re-run;
- on 4 hosts: the unchanged re-run with Ansible's defaults instead of the project's ansible.cfg (ratio);
- on 4 hosts: `alur deploy` against the same ansible-playbook run (ratio);
- with --site: site.yml on the lab (four hosts) from the CI stand-in bundle: first converge, unchanged re-run.
Writes bench/results/bench-<time>.json and .png, and prints a table. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from png import plot  # bench/png.py: a script's own folder is on its path

from alur import images, lab, podman

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
# What "Ansible's defaults" still needs to run this project at all.
DEFAULTS_CFG = "[defaults]\nroles_path = {roles}\ncollections_path = {collections}\nhost_key_checking = True\n"


@dataclass
class Figure:
    name: str
    hosts: int
    runs: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def row(self) -> str:
        spread = f"{min(self.runs):7.1f} {max(self.runs):7.1f}" if len(self.runs) > 1 else f"{'-':>7} {'-':>7}"
        return f"{self.name:<44} {self.hosts:>5} {len(self.runs):>4} {self.median:8.1f} {spread}  {self.note}"


def run(cmd: Sequence[str], env: dict[str, str], unchanged: bool) -> float:
    began = time.monotonic()
    proc = subprocess.run(list(cmd), cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    took = time.monotonic() - began
    if proc.returncode != 0:
        sys.exit(f"bench: failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    if unchanged:
        changed = {m.group(1): int(m.group(3)) for m in RECAP.finditer(proc.stdout)}
        if any(changed.values()):
            sys.exit(f"bench: an unchanged re-run changed something: {changed}\n{proc.stdout[-4000:]}")
    return took


@contextmanager
def bench_lab(instance: str, count: int, folder: Path) -> Iterator[Path]:
    """count Debian 13 hosts with static addresses on their lab network; yields their inventory."""
    names = [f"h{i:02d}" for i in range(1, count + 1)]
    spec = lab.LabSpec(instance=instance, hosts=tuple(lab.HostSpec(n) for n in names), owner_pid=os.getpid())
    podman.ensure_runtime(images.image_ref(images.DEFAULT_RELEASE))
    hosts = lab.up(spec, log=False)
    inventory = folder / instance
    (inventory / "host_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": dict.fromkeys(names)}}))
    for index, name in enumerate(names):
        model = [{"name": "eth1", "addresses": [f"192.168.20.{10 + index}/24"]}]
        (inventory / "host_vars" / f"{name}.yml").write_text(yaml.safe_dump({"network_interfaces": model}))
    lab.write_connection_inventory(inventory, instance, hosts)
    try:
        yield inventory
    finally:
        lab.down(instance, log=False)


def environment(config: Path, facts: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(config), ANSIBLE_FORCE_COLOR="0", PY_COLORS="0")
    if facts is not None:
        # Each bench lab its own fact cache: the labs reuse host names (h01, ci) with other containers.
        env["ANSIBLE_CACHE_PLUGIN_CONNECTION"] = str(facts)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def base_run(inventory: Path, repeats: int, figures: list[Figure], count: int, folder: Path) -> None:
    playbook = [str(BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/site.yml", "--tags", "network,common"]
    project = environment(ROOT / "ansible.cfg", inventory.parent / f"{inventory.name}-facts")
    first = Figure("network+common: first converge", count, [run(playbook, project, unchanged=False)])
    again = Figure("network+common: unchanged re-run", count)
    for _ in range(repeats):
        again.runs.append(run(playbook, project, unchanged=True))
    figures += [first, again]
    if count != 4:
        return
    defaults = folder / "ansible-defaults.cfg"
    defaults.write_text(DEFAULTS_CFG.format(roles=ROOT / "roles", collections=ROOT / "collections"))
    plain = Figure("  same, Ansible's defaults", count)
    wrapper = Figure("  same, through alur deploy", count)
    deploy = [str(BIN / "alur"), "deploy", "-i", str(inventory), "--skip-check", "--tags", "network,common", "--plain"]
    for _ in range(repeats):
        plain.runs.append(run(playbook, environment(defaults), unchanged=True))
        wrapper.runs.append(run(deploy, project, unchanged=False))
    plain.note = f"ratio to the project's ansible.cfg: {plain.median / again.median:.2f}"
    wrapper.note = f"ratio to ansible-playbook: {wrapper.median / again.median:.2f}"
    figures += [plain, wrapper]


def site_run(repeats: int, figures: list[Figure], folder: Path) -> None:
    # The stand-in builder run as the program it is, as the Molecule scenarios run it; it prints the bundle's path.
    builder = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "standins" / "build.py")], capture_output=True, text=True, check=True
    )
    bundle = Path(builder.stdout.strip().splitlines()[-1])
    instance = "bench-site"
    inventory = folder / "site"
    shutil.copytree(ROOT / "inventory" / "lab", inventory, ignore=shutil.ignore_patterns("zz-*", ".secrets", ".pki"))
    spec = lab.spec_from_inventory(inventory, instance, owner_pid=os.getpid())
    hosts = lab.up(spec, log=False)
    lab.write_connection_inventory(inventory, instance, hosts, bundle, allow_standins=True)
    env = environment(ROOT / "ansible.cfg", folder / "site-facts")
    env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(lab.vault_password_file(instance))
    playbook = [str(BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/site.yml"]
    try:
        stand_in = "(stand-in bundle)"
        figures.append(Figure("site.yml: first converge", len(hosts), [run(playbook, env, False)], stand_in))
        again = Figure("site.yml: unchanged re-run", len(hosts), note=stand_in)
        for _ in range(repeats):
            again.runs.append(run(playbook, env, unchanged=True))
        figures.append(again)
    finally:
        lab.down(instance, log=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,8,16", help="host counts for network+common (default 1,4,8,16)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--site", action="store_true", help="also site.yml on the lab from the stand-in bundle")
    parser.add_argument("--site-repeats", type=int, help="unchanged site.yml re-runs (default: --repeats)")
    args = parser.parse_args()
    os.environ.update({k: v for k, v in podman.podman_env().items() if k == "CONTAINERS_CONF"})
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="alur-bench-") as tmp:
        for count in (int(n) for n in args.sizes.split(",")):
            with bench_lab(f"bench-{count}", count, Path(tmp)) as inventory:
                base_run(inventory, args.repeats, figures, count, Path(tmp))
        if args.site:
            site_run(args.site_repeats or args.repeats, figures, Path(tmp))
    print(f"{'figure (seconds)':<44} {'hosts':>5} {'runs':>4} {'median':>8} {'lowest':>7} {'highest':>7}")
    for figure in figures:
        print(figure.row())
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    load = os.getloadavg()
    data = {
        "when": stamp,
        "cpus": os.cpu_count(),
        "load_average_at_end": load,
        "figures": [{**vars(f), "median": f.median} for f in figures],
    }
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps(data, indent=2) + "\n")
    series: dict[str, list[tuple[float, float, float, float]]] = {}
    for figure in figures:
        if figure.name.startswith("network+common"):
            label = "first" if "first" in figure.name else "unchanged"
            series.setdefault(label, []).append((figure.hosts, figure.median, min(figure.runs), max(figure.runs)))
    plot(RESULTS / f"bench-{stamp}.png", "network+common", "hosts", "seconds", series)
    print(f"wrote {RESULTS / f'bench-{stamp}.json'} and .png")


if __name__ == "__main__":
    main()
