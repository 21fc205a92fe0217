"""Checking the model: the rules within one interface, within one host, and across the whole inventory.

`validate_inventory` is what `alur check` runs and what the role's play-wide check runs (through the
`alur.site.network_inventory_errors` filter), so both reject the same models with the same messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.alur.site.plugins.module_utils.network.model import (
    MAX_NAMESERVERS,
    MTU_MAX,
    MTU_MIN,
    MTU_MIN_IPV6,
    TYPE_FIELDS,
    Interface,
    Invalid,
    IPAddress,
    IPNetwork,
)
from ansible_collections.alur.site.plugins.module_utils.network.parse import is_list, parse_interface, type_name


def check_interface(raw: Mapping[str, Any], iface: Interface) -> None:
    """The rules between an interface's fields (method and addresses, gateway inside a subnet, ...)."""

    def bad(field_name: str, what: str) -> None:
        iface.problems.append(Invalid(field_name, what))

    broken = {p.field.split("[")[0].split(".")[0] for p in iface.problems}
    if (iface.name == "lo") != (iface.method == "loopback") and "method" not in broken:
        bad("method", "only lo uses method loopback, and lo uses nothing else")
    if iface.method == "loopback" and (iface.addresses or iface.routes or iface.gateway):
        bad("method", "lo takes no addresses, routes or gateway here")
    if iface.auto and iface.allow_hotplug:
        bad("allow_hotplug", "choose auto or allow_hotplug, not both")
    if "addresses" not in broken:
        if iface.method == "static" and not iface.addresses:
            bad("addresses", "method static needs at least one address")
        if iface.method == "manual" and iface.addresses:
            bad("addresses", "method manual takes no addresses (use static)")
        if iface.method == "dhcp" and 4 in iface.families():
            bad("addresses", "method dhcp gets its IPv4 address from DHCP; list only IPv6 addresses here")
        seen: dict[IPAddress, int] = {}
        for index, address in enumerate(iface.addresses):
            if address.ip in seen:
                bad(f"addresses[{index}]", f"{address.ip} is listed twice")
            seen[address.ip] = index
    if iface.gateway is not None and "addresses" not in broken:
        own = {a.ip for a in iface.addresses}
        if iface.method != "static":
            bad("gateway", f"only method static takes a gateway (method {iface.method} gets it elsewhere)")
        elif iface.gateway in own:
            bad("gateway", f"{iface.gateway} is this interface's own address")
        elif not any(iface.gateway in net for net in iface.subnets(iface.gateway.version)):
            nets = ", ".join(str(n) for n in iface.subnets(iface.gateway.version)) or f"no IPv{iface.gateway.version}"
            bad("gateway", f"{iface.gateway} is not inside {iface.label}'s subnets ({nets})")
    if iface.metric is not None and iface.gateway is None and iface.method != "dhcp":
        bad("metric", "metric applies to the gateway route (or DHCP's): set gateway, or move it to a route")
    if iface.mtu is not None and "mtu" not in broken:
        low = MTU_MIN_IPV6 if 6 in iface.families() else MTU_MIN
        if not low <= iface.mtu <= MTU_MAX:
            why = " (the interface has IPv6 addresses)" if low == MTU_MIN_IPV6 else ""
            bad("mtu", f"{iface.mtu} is outside {low}-{MTU_MAX}{why}")
    if "routes" not in broken and "addresses" not in broken:
        seen_routes: set[tuple[str, int | None]] = set()
        for index, route in enumerate(iface.routes):
            key = (str(route.to) if route.to else f"default/{route.family}", route.metric)
            if key in seen_routes:
                bad(f"routes[{index}].to", f"{key[0]} is listed twice with the same metric")
            seen_routes.add(key)
            if iface.method == "static" and route.family not in iface.families():
                bad(f"routes[{index}].to", f"{iface.label} has no IPv{route.family} address to route through")
            elif iface.method == "static" and route.via is not None:
                if not any(route.via in net for net in iface.subnets(route.family)):
                    bad(f"routes[{index}].via", f"{route.via} is not inside {iface.label}'s subnets")
            elif iface.method in ("manual", "loopback"):
                bad(f"routes[{index}]", f"method {iface.method} has no address to route through")
    for kind, names in TYPE_FIELDS.items():
        if iface.type != kind:
            for name in names:
                if raw.get(name) is not None:
                    bad(name, f"only for type {kind} (this interface is type {iface.type})")
    if iface.type == "bond" and not iface.slaves and "slaves" not in broken:
        bad("slaves", "a bond needs at least one slave")
    if iface.type == "vlan" and "vlan_id" not in broken and "link" not in broken:
        if iface.vlan_id is None:
            bad("vlan_id", "missing (1-4094)")
        if iface.link is None:
            bad("link", "missing (the interface the VLAN rides on)")
        if iface.vlan_id is not None and iface.link is not None and iface.name != f"{iface.link}.{iface.vlan_id}":
            bad("name", f"a VLAN is named <link>.<vlan_id>, here {iface.link}.{iface.vlan_id}")
    for index, server in enumerate(iface.dns_nameservers):
        if server in {a.ip for a in iface.addresses}:
            bad(f"dns_nameservers[{index}]", f"{server} is this interface's own address")


def checked_interface(raw: Any, index: int) -> Interface:
    """Parse one model entry and check its fields together; problems are collected on the result, never raised."""
    iface = parse_interface(raw, index)
    if iface.name:
        check_interface(raw, iface)
    return iface


# --- one host, then the inventory ---------------------------------------------------------------


def _host_rules(host: str, interfaces: list[Interface]) -> list[str]:
    errors: list[str] = []

    def bad(iface: Interface, field_name: str, what: str) -> None:
        errors.append(f"{host}: {iface.label}: {field_name}: {what}")

    by_name: dict[str, Interface] = {}
    for iface in interfaces:
        if not iface.name:
            continue
        if iface.name in by_name:
            bad(iface, "name", "listed twice on this host")
        by_name.setdefault(iface.name, iface)
    used_by: dict[str, str] = {}
    for iface in interfaces:
        for field_name, names in (("ports", iface.ports), ("slaves", iface.slaves), ("link", [iface.link])):
            for position, member in enumerate(names):
                if member is None:
                    continue
                where = field_name if field_name == "link" else f"{field_name}[{position}]"
                if member == iface.name:
                    bad(iface, where, "an interface cannot be built on itself")
                elif member not in by_name:
                    bad(iface, where, f"{member} is not in this host's network_interfaces")
                elif field_name != "link":
                    port = by_name[member]
                    if port.method != "manual" or port.addresses:
                        bad(iface, where, f"{member} must be method manual with no addresses (its addresses go here)")
                    if member in used_by:
                        bad(iface, where, f"{member} is already a member of {used_by[member]}")
                    used_by[member] = iface.name
    # Stacks must end: a bridge on a bond on a bridge... ifup would loop.
    for iface in interfaces:
        seen, stack = {iface.name}, list(iface.members)
        while stack:
            member = stack.pop()
            if member == iface.name:
                bad(iface, "name", "is part of its own stack of ports/slaves/links")
                break
            if member in seen or member not in by_name:
                continue
            seen.add(member)
            stack.extend(by_name[member].members)
    gateways: dict[int, str] = {}
    subnets: dict[IPNetwork, str] = {}
    for iface in interfaces:
        defaults: list[tuple[IPAddress | None, str]] = [(iface.gateway, "gateway")] if iface.gateway else []
        defaults += [(r.via, f"routes[{i}]") for i, r in enumerate(iface.routes) if r.is_default]
        for via, where in defaults:
            if via is None:
                continue
            if via.version in gateways:
                bad(
                    iface,
                    where,
                    f"a second IPv{via.version} default gateway ({via}); {gateways[via.version]} already has one "
                    "and a host has at most one per family",
                )
            else:
                gateways[via.version] = f"{iface.label} ({via})"
        for net in {a.network for a in iface.addresses}:
            if net in subnets and subnets[net] != iface.label:
                bad(iface, "addresses", f"subnet {net} is also on {subnets[net]}; one subnet belongs on one interface")
            subnets.setdefault(net, iface.label)
    servers: list[IPAddress] = []
    for iface in interfaces:
        servers += [s for s in iface.dns_nameservers if s not in servers]
        if len(servers) > MAX_NAMESERVERS:
            what = f"more than {MAX_NAMESERVERS} name servers on this host (the resolver reads only {MAX_NAMESERVERS})"
            bad(iface, "dns_nameservers", what)
            break
    return errors


def _parse_host(host: str, model: Any) -> tuple[list[Interface], list[str]]:
    if model is None:
        return [], []
    if not is_list(model):
        return [], [f"{host}: (all): network_interfaces: want a list of interfaces, got {type_name(model)}"]
    interfaces = [checked_interface(raw, index) for index, raw in enumerate(model)]
    errors = [f"{host}: {i.label}: {p.field}: {p.what}" for i in interfaces for p in i.problems]
    return interfaces, errors + _host_rules(host, interfaces)


def validate_inventory(interfaces_by_host: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Every error in the inventory's network models, hosts in name order; [] when all is well.

    A host whose model is empty or None is not managed by the role and has nothing to check.
    Addresses must be unique across all the hosts given, not only within one host.
    """
    errors: list[str] = []
    owners: dict[IPAddress, tuple[str, str]] = {}
    for host in sorted(interfaces_by_host):
        interfaces, host_errors = _parse_host(host, interfaces_by_host[host])
        errors += host_errors
        for iface in interfaces:
            for index, address in enumerate(iface.addresses):
                owner = owners.setdefault(address.ip, (host, iface.label))
                if owner == (host, iface.label):
                    continue  # twice on one interface is the interface's own error
                where = f"{owner[1]} on this host" if owner[0] == host else f"{owner[0]} {owner[1]}"
                errors.append(f"{host}: {iface.label}: addresses[{index}]: {address.ip} is already used by {where}")
    return errors


def inventory_errors(hostvars: Mapping[str, Any], hosts: Iterable[str]) -> list[str]:
    """validate_inventory over the given hosts' models (for the role's run_once check).

    Each host publishes the model it would apply as `__network_model`; a host that failed before it
    could (its argument_specs check) is judged by its `network_interfaces` from the inventory.
    """
    models: dict[str, Any] = {}
    errors: list[str] = []
    for host in hosts:
        variables = hostvars[host]
        try:
            for name in ("__network_model", "network_interfaces"):
                if name in variables:
                    models[str(host)] = variables[name]
                    break
            else:
                models[str(host)] = None
        except Exception as exc:  # any templating error becomes one clear line
            errors.append(f"{host}: (all): network_interfaces: cannot be evaluated: {exc}")
    return errors + validate_inventory(models)
