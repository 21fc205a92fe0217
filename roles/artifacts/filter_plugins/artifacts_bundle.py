"""Read an alur bundle (made by `alur bundle create`) for the artifacts role."""

from __future__ import annotations

import re
from typing import Any

STANDIN = "+standin"


def sha256sums(text: str, base: str = "") -> dict[str, str]:
    """sha256sum output -> {path: hex digest}; paths under `base` are made relative to it."""
    sums = {}
    prefix = base.rstrip("/") + "/" if base else ""
    for line in (text or "").splitlines():
        match = re.fullmatch(r"([0-9a-f]{64}) [ *](\S.*)", line.strip())
        if match:
            path = match.group(2)
            sums[path.removeprefix(prefix) if prefix and path.startswith(prefix) else path] = match.group(1)
    return sums




def bundle_files(manifest: dict[str, Any], products: list[str]) -> list[dict[str, str]]:
    """Every file the given products need from the bundle: [{product, file}], the index first per product."""
    files = []
    for product in products:
        info = manifest.get("products", {}).get(product)
        if info is None:
            continue
        files.append({"product": product, "file": info["index"]})
        files += [{"product": product, "file": p["file"]} for p in info["packages"]]
    if "jenkins" in products:
        plugins = manifest.get("jenkins_plugins", [])
        files += [{"product": "jenkins-plugins", "file": p["file"]} for p in plugins]
        if plugins:
            files.append({"product": "jenkins-plugins", "file": "jenkins-plugins/plugins.lock"})
    return files


def bundle_version(manifest: dict[str, Any], product: str, package: str) -> str:
    """The version of `package` the bundle holds for `product` ('' when absent)."""
    for entry in manifest.get("products", {}).get(product, {}).get("packages", []):
        if entry["package"] == package:
            return str(entry["version"])
    return ""


def source_url(url: str, source: str, mirror_url: str) -> str:
    """A vendor URL as the host fetches it: unchanged upstream; <mirror>/HOST/PATH from a mirror."""
    if source != "mirror":
        return url
    return mirror_url.rstrip("/") + "/" + re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", url)


def without_standin(version: str) -> str:
    return str(version).removesuffix(STANDIN)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "artifacts_sha256sums": sha256sums,
            "artifacts_bundle_files": bundle_files,
            "artifacts_bundle_version": bundle_version,
            "artifacts_without_standin": without_standin,
            "artifacts_source_url": source_url,
        }
