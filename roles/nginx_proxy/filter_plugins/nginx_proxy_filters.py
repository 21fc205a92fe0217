"""Filters of the nginx_proxy role: a host's static address, and its sites checked and completed.

Standard library only, so the unit tests load this file by path without Ansible.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PATH = re.compile(r"^/([A-Za-z0-9._~-]+/)*$")
_UPSTREAM = re.compile(r"^https?://[^/\s]+$")
_SIZE = re.compile(r"^[0-9]+[kmgKMG]?$")


def static_address(interfaces: Any, fallback: str) -> str:
    """A host's static address from the network role's model (`network_interfaces`): the first IPv4
    address of an interface that has one, else the first IPv6 one; `fallback` without a model."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for iface in interfaces or []:
        if not isinstance(iface, dict) or iface.get("method") in ("dhcp", "loopback"):
            continue
        for entry in iface.get("addresses") or []:
            raw = entry.get("address") if isinstance(entry, dict) else entry
            try:
                address = ipaddress.ip_interface(str(raw)).ip
            except ValueError:
                continue
            if not address.is_loopback and not address.is_link_local:
                found.append(address)
    for family in (4, 6):
        for address in found:
            if address.version == family:
                return str(address)
    return str(fallback)


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
        return {
            "nginx_proxy_static_address": static_address,
            "nginx_proxy_sites": sites,
        }
