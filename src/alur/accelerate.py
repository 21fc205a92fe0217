"""Whether a run goes through Mitogen (the `fast` extra), and the environment that makes it so.

Mitogen for Ansible replaces the per-task SSH round trips and module uploads with one persistent
Python interpreter per host. It loads as a third-party strategy plugin: two environment variables,
nothing in ansible.cfg, so plain `ansible-playbook site.yml` keeps Ansible's own strategy.

alur uses it for `deploy` and `plan` when it is installed, the installed ansible-core is one the
installed Mitogen supports, and nobody turned it off (`--no-accelerate`, or ALUR_ACCELERATE=0).
Otherwise the run takes Ansible's linear strategy and says in one line why. A run inside an execution
environment (alur.ee) asks the same of the image: its Mitogen, its strategy folder, its ansible-core.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from alur import support

if TYPE_CHECKING:
    from alur.ee import ImageInfo

# The ansible-core releases the `fast` extra's Mitogen (>=0.3.50) runs, from Mitogen's changelog
# (docs/changelog.rst) and its support table (docs/ansible_detailed.rst): 0.3.25 added ansible-core 2.19
# (Ansible 12), 0.3.33 ansible-core 2.20 (Ansible 13), 0.3.49 ansible-core 2.21 (Ansible 14), 0.3.50 fixed
# its dnf module there. A core outside the range runs with the plain strategy.
SUPPORTED_CORE = ((2, 19), (2, 21))
STRATEGY = "mitogen_linear"
SWITCH = "ALUR_ACCELERATE"


@dataclass(frozen=True)
class Accelerator:
    """What a run will use: `env` holds the variables to add (empty for the plain strategy)."""

    used: bool
    description: str  # one line for the console and the run record
    env: dict[str, str] = field(default_factory=dict)


def _core_version() -> tuple[int, ...]:
    return support.release(support.host_core())


def _switched_off() -> bool:
    return os.environ.get(SWITCH, "1").strip().lower() in {"0", "no", "false", "off"}


def choose(enabled: bool = True, image: ImageInfo | None = None) -> Accelerator:
    """The accelerator for a run of this process's ansible-core (or of the execution environment `image`),
    honouring the switch and the user's own strategy choice (ANSIBLE_STRATEGY set by hand wins: alur does not
    override it)."""
    if not enabled:
        return Accelerator(False, "plain strategy (--no-accelerate)")
    if _switched_off():
        return Accelerator(False, f"plain strategy ({SWITCH}={os.environ[SWITCH]})")
    if os.environ.get("ANSIBLE_STRATEGY"):
        return Accelerator(False, f"strategy {os.environ['ANSIBLE_STRATEGY']} (ANSIBLE_STRATEGY, as set)")
    if image is not None:
        mitogen, plugins, core = image.mitogen, image.mitogen_strategies, image.core_tuple
        if not (mitogen and plugins):
            return Accelerator(False, f"plain strategy: Mitogen is not installed in {image.image}")
    else:
        spec = importlib.util.find_spec("ansible_mitogen")
        if spec is None or not spec.submodule_search_locations:
            return Accelerator(False, "plain strategy: Mitogen is not installed (pip install -e '.[fast]')")
        mitogen = importlib.metadata.version("mitogen")
        plugins = str(Path(next(iter(spec.submodule_search_locations))) / "plugins" / "strategy")
        core = _core_version()
    low, high = SUPPORTED_CORE
    if not low <= core[:2] <= high:
        shown = ".".join(map(str, core))
        span = f"{'.'.join(map(str, low))} to {'.'.join(map(str, high))}"
        return Accelerator(False, f"plain strategy: Mitogen {mitogen} supports ansible-core {span}, not {shown}")
    env = {"ANSIBLE_STRATEGY_PLUGINS": plugins, "ANSIBLE_STRATEGY": STRATEGY}
    return Accelerator(True, f"Mitogen {mitogen} ({STRATEGY})", env)
