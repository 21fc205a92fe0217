"""Benchmark (make bench): unchanged re-runs on lab containers, three ways, with ratios measured in one run.

Variants, each an environment for ansible-playbook run from the project root:
- defaults: Ansible's defaults (only what the project needs to run at all: roles, collections, host key checks);
- project: the project's ansible.cfg;
- mitogen: the project's ansible.cfg through Mitogen, as alur.accelerate.choose() sets it up; left out, with the
  reason printed, where Mitogen cannot run.
Figures:
- network+common (site.yml --tags network,common) on a lab of each --sizes (default 4 and 16 hosts);
- with --site: the whole site.yml on the four-host lab from the CI stand-in bundle.
Each figure: one first converge (through Mitogen where it runs), then --repeats rounds of unchanged re-runs that
alternate the variants (A B C A B C), so that a machine whose load drifts slows them all alike; the medians, the
lowest and highest runs and the ratios all come from that one run. Every unchanged re-run must change nothing on
any host. The PLAY RECAP's ok and skipped counts per host (last round) show how many tasks each variant ran; a
warning says when the variants disagree.

Prints a report per figure, the growth from the smallest to the largest lab, and a Markdown table for the README;
writes bench/results/bench-<time>.json and .png. Run it on an otherwise idle machine:

    .venv/bin/python bench/bench.py [--sizes 4,16] [--repeats 3] [--site]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import itertools
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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
from png import plot  # bench/png.py: a script's own folder is on its path

from alur import accelerate, images, lab, podman

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
NETWORK = "network+common"
CACHE = "ANSIBLE_CACHE_PLUGIN_CONNECTION"

RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=\d+\s+failed=\d+"
    r"\s+skipped=(?P<skipped>\d+)",
    re.M,
)
# What "Ansible's defaults" still needs to run this project at all.
DEFAULTS_CFG = "[defaults]\nroles_path = {roles}\ncollections_path = {collections}\nhost_key_checking = True\n"
LABELS = {"defaults": "defaults", "project": "project", "mitogen": "project+Mitogen"}

Recap = dict[str, dict[str, int]]  # host -> ok, changed, skipped


@dataclass
class Figure:
    name: str
    hosts: int
    first_variant: str
    first_converge: float = 0.0
    runs: dict[str, list[float]] = field(default_factory=dict)  # variant -> unchanged re-runs, in order
    recap: dict[str, Recap] = field(default_factory=dict)  # variant -> its last unchanged re-run's PLAY RECAP

    def medians(self) -> dict[str, float]:
        return {variant: statistics.median(runs) for variant, runs in self.runs.items()}

    def ratios(self) -> dict[str, float]:
        medians = self.medians()
        return {f"{a}/{b}": medians[a] / medians[b] for a, b in itertools.combinations(medians, 2)}

    def cell(self, variant: str) -> str:
        runs = self.runs.get(variant)
        return f"{statistics.median(runs):.1f} ({min(runs):.1f}-{max(runs):.1f})" if runs else "-"


def run(cmd: Sequence[str], env: dict[str, str], unchanged: bool) -> tuple[float, Recap]:
    began = time.monotonic()
    proc = subprocess.run(list(cmd), cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    took = time.monotonic() - began
    if proc.returncode != 0:
        sys.exit(f"bench: failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    recap = {m["host"]: {k: int(m[k]) for k in ("ok", "changed", "skipped")} for m in RECAP.finditer(proc.stdout)}
    # No recap at all would pass the changed=0 check unseen: a changed output format must stop the run too.
    if unchanged and (not recap or any(counts["changed"] for counts in recap.values())):
        sys.exit(
            f"bench: an unchanged re-run changed something (or printed no PLAY RECAP): {recap}\n{proc.stdout[-4000:]}"
        )
    return took, recap


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


@contextmanager
def site_lab(instance: str, folder: Path) -> Iterator[tuple[Path, int, dict[str, str]]]:
    """The lab inventory's hosts installing from the stand-in bundle; yields the inventory, its host count and
    the environment the site needs on top of a variant's (the lab's vault password)."""
    # The stand-in builder run as the program it is, as the Molecule scenarios run it; it prints the bundle's path.
    builder = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "standins" / "build.py")], capture_output=True, text=True, check=True
    )
    bundle = Path(builder.stdout.strip().splitlines()[-1])
    inventory = folder / instance
    shutil.copytree(ROOT / "inventory" / "lab", inventory, ignore=shutil.ignore_patterns("zz-*", ".secrets", ".pki"))
    hosts = lab.up(lab.spec_from_inventory(inventory, instance, owner_pid=os.getpid()), log=False)
    lab.write_connection_inventory(inventory, instance, hosts, bundle, allow_standins=True)
    try:
        yield inventory, len(hosts), {"ANSIBLE_VAULT_PASSWORD_FILE": str(lab.vault_password_file(instance))}
    finally:
        lab.down(instance, log=False)


def variants(
    inventory: Path, defaults: Path, accelerator: accelerate.Accelerator, extra: dict[str, str] | None = None
) -> dict[str, dict[str, str]]:
    """The variants' environments for one lab, in the order the rounds run them. Each variant its own fact cache:
    the labs reuse host names (h01, ci) with other containers, and no variant may read facts another wrote."""
    configs = {"defaults": (defaults, {}), "project": (ROOT / "ansible.cfg", {})}
    if accelerator.used:
        configs["mitogen"] = (ROOT / "ansible.cfg", accelerator.env)
    envs = {}
    for variant, (config, added) in configs.items():
        env = dict(os.environ, ANSIBLE_CONFIG=str(config), ANSIBLE_FORCE_COLOR="0", PY_COLORS="0", **added)
        env[CACHE] = str(inventory.parent / f"{inventory.name}-facts-{variant}")
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        envs[variant] = env | (extra or {})
    return envs


def measure(name: str, hosts: int, cmd: list[str], envs: dict[str, dict[str, str]], repeats: int) -> Figure:
    """One first converge, then rounds of unchanged re-runs, every variant once per round in the same order."""
    first = "mitogen" if "mitogen" in envs else "project"
    figure = Figure(name, hosts, first, runs={variant: [] for variant in envs})
    figure.first_converge, _ = run(cmd, envs[first], unchanged=False)
    print(f"{name}, {hosts} hosts: first converge ({LABELS[first]}) {figure.first_converge:.1f} s", flush=True)
    # Every variant starts from the facts the converge cached, as a user's next run does; then each keeps its own.
    # Without this the first round's project run alone would gather facts.
    converged = Path(envs[first][CACHE])
    for variant, env in envs.items():
        if variant != first and converged.is_dir():
            shutil.copytree(converged, env[CACHE])
    for round_ in range(1, repeats + 1):
        for variant, env in envs.items():
            took, figure.recap[variant] = run(cmd, env, unchanged=True)
            figure.runs[variant].append(took)
            print(f"  round {round_}/{repeats}: {LABELS[variant]} {took:.1f} s", flush=True)
    return figure


def report(figure: Figure) -> None:
    print(f"\n{figure.name}, {figure.hosts} hosts, unchanged re-run (seconds)")
    print(f"  {'variant':<16} {'median':>7} {'lowest':>7} {'highest':>7} {'runs':>4}")
    for variant, runs in figure.runs.items():
        line = f"{statistics.median(runs):7.1f} {min(runs):7.1f} {max(runs):7.1f} {len(runs):>4}"
        print(f"  {LABELS[variant]:<16} {line}")
    print("  ratios of medians: " + ", ".join(f"{k} {v:.2f}" for k, v in figure.ratios().items()))
    print("  per host, last round (ok / skipped):")
    for host in sorted(next(iter(figure.recap.values()))):
        counts = [f"{LABELS[v]} {r[host]['ok']}/{r[host]['skipped']}" for v, r in figure.recap.items() if host in r]
        print(f"    {host:<10} " + ", ".join(counts))
    shown = {
        v: json.dumps({h: (c["ok"], c["skipped"]) for h, c in r.items()}, sort_keys=True)
        for v, r in figure.recap.items()
    }
    if len(set(shown.values())) > 1:
        # Ansible's defaults keep no facts between runs: that variant gathers them again on every run.
        cached_agree = len({counts for v, counts in shown.items() if v != "defaults"}) == 1
        why = " (defaults alone: without a fact cache it gathers facts on every run)" if cached_agree else ""
        print(f"  WARNING: the variants ran different numbers of tasks{why}")


def growth(figures: list[Figure]) -> None:
    """The largest lab's median over the smallest's per variant: no worse than linear is the hosts' ratio."""
    sized = sorted((f for f in figures if f.name == NETWORK), key=lambda f: f.hosts)
    if len(sized) < 2 or sized[0].hosts == sized[-1].hosts:
        return
    small, large = sized[0], sized[-1]
    before, after = small.medians(), large.medians()
    grew = ", ".join(f"{LABELS[v]} {after[v] / m:.2f}x" for v, m in before.items() if v in after)
    print(f"\n{NETWORK} growth {small.hosts} -> {large.hosts} hosts ({large.hosts / small.hosts:.1f}x): {grew}")


def table(figures: list[Figure], machine: str) -> str:
    lines = [
        "| figure | hosts | first converge | unchanged: defaults | project | project+Mitogen | defaults÷Mitogen "
        "| project÷Mitogen |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for figure in figures:
        ratios = figure.ratios()
        cells = [figure.cell(v) for v in LABELS]
        cells += [f"{ratios[k]:.2f}x" if k in ratios else "-" for k in ("defaults/mitogen", "project/mitogen")]
        first = f"{figure.first_converge:.1f} ({LABELS[figure.first_variant]})"
        lines.append(f"| {figure.name} | {figure.hosts} | {first} | " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", machine])


def version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="4,16", help="host counts for network+common (default 4,16)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of unchanged re-runs per figure (default 3)")
    parser.add_argument("--site", action="store_true", help="also site.yml on the lab from the stand-in bundle")
    parser.add_argument("--site-repeats", type=int, help="rounds for site.yml (default: --repeats)")
    args = parser.parse_args()
    os.environ.update({k: v for k, v in podman.podman_env().items() if k == "CONTAINERS_CONF"})
    accelerator = accelerate.choose()
    if not accelerator.used:
        print(f"bench: no Mitogen variant: {accelerator.description}")
    load_at_start = os.getloadavg()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="alur-bench-") as tmp:
        folder = Path(tmp)
        defaults = folder / "ansible-defaults.cfg"
        defaults.write_text(DEFAULTS_CFG.format(roles=ROOT / "roles", collections=ROOT / "collections"))
        playbook = [str(BIN / "ansible-playbook"), "-i"]
        for count in (int(n) for n in args.sizes.split(",")):
            with bench_lab(f"bench-{count}", count, folder) as inventory:
                cmd = [*playbook, str(inventory), "playbooks/site.yml", "--tags", "network,common"]
                figures.append(measure(NETWORK, count, cmd, variants(inventory, defaults, accelerator), args.repeats))
        if args.site:
            with site_lab("bench-site", folder) as (inventory, count, extra):
                cmd = [*playbook, str(inventory), "playbooks/site.yml"]
                envs = variants(inventory, defaults, accelerator, extra)
                figures.append(measure("site.yml", count, cmd, envs, args.site_repeats or args.repeats))
    for figure in figures:
        report(figure)
    growth(figures)
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    commit = git.stdout.strip() or None
    date = time.strftime("%Y-%m-%d %H:%M")
    print("\n" + table(figures, f"machine: {os.cpu_count()} cores, {date}, commit {commit}"))
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    data = {
        "date": date,
        "commit": commit,
        "cpus": os.cpu_count(),
        "load_average": {"start": load_at_start, "end": os.getloadavg()},
        "ansible_core": version("ansible-core"),
        "mitogen": version("mitogen"),
        "accelerator": accelerator.description,
        "figures": [{**asdict(f), "medians": f.medians(), "ratios": f.ratios()} for f in figures],
    }
    (RESULTS / f"bench-{stamp}.json").write_text(json.dumps(data, indent=2) + "\n")
    series = {
        LABELS[variant]: [(f.hosts, f.medians()[variant], min(f.runs[variant]), max(f.runs[variant])) for f in sized]
        for variant in LABELS
        if (sized := [f for f in figures if f.name == NETWORK and variant in f.runs])
    }
    plot(RESULTS / f"bench-{stamp}.png", f"{NETWORK} unchanged re-run", "hosts", "seconds", series)
    print(f"wrote {RESULTS / f'bench-{stamp}.json'} and .png")


if __name__ == "__main__":
    main()
