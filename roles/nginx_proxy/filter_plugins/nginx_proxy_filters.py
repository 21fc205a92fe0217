"""Filters of the nginx_proxy role: its sites checked and completed (addresses: `alur.site.peer_address`).

Standard library only, so the unit tests load this file by path without Ansible.
"""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PATH = re.compile(r"^/([A-Za-z0-9._~-]+/)*$")
_UPSTREAM = re.compile(r"^https?://[^/\s]+$")
_SIZE = re.compile(r"^[0-9]+[kmgKMG]?$")


def sites(explicit: list[Any], published: list[Any], defaults: dict[str, Any]) -> list[dict[str, Any]]:
    """The sites to serve: published <service>_proxy_site facts, overridden by explicit ones of the same name,
    each completed with defaults and checked. Raises ValueError naming the site and the field."""
    merged: dict[str, dict[str, Any]] = {}
    for site in list(published or []) + list(explicit or []):
        if not isinstance(site, dict) or "name" not in site:
            raise ValueError(f"a site must be a mapping with a name, got {site!r}")
        merged[str(site["name"])] = {**defaults, **site}
    paths: dict[str, str] = {}
    for name, site in merged.items():
        errors = []
        if not _NAME.match(name):
            errors.append("name: lower-case letters, digits, - and _ only")
        if not _PATH.match(str(site["path"])):
            errors.append(f"path: / or /x/ (ending with /), got {site['path']!r}")
        if not _UPSTREAM.match(str(site.get("upstream", ""))):
            errors.append(f"upstream: http(s)://host:port without a path, got {site.get('upstream')!r}")
        if not _SIZE.match(str(site["client_max_body_size"])):
            errors.append(f"client_max_body_size: like 10m, got {site['client_max_body_size']!r}")
        if str(site["path"]) in paths:
            errors.append(f"path: {site['path']} is served by site {paths[str(site['path'])]} already")
        if errors:
            raise ValueError(f"nginx_proxy site {name}: " + "; ".join(errors))
        paths[str(site["path"])] = name
    return sorted(merged.values(), key=lambda s: (-len(str(s["path"])), str(s["name"])))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"nginx_proxy_sites": sites}
