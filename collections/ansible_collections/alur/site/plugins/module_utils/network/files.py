"""The files ifupdown reads, compared with the wanted ones: what changes, its diff, and what to do about it.

The `alur.site.ifupdown_apply` module runs this on the host. The role owns `/etc/network/interfaces` and the
files under `/etc/network/interfaces.d` whose name starts with its prefix (`alur-`); other files there are
read by ifupdown and never touched. A content change is never written here: it is staged where
`alur-netapply` (the host-side program with the rollback) picks it up, and only that program installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

MAIN = "/etc/network/interfaces"
FRAGMENT_DIR = "/etc/network/interfaces.d"
PREFIX = "alur-"
# What alur-netapply installs: root's, readable by all (ifup runs as root, ifquery as anyone).
MODE = 0o644

# The steps `next_step` chooses between.
NOTHING = "nothing"
FIX_ATTRIBUTES = "fix-attributes"
START = "start"


@dataclass(frozen=True)
class LiveFile:
    content: bytes
    mode: int
    uid: int
    gid: int


@dataclass(frozen=True)
class FileChange:
    """One file of the role's set that is not as wanted; None stands for a file that is not there."""

    path: str
    before: bytes | None
    after: bytes | None

    @property
    def content_differs(self) -> bool:
        return self.before != self.after


def wanted_files(
    main: str, fragments: Mapping[str, str], prefix: str = PREFIX, fragment_dir: str = FRAGMENT_DIR
) -> dict[str, bytes]:
    """Live path -> wanted content. Fragment names are plain file names that start with the prefix."""
    files = {MAIN: main.encode()}
    for name, content in sorted(fragments.items()):
        if "/" in name or not name.startswith(prefix) or name == prefix:
            raise ValueError(f"fragment {name!r} is not a file name starting with {prefix!r}")
        files[f"{fragment_dir}/{name}"] = content.encode()
    return files


def read_live(root: Path = Path("/"), prefix: str = PREFIX, fragment_dir: str = FRAGMENT_DIR) -> dict[str, LiveFile]:
    """The role's files as they are now (`root` stands in for / in tests), by live path."""
    found: dict[str, LiveFile] = {}
    paths = [MAIN]
    folder = root / fragment_dir.lstrip("/")
    if folder.is_dir():
        paths += sorted(f"{fragment_dir}/{p.name}" for p in folder.iterdir() if p.name.startswith(prefix))
    for path in paths:
        local = root / path.lstrip("/")
        if not local.is_file():
            continue
        info = local.stat()
        found[path] = LiveFile(local.read_bytes(), info.st_mode & 0o7777, info.st_uid, info.st_gid)
    return found


def compare(wanted: Mapping[str, bytes], live: Mapping[str, LiveFile]) -> list[FileChange]:
    """Every file whose content, owner or mode is not as wanted, and every fragment of the role no longer wanted."""
    changes = []
    for path in sorted(set(wanted) | set(live)):
        now = live.get(path)
        before = now.content if now else None
        after = wanted.get(path)
        if before != after or (now is not None and (now.mode, now.uid, now.gid) != (MODE, 0, 0)):
            changes.append(FileChange(path, before, after))
    return changes


def next_step(changes: Sequence[FileChange], auto_down: Sequence[str]) -> str:
    """START hands the new set to alur-netapply (with its rollback); FIX_ATTRIBUTES only sets owner and mode.

    An `auto` interface of the role's files that ifupdown has not brought up is a change too: starting
    brings it up (alur-netapply plans that) even when no file differs.
    """
    if any(change.content_differs for change in changes) or auto_down:
        return START
    if changes:
        return FIX_ATTRIBUTES
    return NOTHING


def _text(content: bytes | None) -> str:
    return "" if content is None else content.decode("utf-8", errors="replace")


def diff(changes: Sequence[FileChange]) -> list[dict[str, str]]:
    """Ansible's before/after diff, one entry per file whose content changes (owner and mode are not shown)."""
    return [
        {
            "before_header": change.path if change.before is not None else f"{change.path} (absent)",
            "after_header": change.path if change.after is not None else f"{change.path} (removed)",
            "before": _text(change.before),
            "after": _text(change.after),
        }
        for change in changes
        if change.content_differs
    ]


def stage(staged: Path, wanted: Mapping[str, bytes], fragment_dir: str = FRAGMENT_DIR) -> None:
    """Write the wanted set where alur-netapply reads it: `interfaces` and `interfaces.d/<name>`.

    The folder is emptied first: a fragment left from an earlier attempt would be installed too.
    """
    shutil.rmtree(staged, ignore_errors=True)
    (staged / "interfaces.d").mkdir(parents=True, mode=0o700)
    staged.chmod(0o700)
    for path, content in wanted.items():
        if path == MAIN:
            target = staged / "interfaces"
        elif path.startswith(fragment_dir + "/"):
            target = staged / "interfaces.d" / path[len(fragment_dir) + 1 :]
        else:
            raise ValueError(f"{path} is not a file of ifupdown's")
        target.write_bytes(content)
        target.chmod(MODE)


def fix_attributes(changes: Sequence[FileChange], root: Path = Path("/")) -> list[str]:
    """Set owner root and mode 0644 on files whose content is already right; returns their paths."""
    fixed = []
    for change in changes:
        if change.content_differs or change.after is None:
            continue
        local = root / change.path.lstrip("/")
        os.chown(local, 0, 0)
        local.chmod(MODE)
        fixed.append(change.path)
    return fixed
