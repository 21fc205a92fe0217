"""Jenkins plugins for a bundle: the lockfile (the collection's parser, the one the jenkins role uses), the
dependencies it misses resolved against the update center, and the files downloaded and checked."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible_collections.alur.site.plugins.module_utils import lockfile

from alur.bundle.debian import compare_versions, version_key
from alur.bundle.fetch import Fetcher
from alur.bundle.layout import BundleError


@dataclass(frozen=True)
class PluginFile:
    id: str
    version: str
    path: Path
    requested: bool = True
    source: str = ""


def read_lockfile(path: Path) -> dict[str, str]:
    """`id:version` per line; `#` starts a comment. The lockfile format the jenkins role reads too."""
    try:
        return lockfile.pins(path.read_text(), str(path))
    except lockfile.LockfileError as exc:
        raise BundleError(str(exc)) from exc


def resolve_plugins(pins: dict[str, str], catalog: dict[str, Any], core: str) -> tuple[dict[str, str], list[str]]:
    """The lockfile plus every required dependency it misses (at the newest version the core runs).

    `catalog` is the update center's plugin-versions.json "plugins" object: id -> version -> metadata.
    Returns (id -> version, notes on what was added).
    """
    resolved = dict(pins)
    notes: list[str] = []
    todo = list(pins)
    while todo:
        plugin = todo.pop()
        meta = catalog.get(plugin, {}).get(resolved[plugin])
        if meta is None:
            raise BundleError(f"plugin {plugin}:{resolved[plugin]} is not in the update center")
        required_core = str(meta.get("requiredCore", "0"))
        if compare_versions(required_core, core) > 0:
            raise BundleError(f"plugin {plugin}:{resolved[plugin]} needs Jenkins {required_core}, the pin is {core}")
        for dep in meta.get("dependencies", []):
            if dep.get("optional"):
                continue
            name, minimum = dep["name"], str(dep.get("version", "0"))
            if name in resolved:
                if compare_versions(resolved[name], minimum) < 0:
                    raise BundleError(
                        f"{plugin}:{resolved[plugin]} needs {name} >= {minimum}; the lockfile pins {resolved[name]}"
                    )
                continue
            versions = [
                v
                for v, m in catalog.get(name, {}).items()
                if compare_versions(v, minimum) >= 0 and compare_versions(str(m.get("requiredCore", "0")), core) <= 0
            ]
            if not versions:
                raise BundleError(f"{plugin} needs {name} >= {minimum}; the update center has none for Jenkins {core}")
            resolved[name] = max(versions, key=version_key)
            notes.append(f"added {name}:{resolved[name]} (needed by {plugin}); add it to the lockfile to pin it")
            todo.append(name)
    return resolved, notes


def normal_sha256(value: str) -> str:
    """Jenkins' update center gives SHA-256 in base64; apt and sha256sum in hex."""
    value = value.strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return value.lower()
    try:
        return base64.b64decode(value, validate=True).hex()
    except ValueError as exc:
        raise BundleError(f"not a SHA-256 checksum: {value!r}") from exc


def download_plugins(
    lock: Path, update_center: str, core: str, fetcher: Fetcher, work: Path, log: Callable[[str], None]
) -> list[PluginFile]:
    """The lockfile's plugins and their missing dependencies for Jenkins `core`, each checked against the
    update center's SHA-256, downloaded under `work`."""
    pins = read_lockfile(lock)
    uc = update_center.rstrip("/")
    log(f"jenkins plugins: {len(pins)} pinned in {lock}; catalog at {fetcher.url(uc)}")
    try:
        catalog = json.loads(fetcher.get(f"{uc}/current/plugin-versions.json"))["plugins"]
    except (ValueError, KeyError) as exc:
        raise BundleError(f"the update center's plugin-versions.json is not what alur expects: {exc}") from exc
    resolved, notes = resolve_plugins(pins, catalog, core)
    for note in notes:
        log(f"  {note}")
    folder = work / "plugins"
    folder.mkdir()
    files = []
    for plugin, version in sorted(resolved.items()):
        meta = catalog[plugin][version]
        url = str(meta.get("url") or f"{uc}/download/plugins/{plugin}/{version}/{plugin}.hpi")
        if not meta.get("sha256"):
            raise BundleError(f"plugin {plugin}:{version} has no SHA-256 in the update center")
        dest = folder / f"{plugin}.jpi"
        if fetcher.download(url, dest) != normal_sha256(str(meta["sha256"])):
            raise BundleError(f"plugin {plugin}:{version}: {url} does not match the update center's SHA-256")
        files.append(PluginFile(plugin, version, dest, requested=plugin in pins, source=url))
    return files
