"""Filters of the Elastic roles: each host's static address, from the inventory, never from facts.

A host's address is, in order: `elasticstack_host_address` (a per-host override), the first IPv4 address
of a static interface in `network_interfaces` (the network role's model), the first IPv6 one, then
`ansible_host`. `ansible_default_ipv4` is never used: on a host with a management and a lab network it
names whichever interface holds the default route, not the one peers should use.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any


def _interface_addresses(interfaces: Any) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    if not isinstance(interfaces, list):
        return found
    for interface in interfaces:
        if not isinstance(interface, Mapping) or interface.get("method", "static") not in ("static", None):
            continue
        for entry in interface.get("addresses") or []:
            text = entry.get("address") if isinstance(entry, Mapping) else entry
            try:
                found.append(ipaddress.ip_interface(str(text)).ip)
            except ValueError:
                continue  # the network role rejects it with a clear message; here it is simply not a candidate
    return found


def elasticstack_address(host_vars: Mapping[str, Any]) -> str:
    """The address peers use to reach this host (see the module docstring for the order)."""
    override = host_vars.get("elasticstack_host_address")
    if override:
        return str(override)
    addresses = _interface_addresses(host_vars.get("network_interfaces"))
    for version in (4, 6):
        for address in addresses:
            if address.version == version:
                return str(address)
    # Until the network role has written network_interfaces for this host, its management address stands in.
    return str(host_vars.get("ansible_host") or host_vars.get("inventory_hostname"))


def elasticstack_addresses(hostvars: Mapping[str, Any], hosts: Iterable[str]) -> list[str]:
    """The address of each host, in the order given."""
    return [elasticstack_address(hostvars[host]) for host in hosts]


def elasticstack_cidrs(addresses: Iterable[str]) -> list[str]:
    """Single-host networks (/32, /128) for firewall allow lists."""
    result = []
    for text in addresses:
        address = ipaddress.ip_address(str(text))
        result.append(f"{address}/{address.max_prefixlen}")
    return sorted(set(result))


def elasticstack_url_host(address: str) -> str:
    """An address as it appears in a URL (IPv6 in brackets)."""
    try:
        return f"[{address}]" if ipaddress.ip_address(str(address)).version == 6 else str(address)
    except ValueError:
        return str(address)


def elasticstack_san(address: str, names: Iterable[str]) -> list[str]:
    """subjectAltName entries: the address (IP:) and each distinct name (DNS:)."""
    entries = []
    try:
        entries.append(f"IP:{ipaddress.ip_address(str(address))}")
    except ValueError:
        entries.append(f"DNS:{address}")
    for name in names:
        if name and f"DNS:{name}" not in entries:
            entries.append(f"DNS:{name}")
    return entries


def elasticstack_heap_mb(value: Any, memory_mb: Any, fraction: float, floor: int, ceiling: int) -> int:
    """A heap size in MB: the explicit value ('512m', '2g', 1024), else a fraction of the RAM within bounds."""
    text = str(value or "").strip().lower()
    if text:
        units = {"k": 1 / 1024, "m": 1, "g": 1024}
        if text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(float(text))
    return int(max(floor, min(ceiling, int(memory_mb or 0) * fraction)))


def elasticstack_not_ip(values: Iterable[str]) -> list[str]:
    """The values that are not IP addresses (host names cannot go into firewall rules or IP SANs)."""
    bad = []
    for text in values:
        try:
            ipaddress.ip_address(str(text))
        except ValueError:
            bad.append(str(text))
    return bad


def elasticstack_not_ip_network(values: Iterable[str]) -> list[str]:
    """The values that are not addresses or CIDR networks."""
    bad = []
    for text in values:
        try:
            ipaddress.ip_network(str(text), strict=False)
        except ValueError:
            bad.append(str(text))
    return bad


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "elasticstack_address": elasticstack_address,
            "elasticstack_addresses": elasticstack_addresses,
            "elasticstack_cidrs": elasticstack_cidrs,
            "elasticstack_url_host": elasticstack_url_host,
            "elasticstack_san": elasticstack_san,
            "elasticstack_heap_mb": elasticstack_heap_mb,
            "elasticstack_not_ip": elasticstack_not_ip,
            "elasticstack_not_ip_network": elasticstack_not_ip_network,
        }
