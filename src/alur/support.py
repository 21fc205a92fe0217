"""Whether the ansible-core a run uses is still maintained upstream, said once per command when it is not.

The dates are the ends of life in ansible-core's support matrix (docs.ansible.com, "Releases and
maintenance"; ansible/ansible-documentation, docs/docsite/rst/reference_appendices/release_and_maintenance.rst),
which gives the month: the last day of that month is taken. 2.20 and later need Python 3.12 or newer on the
controller, so a host whose Python is older keeps 2.19 and reaches a maintained core through the execution
environment (alur.ee).
"""

from __future__ import annotations

import sys
from datetime import date

END_OF_LIFE: dict[tuple[int, int], date] = {
    (2, 18): date(2026, 5, 31),
    (2, 19): date(2026, 11, 30),
    (2, 20): date(2027, 5, 31),
    (2, 21): date(2027, 11, 30),
}
# The oldest controller Python each release runs on (same matrix).
CONTROLLER_PYTHON: dict[tuple[int, int], tuple[int, int]] = {
    (2, 18): (3, 11),
    (2, 19): (3, 11),
    (2, 20): (3, 12),
    (2, 21): (3, 12),
}


def release(version: str) -> tuple[int, int]:
    """The release a version belongs to: 2.21.5 -> (2, 21)."""
    major, minor = (int(part) for part in version.split(".")[:2])
    return major, minor


def end_of_life(version: str) -> date | None:
    return END_OF_LIFE.get(release(version))


def newest_for(python: tuple[int, int]) -> tuple[int, int]:
    """The newest ansible-core release this controller Python can run."""
    return max(release for release, oldest in CONTROLLER_PYTHON.items() if python >= oldest)


def notice(version: str, where: str = "this host", today: date | None = None) -> str | None:
    """One plain line when `version` is past its end of life (None while it is maintained or unknown)."""
    ended = end_of_life(version)
    today = today or date.today()
    if ended is None or today <= ended:
        return None
    python = sys.version_info[:2]
    why = ""
    if where == "this host" and newest_for(python) <= release(version):
        why = f" (the newest this Python {python[0]}.{python[1]} runs)"
    way = (
        "run with --ee (alur's execution environment, ansible-core 2.21; make ee builds it)"
        if where == "this host"
        else "update execution-environment/requirements.in and rebuild it (alur ee lock, make ee)"
    )
    return f"ansible-core {version} on {where}{why} reached its end of life on {ended.isoformat()}: {way}"


def host_core() -> str:
    from ansible.release import __version__

    return str(__version__)
