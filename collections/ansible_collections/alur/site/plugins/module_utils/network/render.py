"""Rendering a valid interface: the auto/allow lines and the iface stanzas ifupdown reads, the resolver
settings of a host, and the Debian packages its model needs.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.alur.site.plugins.module_utils.network.model import MAX_NAMESERVERS, Interface, IPInterface
from ansible_collections.alur.site.plugins.module_utils.network.validate import checked_interface


def _route_lines(iface: Interface, family: int) -> list[tuple[str, str]]:
    lines = []
    for route in iface.routes:
        if route.family != family:
            continue
        ip = "ip -6" if family == 6 else "ip"
        spec = "default" if route.to is None else str(route.to)
        if route.via is not None:
            spec += f" via {route.via}"
        spec += f" dev {iface.name}"
        if route.metric is not None:
            spec += f" metric {route.metric}"
        # replace, not add: ifup must not fail on a route that is already there.
        lines.append(("up", f"{ip} route replace {spec}"))
    return lines


def _type_lines(iface: Interface) -> list[tuple[str, str]]:
    if iface.type == "bridge":
        return [
            ("bridge_ports", " ".join(iface.ports) or "none"),
            ("bridge_stp", "on" if iface.bridge_stp else "off"),
        ]
    if iface.type == "bond":
        return [
            ("bond-slaves", " ".join(iface.slaves)),
            ("bond-mode", iface.mode),
            ("bond-miimon", str(iface.miimon)),
        ]
    if iface.type == "vlan" and iface.link:
        return [("vlan-raw-device", iface.link)]
    return []


def _address_lines(address: IPInterface) -> list[tuple[str, str]]:
    if address.version == 4:
        return [
            ("address", str(address.ip)),
            ("netmask", str(address.netmask)),
            ("network", str(address.network.network_address)),
            ("broadcast", str(address.network.broadcast_address)),
        ]
    return [("address", str(address.ip)), ("netmask", str(address.network.prefixlen))]


def stanzas(raw: Any) -> dict[str, Any]:
    """What the fragment template writes for one interface: its auto/allow lines and its iface stanzas.

    Each family's first stanza carries the gateway and routes; the interface-wide settings (MTU,
    DNS, ports, options) go into the first stanza of all. Extra addresses of a family get stanzas
    of their own: ifupdown brings up every stanza of an interface, in order.
    """
    iface = checked_interface(raw, 0)
    if iface.problems:
        problem = iface.problems[0]
        raise ValueError(f"{iface.label}: {problem.field}: {problem.what} (the model was not validated)")
    blocks: list[dict[str, Any]] = []
    v4: list[IPInterface] = [a for a in iface.addresses if a.version == 4]
    v6: list[IPInterface] = [a for a in iface.addresses if a.version == 6]
    if iface.method == "static":
        for family, addresses in ((4, v4), (6, v6)):
            for position, address in enumerate(addresses):
                options = _address_lines(address)
                if position == 0:
                    if iface.gateway is not None and iface.gateway.version == family:
                        options.append(("gateway", str(iface.gateway)))
                        if iface.metric is not None:
                            options.append(("metric", str(iface.metric)))
                    options += _route_lines(iface, family)
                blocks.append({"family": "inet" if family == 4 else "inet6", "method": "static", "options": options})
    else:
        options = []
        if iface.method == "dhcp":
            if iface.metric is not None:
                options.append(("metric", str(iface.metric)))
            options += _route_lines(iface, 4)
        blocks.append({"family": "inet", "method": iface.method, "options": options})
        for position, address in enumerate(v6):
            extra = _address_lines(address) + (_route_lines(iface, 6) if position == 0 else [])
            blocks.append({"family": "inet6", "method": "static", "options": extra})
    shared: list[tuple[str, str]] = []
    if iface.mtu is not None:
        shared.append(("mtu", str(iface.mtu)))
    if iface.dns_nameservers:
        shared.append(("dns-nameservers", " ".join(str(s) for s in iface.dns_nameservers)))
    if iface.dns_search:
        shared.append(("dns-search", " ".join(iface.dns_search)))
    shared += _type_lines(iface) + iface.options
    first = blocks[0]
    # Address lines first, then interface-wide settings, then routes (they need the address up).
    address_part = [o for o in first["options"] if o[0] != "up"]
    first["options"] = address_part + shared + [o for o in first["options"] if o[0] == "up"]
    for block in blocks:
        block["options"] = [list(option) for option in block["options"]]
    return {
        "name": iface.name,
        "comment": iface.comment,
        "auto": iface.auto,
        "allow_hotplug": iface.allow_hotplug,
        "stanzas": blocks,
    }


def resolver(model: Any) -> dict[str, list[str]]:
    """Name servers and search domains of a host's whole model, first seen first, for /etc/resolv.conf."""
    servers: list[str] = []
    domains: list[str] = []
    for raw in model or []:
        iface = checked_interface(raw, 0)
        servers += [str(s) for s in iface.dns_nameservers if str(s) not in servers]
        domains += [d for d in iface.dns_search if d not in domains]
    return {"nameservers": servers[:MAX_NAMESERVERS], "search": domains}


def packages(model: Any, dhcp_client: str) -> list[str]:
    """Debian packages the model needs on top of ifupdown itself."""
    interfaces = [checked_interface(raw, 0) for raw in model or []]
    needed = ["ifupdown"]
    if any(i.type == "bridge" for i in interfaces):
        needed.append("bridge-utils")
    if any(i.type == "bond" for i in interfaces):
        needed.append("ifenslave")
    if any(i.method == "dhcp" for i in interfaces):
        needed.append(dhcp_client)
    return needed
