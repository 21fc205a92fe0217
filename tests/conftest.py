"""Session set-up shared by every test: podman's environment, a run id, leftovers removed."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("ALUR_PROJECT_DIR", str(ROOT))
    # Molecule and Ansible call their sibling commands (ansible-config, ansible-playbook) by name.
    venv_bin = str(Path(sys.executable).parent)
    if venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))
    # One id per test run: container, network and lab instance names carry it, so runs never collide.
    os.environ.setdefault("ALUR_RUN_ID", uuid.uuid4().hex[:6])
    # Instances created by this run are removed by the next run's prune if this process dies.
    os.environ.setdefault("ALUR_OWNER_PID", str(os.getpid()))
    from alur import podman

    os.environ.update({k: v for k, v in podman.podman_env().items() if k == "CONTAINERS_CONF"})


@pytest.fixture(scope="session")
def containers_ready() -> None:
    """Skip nothing: container tests need `make setup`; fail loudly if it was not run."""
    from alur import images

    for release in images.RELEASES:
        if images.installed_hash(release) is None:
            pytest.fail(f"base image {images.image_ref(release)} missing: run `make setup` first")
    subprocess.run([sys.executable, "-m", "alur", "lab", "prune"], check=True)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """How `pytest -n N` (make test) shares tests among workers.

    A test module's tests stay on one worker, so a module-scoped lab is built once; each Molecule
    scenario is a unit of its own, so scenarios run side by side. Units go out in collection order
    (see pytest_collection_modifyitems), not largest first.
    """
    from xdist.scheduler import LoadScopeScheduling

    class ModuleOrScenario(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return nodeid if nodeid.startswith("tests/molecule/") else nodeid.split("::", 1)[0]

    config.option.loadscopereorder = False
    return ModuleOrScenario(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long units first, in an order that pairs long with short, so that no worker starts one last.

    xdist hands each worker its next unit while it starts the current one, round robin at first: the first
    three units run together and the next three queue behind them, one each; the rest go to whichever
    worker frees first. Measured in make test on 2 busy cores (3 workers): the e2e suite about 43 min, the
    Elastic stack scenario 29, elasticsearch 17, Jenkins 16, artifacts 7, common 4.5, network 5, then the
    lab integration modules, the linters and the unit tests. The e2e suite is the critical path, so what
    queues behind it is a scenario that is skipped at once without internet access; the other two workers
    share everything else and are done before it."""
    long_units = [
        "e2e", "logstash_kibana_filebeat", "elasticsearch",  # run first, side by side
        "jenkins_upstream", "network", "jenkins",  # queued behind them, one each
        "artifacts", "common",
    ]  # fmt: skip
    order = {"molecule": 0, "e2e": 0, "integration": 1, "tests": 2}

    def rank(item: pytest.Item) -> tuple[int, int]:
        scenario = item.callspec.params.get("scenario", "") if hasattr(item, "callspec") else ""
        unit = scenario or item.path.parent.name
        return order.get(item.path.parent.name, 3), long_units.index(unit) if unit in long_units else len(long_units)

    items.sort(key=rank)
