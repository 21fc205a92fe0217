"""Service checks for `alur status`, one module per service family; each registers its checks with
`alur.status.service_check(group, name)`. `alur status` imports every module of this package.

The helpers here are what several families need: a unit's state, a product's version from its package (with the
CI stand-in label; a stand-in is named, never treated differently), and the static address services bind to."""

from __future__ import annotations

import ipaddress
from typing import Any

from alur.status import ServiceContext

STANDIN_LABEL = " (CI stand-in)"


def active(context: ServiceContext, unit: str) -> tuple[bool, str]:
    """Whether a systemd unit is active, and its state word."""
    state = context.run(f"systemctl is-active {unit}").stdout.strip() or "unknown"
    return state == "active", state


def package_version(context: ServiceContext, name: str) -> tuple[str | None, str]:
    """(upstream version, STANDIN_LABEL or "") of an installed Debian package; (None, "") when it is not."""
    raw = context.run(f"dpkg-query -W -f='${{Version}}' {name}").stdout.strip()
    if not raw:
        return None, ""
    version = raw.split(":", 1)[-1].split("-", 1)[0].replace("+standin", "")
    return version, STANDIN_LABEL if "+standin" in raw else ""


def static_address(context: ServiceContext, override: str | None = None) -> str:
    """The address the roles bind services to: the variable `override` names when set, else the first static
    address of network_interfaces (IPv4 before IPv6), else the address Alur reaches the host on."""
    if override and context.variables(override, None):
        return str(context.variables(override, None))
    found: list[Any] = []
    for interface in context.variables("network_interfaces", None) or []:
        if not isinstance(interface, dict) or interface.get("method", "static") != "static":
            continue
        for entry in interface.get("addresses") or []:
            text = entry.get("address") if isinstance(entry, dict) else entry
            try:
                found.append(ipaddress.ip_interface(str(text)).ip)
            except ValueError:
                continue
    for version in (4, 6):
        for address in found:
            if address.version == version:
                return str(address)
    return context.connection.address


def url_host(address: str) -> str:
    """An address as a URL's host part (IPv6 in brackets)."""
    try:
        return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        return address
