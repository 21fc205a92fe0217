"""The one place alur runs podman, and the project-local containers.conf it may need.

On machines without CAP_SYS_RESOURCE or with a hybrid cgroup hierarchy, podman's
defaults (crun, limits raised above the hard limit) cannot start a container.
alur then writes a containers.conf of its own and points CONTAINERS_CONF at it;
a machine where the defaults work keeps them.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from pathlib import Path
from typing import Any

from alur.errors import ContainerError
from alur.paths import state_dir

LABEL_MANAGED = "io.alur.managed"
LABEL_INSTANCE = "io.alur.instance"
LABEL_OWNER_PID = "io.alur.owner-pid"


def containers_conf_path() -> Path:
    return state_dir() / "containers.conf"


def podman_env() -> dict[str, str]:
    """The environment for podman (and for Molecule, which calls it): adds CONTAINERS_CONF when alur wrote one."""
    env = dict(os.environ)
    conf = containers_conf_path()
    if conf.is_file() and "CONTAINERS_CONF" not in os.environ:
        env["CONTAINERS_CONF"] = str(conf)
    return env


def run(
    *args: str,
    check: bool = True,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `podman ARGS...`, capturing output; raise ContainerError with podman's own words on failure."""
    if shutil.which("podman") is None:
        raise ContainerError("podman is not installed; run `make setup` (it installs podman, runc and debootstrap)")
    proc = subprocess.run(
        ["podman", *args],
        capture_output=True,
        text=True,
        input=input_text,
        env=env or podman_env(),
        check=False,
    )
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit code {proc.returncode}"
        raise ContainerError(f"podman {args[0]} failed: {last}")
    return proc


def image_field(ref: str, template: str) -> str | None:
    """One field of a local image (a Go template: {{.Id}}, a label ...); None when the image or the field is not
    there."""
    proc = run("image", "inspect", "--format", template, ref, check=False)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def image_label(ref: str, label: str) -> str | None:
    return image_field(ref, '{{ index .Labels "' + label + '" }}')


def run_json(*args: str) -> Any:
    out = run(*args).stdout.strip()
    return json.loads(out) if out else []


def _limits_conf(nofile: int, nproc: int) -> str:
    return (
        "# Written by alur: podman's defaults could not start a container on this machine.\n"
        "# Limits stay within what this machine lets a container set; runc copes with hybrid cgroups.\n"
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "\n[engine]\n"
        'runtime = "runc"\n'
    )


def _candidate_limits() -> list[tuple[int, int]]:
    """(nofile, nproc) pairs to try, largest first, never above the hard limits.

    Some machines refuse limits well under the hard limit (seen: nproc 48000 refused with a
    hard limit of 96365), so the probe walks down until a container starts.
    """
    hard_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    hard_nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    cap = 1048576
    nofile = cap if hard_nofile == resource.RLIM_INFINITY else min(hard_nofile, cap)
    nproc = cap if hard_nproc == resource.RLIM_INFINITY else min(hard_nproc, 65536)
    pairs = []
    while nproc >= 4096:
        pairs.append((nofile, nproc))
        nproc //= 2
    return pairs


def _probe(image: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", "run", "--rm", "--network", "none", image, "/bin/true"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def ensure_runtime(image: str) -> str:
    """Make sure podman can run `image` here; write the project containers.conf only when needed.

    Returns a short description of the choice, for the setup log.
    """
    conf = containers_conf_path()
    defaults_env = {k: v for k, v in os.environ.items() if k != "CONTAINERS_CONF"}
    if "CONTAINERS_CONF" in os.environ:
        return f"CONTAINERS_CONF={os.environ['CONTAINERS_CONF']} set by the caller; left as is"
    if conf.is_file() and _probe(image, dict(defaults_env, CONTAINERS_CONF=str(conf))).returncode == 0:
        return f"{conf} still works here; kept"
    if _probe(image, defaults_env).returncode == 0:
        conf.unlink(missing_ok=True)
        return "podman defaults work here"
    last = ""
    for nofile, nproc in _candidate_limits():
        conf.write_text(_limits_conf(nofile, nproc))
        proc = _probe(image, dict(defaults_env, CONTAINERS_CONF=str(conf)))
        if proc.returncode == 0:
            return f"wrote {conf} (runc, nofile={nofile}, nproc={nproc})"
        lines = proc.stderr.strip().splitlines()
        last = lines[-1] if lines else f"exit code {proc.returncode}"
    conf.unlink(missing_ok=True)
    raise ContainerError(f"podman cannot start a container here, even with runc and lower limits: {last}")
