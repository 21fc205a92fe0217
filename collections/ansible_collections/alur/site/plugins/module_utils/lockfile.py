"""The Jenkins plugin lockfile: one `id:version` per line, `#` starts a comment.

Read by the jenkins role (filter `alur.site.plugin_lockfile`) and by `alur bundle create`. Standard library only.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"([A-Za-z0-9_.-]+):(\S+)")


class LockfileError(ValueError):
    """The lockfile does not follow the id:version format; the message names the file and the line."""


def parse(text: str, origin: str = "plugins.lock") -> list[dict[str, str]]:
    """`id:version` lines -> [{id, version}] in file order. A line that is neither blank, a comment nor
    id:version is an error naming it, and so is an id listed twice."""
    plugins: list[dict[str, str]] = []
    seen: set[str] = set()
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _LINE.fullmatch(line)
        if not match:
            raise LockfileError(f"{origin}:{number}: expected id:version, got {raw.strip()!r}")
        plugin_id, version = match.groups()
        if plugin_id in seen:
            raise LockfileError(f"{origin}:{number}: {plugin_id} is listed twice")
        seen.add(plugin_id)
        plugins.append({"id": plugin_id, "version": version})
    return plugins


def pins(text: str, origin: str = "plugins.lock") -> dict[str, str]:
    """The lockfile as {id: version}."""
    return {plugin["id"]: plugin["version"] for plugin in parse(text, origin)}
