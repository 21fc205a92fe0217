"""The one address rule: the address peers use to reach a host, and the forms it takes in URLs,
certificates and firewall rules.

A host's peer address is, in order:

1. an explicit override (the caller names the variable; the Elastic roles use `elasticstack_host_address`);
2. the first IPv4 address of a static interface in `network_interfaces` (the network role's model), then the
   first IPv6 one, in model order. Loopback, link-local (169.254.0.0/16, fe80::/10), multicast and unspecified
   addresses are never candidates: a link-local address is valid on one link only, needs a zone index in every
   URL, and cannot go into a certificate a peer on another link checks; loopback is not reachable from a peer.
   Only interfaces with method static (the model's default; `lo` defaults to loopback) count: dhcp, manual and
   loopback interfaces have no address peers can rely on;
3. `ansible_host`, then the inventory name, until the host has a network model.

Facts (`ansible_default_ipv4`) are never used: on a host with a management and a service network they name
whichever interface holds the default route, not the one peers should use.

Standard library only: `alur` imports this module as plain Python, and Ansible ships it with the modules.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: The interface methods whose addresses are static (the network role's default method is static).
STATIC_METHODS = ("static",)


def usable(address: IPAddress) -> bool:
    """Whether a peer on another link can reach `address`."""
    return not (address.is_loopback or address.is_link_local or address.is_multicast or address.is_unspecified)


def interface_addresses(interface: Mapping[str, Any]) -> list[IPAddress]:
    """Every address one interface of the network model lists (CIDR strings or {address, netmask} mappings), in
    order, whatever its method; entries that do not parse are skipped (the network role refuses them with a
    message of its own)."""
    found: list[IPAddress] = []
    for entry in interface.get("addresses") or []:
        text = entry.get("address") if isinstance(entry, Mapping) else entry
        if not text:
            continue
        try:
            found.append(ipaddress.ip_interface(str(text)).ip)
        except ValueError:
            continue
    return found


def _method(interface: Mapping[str, Any]) -> str:
    # The network model's defaults: lo is the loopback, every other interface is static.
    return str(interface.get("method") or ("loopback" if interface.get("name") == "lo" else "static"))


def static_addresses(interfaces: Any) -> list[IPAddress]:
    """The usable addresses of the static interfaces of a network model, in model order."""
    if not isinstance(interfaces, list):
        return []
    return [
        address
        for interface in interfaces
        if isinstance(interface, Mapping) and _method(interface) in STATIC_METHODS
        for address in interface_addresses(interface)
        if usable(address)
    ]


def peer_address(host_vars: Mapping[str, Any], override: str | None = None) -> str:
    """The address peers use to reach the host whose variables are `host_vars` (see the module docstring)."""
    if override and host_vars.get(override):
        return str(host_vars[override])
    addresses = static_addresses(host_vars.get("network_interfaces"))
    for version in (4, 6):
        for address in addresses:
            if address.version == version:
                return str(address)
    return str(host_vars.get("ansible_host") or host_vars.get("inventory_hostname"))


def peer_addresses(hostvars: Mapping[str, Any], hosts: Iterable[str], override: str | None = None) -> list[str]:
    """The peer address of each host, in the order given."""
    return [peer_address(hostvars[host], override) for host in hosts]


def url_host(address: str) -> str:
    """An address as the host part of a URL (IPv6 in brackets; names unchanged)."""
    try:
        return f"[{address}]" if ipaddress.ip_address(str(address)).version == 6 else str(address)
    except ValueError:
        return str(address)


def host_cidrs(addresses: Iterable[str]) -> list[str]:
    """Single-host networks (/32, /128) for firewall allow lists, sorted and without repeats."""
    result = set()
    for text in addresses:
        address = ipaddress.ip_address(str(text))
        result.add(f"{address}/{address.max_prefixlen}")
    return sorted(result)


def subject_alt_names(address: str, names: Iterable[str]) -> list[str]:
    """subjectAltName entries for a host: its address (IP:, or DNS: when it is a name) and each distinct name."""
    entries = []
    try:
        entries.append(f"IP:{ipaddress.ip_address(str(address))}")
    except ValueError:
        entries.append(f"DNS:{address}")
    for name in names:
        if name and f"DNS:{name}" not in entries:
            entries.append(f"DNS:{name}")
    return entries


def not_ip(values: Iterable[Any]) -> list[str]:
    """The values that are not IP addresses (host names cannot go into firewall rules or IP SANs)."""
    bad = []
    for value in values or []:
        try:
            ipaddress.ip_address(str(value))
        except ValueError:
            bad.append(str(value))
    return bad


def invalid_networks(values: Iterable[Any]) -> list[str]:
    """The values that are neither an IPv4/IPv6 address nor a network in CIDR form."""
    bad = []
    for value in values or []:
        try:
            ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            bad.append(str(value))
    return bad
