"""Session set-up shared by every test: podman's environment, a run id, leftovers removed."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

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
