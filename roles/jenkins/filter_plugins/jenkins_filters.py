"""Filters of the jenkins role: the plugin lockfile, the Java a Jenkins version needs, a peer's static address.

Standard library only, so the unit tests load this file by path without Ansible.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

_LOCK_LINE = re.compile(r"([A-Za-z0-9_.-]+):(\S+)")


class LockfileError(ValueError):
    """The plugin lockfile does not follow the id:version format."""


def lockfile(text: str, origin: str = "plugins.lock") -> list[dict[str, str]]:
    """`id:version` lines (`#` starts a comment) -> [{id, version}] in file order.

    The same format `alur bundle create` reads (alur.bundle.read_lockfile): a line that is neither
    blank, a comment nor id:version is an error naming the line, and so is an id listed twice.
    """
    plugins: list[dict[str, str]] = []
    seen: set[str] = set()
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _LOCK_LINE.fullmatch(line)
        if not match:
            raise LockfileError(f"{origin}:{number}: expected id:version, got {raw.strip()!r}")
        plugin_id, version = match.groups()
        if plugin_id in seen:
            raise LockfileError(f"{origin}:{number}: {plugin_id} is listed twice")
        seen.add(plugin_id)
        plugins.append({"id": plugin_id, "version": version})
    return plugins


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", str(version))[:4])


def java_required(version: str, rules: list[dict[str, Any]]) -> list[int]:
    """The Java feature releases a Jenkins version runs on: the rule with the newest `since` it reaches."""
    wanted = _version_key(version)
    for rule in sorted(rules, key=lambda r: _version_key(r["since"]), reverse=True):
        if wanted >= _version_key(rule["since"]):
            return [int(v) for v in rule["java"]]
    return []


def _address_of(entry: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    raw = entry.get("address") if isinstance(entry, dict) else entry
    if not raw:
        return None
    try:
        return ipaddress.ip_interface(str(raw)).ip
    except ValueError:
        return None


def static_address(interfaces: Any, fallback: str) -> str:
    """A host's static address from the network role's model (`network_interfaces`): the first IPv4
    address of the first interface that has one, else the first IPv6 one; `fallback` without a model."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for iface in interfaces or []:
        if not isinstance(iface, dict) or iface.get("method") in ("dhcp", "loopback"):
            continue
        for entry in iface.get("addresses") or []:
            address = _address_of(entry)
            if address is not None and not address.is_loopback and not address.is_link_local:
                found.append(address)
    for family in (4, 6):
        for address in found:
            if address.version == family:
                return str(address)
    return str(fallback)


def url_host(address: str) -> str:
    """An address as it appears in a URL (IPv6 in brackets)."""
    try:
        return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        return address


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "jenkins_lockfile": lockfile,
            "jenkins_java_required": java_required,
            "jenkins_static_address": static_address,
            "jenkins_url_host": url_host,
        }
