"""Parsing one interface of the model: each field read, converted and collected as a problem when wrong.

Parsing never raises on bad input: every problem is kept on the `Interface` (its `problems`), so that one
run reports all of them. Rules that relate fields to each other live in `validate`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from ansible_collections.alur.site.plugins.module_utils.network.model import (
    ADDRESS_FIELDS,
    BOND_MODES,
    DOMAIN,
    FALSE_WORDS,
    FIELDS,
    IFNAME,
    METHODS,
    OPTION_KEY,
    RENDERED_OPTIONS,
    ROUTE_FIELDS,
    TRUE_WORDS,
    TYPES,
    Interface,
    Invalid,
    IPAddress,
    IPInterface,
    Route,
)

# --- small parsers ----------------------------------------------------------------------------


def type_name(value: Any) -> str:
    """The YAML-level type of a value (Ansible hands over its own subclasses of str, list and dict)."""
    for kind, name in ((bool, "bool"), (str, "str"), (int, "int"), (float, "float"), (Mapping, "dict")):
        if isinstance(value, kind):
            return name
    return "list" if is_list(value) else type(value).__name__


def is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        return int(value.strip())
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    return None


def _ip(value: Any, field_name: str) -> IPAddress:
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise Invalid(field_name, f"{value!r} is not an IPv4 or IPv6 address") from None


def _prefix_from_netmask(netmask: Any, version: int, field_name: str) -> int:
    text = str(netmask).strip().lstrip("/")
    if re.fullmatch(r"\d+", text):
        prefix = int(text)
        if not 0 <= prefix <= (32 if version == 4 else 128):
            raise Invalid(field_name, f"prefix length {prefix} is out of range for IPv{version}")
        return prefix
    if version == 6:
        raise Invalid(field_name, f"{netmask!r} is not an IPv6 prefix length (0-128)")
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{text}").prefixlen
    except ValueError:
        raise Invalid(field_name, f"{netmask!r} is not a netmask (want e.g. 255.255.255.0 or 24)") from None


def _check_host_address(iface: IPInterface, field_name: str) -> None:
    ip = iface.ip
    if ip.is_unspecified or ip.is_loopback or ip.is_multicast:
        raise Invalid(field_name, f"{iface} is not a usable host address")
    if iface.version == 4 and iface.network.prefixlen <= 30:
        if ip == iface.network.network_address:
            raise Invalid(field_name, f"{iface} is the network address of {iface.network}, not a host address")
        if ip == iface.network.broadcast_address:
            raise Invalid(field_name, f"{iface} is the broadcast address of {iface.network}, not a host address")


def parse_address(entry: Any, field_name: str) -> IPInterface:
    """An address entry: "192.168.10.20/24", or {address, netmask, network, broadcast} as in the classic stanza."""
    if isinstance(entry, str):
        text = entry.strip()
        if "/" not in text:
            raise Invalid(
                field_name,
                f"{entry!r} has no prefix length: write {text}/24 (or a mapping with address and netmask)",
            )
        try:
            iface: IPInterface = ipaddress.ip_interface(text)
        except ValueError:
            what = f"{entry!r} is not an address with a prefix length, like 192.168.10.20/24"
            raise Invalid(field_name, what) from None
        _check_host_address(iface, field_name)
        return iface
    if not isinstance(entry, Mapping):
        raise Invalid(field_name, f"want a string like 192.168.10.20/24 or a mapping, got {type_name(entry)}")
    unknown = sorted(set(map(str, entry)) - set(ADDRESS_FIELDS))
    if unknown:
        raise Invalid(f"{field_name}.{unknown[0]}", f"unknown field (known: {', '.join(ADDRESS_FIELDS)})")
    if "address" not in entry:
        raise Invalid(f"{field_name}.address", "missing")
    text = str(entry["address"]).strip()
    ip_text, _, inline_prefix = text.partition("/")
    ip = _ip(ip_text, f"{field_name}.address")
    prefix: int | None = None
    if inline_prefix:
        prefix = _prefix_from_netmask(inline_prefix, ip.version, f"{field_name}.address")
    if entry.get("netmask") is not None:
        from_mask = _prefix_from_netmask(entry["netmask"], ip.version, f"{field_name}.netmask")
        if prefix is not None and from_mask != prefix:
            raise Invalid(f"{field_name}.netmask", f"{entry['netmask']} contradicts the prefix in {text}")
        prefix = from_mask
    if prefix is None:
        raise Invalid(f"{field_name}.netmask", f"missing: give a netmask for {text} (or write it as {text}/24)")
    iface = ipaddress.ip_interface(f"{ip}/{prefix}")
    _check_host_address(iface, f"{field_name}.address")
    if entry.get("network") is not None:
        network = _ip(entry["network"], f"{field_name}.network")
        if network != iface.network.network_address:
            raise Invalid(
                f"{field_name}.network",
                f"{network} does not match {iface} (its network is {iface.network.network_address})",
            )
    if entry.get("broadcast") is not None:
        if iface.version == 6:
            raise Invalid(f"{field_name}.broadcast", "IPv6 has no broadcast address")
        broadcast = _ip(entry["broadcast"], f"{field_name}.broadcast")
        if broadcast != iface.network.broadcast_address:
            raise Invalid(
                f"{field_name}.broadcast",
                f"{broadcast} does not match {iface} (its broadcast is {iface.network.broadcast_address})",
            )
    return iface


def parse_route(entry: Any, field_name: str) -> Route:
    if not isinstance(entry, Mapping):
        raise Invalid(field_name, f"want a mapping with to, via and metric, got {type_name(entry)}")
    unknown = sorted(set(map(str, entry)) - set(ROUTE_FIELDS))
    if unknown:
        raise Invalid(f"{field_name}.{unknown[0]}", f"unknown field (known: {', '.join(ROUTE_FIELDS)})")
    if entry.get("to") in (None, ""):
        raise Invalid(f"{field_name}.to", "missing (a network like 10.20.0.0/16, or default)")
    via = _ip(entry["via"], f"{field_name}.via") if entry.get("via") not in (None, "") else None
    metric = None
    if entry.get("metric") is not None:
        metric = _as_int(entry["metric"])
        if metric is None or metric > 2**32 - 1:
            raise Invalid(f"{field_name}.metric", f"{entry['metric']!r} is not a route metric (0-4294967295)")
    to_text = str(entry["to"]).strip()
    if to_text == "default":
        if via is None:
            raise Invalid(f"{field_name}.via", "a default route needs a gateway (via)")
        return Route(to=None, family=via.version, via=via, metric=metric)
    try:
        to = ipaddress.ip_network(to_text)
    except ValueError:
        try:
            loose = ipaddress.ip_network(to_text, strict=False)
        except ValueError:
            raise Invalid(f"{field_name}.to", f"{to_text!r} is not a network like 10.20.0.0/16") from None
        raise Invalid(f"{field_name}.to", f"{to_text} has host bits set; did you mean {loose}?") from None
    if "/" not in to_text:
        raise Invalid(f"{field_name}.to", f"{to_text!r} has no prefix length (write {to_text}/32 for one host)")
    if via is not None and via.version != to.version:
        raise Invalid(f"{field_name}.via", f"{via} is IPv{via.version} but {to} is IPv{to.version}")
    return Route(to=to, family=to.version, via=via, metric=metric)


# --- one interface ----------------------------------------------------------------------------


def _names(value: Any, field_name: str) -> list[str]:
    if not is_list(value):
        raise Invalid(field_name, f"want a list of interface names, got {type_name(value)}")
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not IFNAME.match(item):
            raise Invalid(f"{field_name}[{index}]", f"{item!r} is not an interface name")
        out.append(item)
    return out


def _parse_fields(raw: Mapping[str, Any], iface: Interface) -> None:
    def attempt(fn: Any) -> None:
        try:
            fn()
        except Invalid as problem:
            iface.problems.append(problem)

    for key in sorted(set(map(str, raw)) - set(FIELDS)):
        iface.problems.append(Invalid(key, "unknown field (a typo?)"))

    def kind() -> None:
        value = raw.get("type", "ethernet")
        if value not in TYPES:
            raise Invalid("type", f"{value!r} is not one of {', '.join(TYPES)}")
        iface.type = str(value)

    def method() -> None:
        value = raw.get("method", "loopback" if iface.name == "lo" else "static")
        if value not in METHODS:
            raise Invalid("method", f"{value!r} is not one of {', '.join(METHODS)}")
        iface.method = str(value)

    def addresses() -> None:
        value = raw.get("addresses", [])
        if value is None:
            return
        if not is_list(value):
            value = [value]
        for index, entry in enumerate(value):
            attempt(lambda: iface.addresses.append(parse_address(entry, f"addresses[{index}]")))  # noqa: B023

    def gateway() -> None:
        if raw.get("gateway") not in (None, ""):
            iface.gateway = _ip(raw["gateway"], "gateway")

    def integers() -> None:
        for name, low, high in (("metric", 0, 2**32 - 1), ("mtu", 0, 2**31), ("miimon", 0, 2**31)):
            if raw.get(name) is None:
                continue
            number = _as_int(raw[name])
            if number is None or not low <= number <= high:
                raise Invalid(name, f"{raw[name]!r} is not a whole number")
            setattr(iface, name, number)

    def vlan_id() -> None:
        if raw.get("vlan_id") is None:
            return
        number = _as_int(raw["vlan_id"])
        if number is None or not 1 <= number <= 4094:
            raise Invalid("vlan_id", f"{raw['vlan_id']!r} is not a VLAN id (1-4094)")
        iface.vlan_id = number

    def booleans() -> None:
        for name in ("auto", "allow_hotplug", "bridge_stp"):
            if raw.get(name) is None:
                continue
            value = _as_bool(raw[name])
            if value is None:
                raise Invalid(name, f"{raw[name]!r} is not true or false")
            setattr(iface, name, value)

    def dns() -> None:
        servers = raw.get("dns_nameservers") or []
        if not is_list(servers):
            raise Invalid("dns_nameservers", "want a list of addresses")
        for index, text in enumerate(servers):
            try:
                server = _ip(text, f"dns_nameservers[{index}]")
            except Invalid as problem:
                iface.problems.append(problem)
                continue
            if server.is_unspecified or server.is_multicast:
                iface.problems.append(Invalid(f"dns_nameservers[{index}]", f"{server} cannot be a name server"))
            else:
                iface.dns_nameservers.append(server)

    def search() -> None:
        domains = raw.get("dns_search") or []
        if not is_list(domains):
            raise Invalid("dns_search", "want a list of domain names")
        for index, domain in enumerate(domains):
            if not isinstance(domain, str) or not DOMAIN.match(domain):
                raise Invalid(f"dns_search[{index}]", f"{domain!r} is not a domain name")
        iface.dns_search = [str(d) for d in domains]

    def routes() -> None:
        value = raw.get("routes") or []
        if not is_list(value):
            raise Invalid("routes", "want a list of {to, via, metric}")
        for index, entry in enumerate(value):
            attempt(lambda: iface.routes.append(parse_route(entry, f"routes[{index}]")))  # noqa: B023

    def members() -> None:
        if raw.get("ports") is not None:
            iface.ports = _names(raw["ports"], "ports")
        if raw.get("slaves") is not None:
            iface.slaves = _names(raw["slaves"], "slaves")
        if raw.get("link") is not None:
            link = raw["link"]
            if not isinstance(link, str) or not IFNAME.match(link):
                raise Invalid("link", f"{link!r} is not an interface name")
            iface.link = link

    def mode() -> None:
        if raw.get("mode") is None:
            return
        if raw["mode"] not in BOND_MODES:
            raise Invalid("mode", f"{raw['mode']!r} is not a bond mode ({', '.join(BOND_MODES)})")
        iface.mode = str(raw["mode"])

    def options() -> None:
        value = raw.get("options") or {}
        if not isinstance(value, Mapping):
            raise Invalid("options", "want a mapping of stanza option to value")
        for key, item in value.items():
            key_text = str(key)
            if not OPTION_KEY.match(key_text):
                raise Invalid(f"options.{key_text}", "not a stanza option name (lowercase letters, digits, - and _)")
            if key_text in RENDERED_OPTIONS:
                raise Invalid(f"options.{key_text}", "set by the role from the model; use the model's own field")
            text = str(item).lower() if isinstance(item, bool) else str(item)
            if "\n" in text or "\r" in text or not text.strip():
                raise Invalid(f"options.{key_text}", "the value must be one non-empty line")
            iface.options.append((key_text, text.strip()))

    def comment() -> None:
        if raw.get("comment") is None:
            return
        text = str(raw["comment"])
        if "\n" in text or "\r" in text:
            raise Invalid("comment", "must be one line")
        iface.comment = text

    for step in (kind, method, addresses, gateway, integers, vlan_id, booleans, dns, search, routes, members, mode):
        attempt(step)
    attempt(options)
    attempt(comment)


def parse_interface(raw: Any, index: int) -> Interface:
    """Parse one model entry field by field; problems are collected on the result, never raised.

    The rules between fields are `validate.check_interface`'s; `validate.checked_interface` runs both.
    """
    if not isinstance(raw, Mapping):
        iface = Interface(name="", label=f"#{index}")
        iface.problems.append(Invalid("-", f"want a mapping with at least a name, got {type_name(raw)}"))
        return iface
    name = raw.get("name")
    if not isinstance(name, str) or not IFNAME.match(name):
        iface = Interface(name="", label=f"#{index}")
        what = "missing" if name in (None, "") else f"{name!r} is not an interface name (1-15 of A-Z a-z 0-9 _ . -)"
        iface.problems.append(Invalid("name", what))
        return iface
    iface = Interface(name=name, label=name)
    _parse_fields(raw, iface)
    return iface
