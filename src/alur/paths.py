"""Where the project and its state live."""

from __future__ import annotations

import os
from pathlib import Path

from alur.errors import AlurError


def _is_project_root(path: Path) -> bool:
    return (path / "site.yml").is_file() and (path / "roles").is_dir()


def project_root() -> Path:
    """The checkout alur works on: $ALUR_PROJECT_DIR, else the nearest parent holding site.yml."""
    configured = os.environ.get("ALUR_PROJECT_DIR")
    if configured:
        root = Path(configured).resolve()
        if not _is_project_root(root):
            raise AlurError(f"ALUR_PROJECT_DIR={configured} holds no site.yml and roles/")
        return root
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if _is_project_root(candidate):
            return candidate
    package_checkout = Path(__file__).resolve().parents[2]
    if _is_project_root(package_checkout):
        return package_checkout
    raise AlurError("not inside an alur project (no site.yml found); cd into it or set ALUR_PROJECT_DIR")


def state_dir() -> Path:
    """Run records, lab keys and generated files: $ALUR_STATE_DIR, else <project>/.alur."""
    configured = os.environ.get("ALUR_STATE_DIR")
    path = Path(configured) if configured else project_root() / ".alur"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
