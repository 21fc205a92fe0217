"""The network role's model of ifupdown interfaces: whole-inventory validation and the stanzas it renders.

Standard library only, and no Ansible import: `alur check` loads this file by path and calls
`validate_inventory`, and the role uses the same code through the filters at the bottom, so the
command line and the play reject exactly the same models with exactly the same messages.

A model is a list of interfaces per host (`network_interfaces`). Every error reads
"<host>: <interface>: <field>: <what is wrong>".
"""

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METHODS = ("static", "dhcp", "manual", "loopback")
TYPES = ("ethernet", "bridge", "bond", "vlan")
BOND_MODES = ("balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb")
FIELDS = (
    "name",
    "type",
    "method",
    "addresses",
    "gateway",
    "metric",
    "mtu",
    "dns_nameservers",
    "dns_search",
    "routes",
    "auto",
    "allow_hotplug",
    "ports",
    "bridge_stp",
    "slaves",
    "mode",
    "miimon",
    "vlan_id",
    "link",
    "options",
    "comment",
)
TYPE_FIELDS = {
    "bridge": ("ports", "bridge_stp"),
    "bond": ("slaves", "mode", "miimon"),
    "vlan": ("vlan_id", "link"),
}
ADDRESS_FIELDS = ("address", "netmask", "network", "broadcast")
ROUTE_FIELDS = ("to", "via", "metric")
# Ethernet jumbo frames top out around 9216 on common hardware; below 68 IPv4 cannot work at all.
MTU_MIN, MTU_MAX, MTU_MIN_IPV6 = 68, 9216, 1280
# glibc's resolver reads only the first three nameserver lines.
MAX_NAMESERVERS = 3
# Stanza options the role writes itself; `options` may not set them behind the model's back.
RENDERED_OPTIONS = frozenset(
    {
        "address",
        "netmask",
        "network",
        "broadcast",
        "gateway",
        "metric",
        "mtu",
        "dns-nameservers",
        "dns-search",
        "bridge_ports",
        "bridge-ports",
        "bridge_stp",
        "bridge-stp",
        "bond-slaves",
        "bond_slaves",
        "bond-mode",
        "bond_mode",
        "bond-miimon",
        "bond_miimon",
        "vlan-raw-device",
        "vlan_raw_device",
        "up",
        "down",
        "pre-up",
        "post-down",
    }
)

# IFNAMSIZ is 16 with the terminating NUL; '/' and whitespace are never valid, ':' is the old alias syntax.
_IFNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")
_OPTION_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class _Invalid(ValueError):
    """One thing wrong with one field; `field` is relative to the interface (e.g. addresses[1].network)."""

    def __init__(self, field_name: str, what: str) -> None:
        super().__init__(what)
        self.field = field_name
        self.what = what


@dataclass
class Route:
    to: IPNetwork | None  # None is the default route; `family` then says which one
    family: int
    via: IPAddress | None = None
    metric: int | None = None

    @property
    def is_default(self) -> bool:
        return self.to is None or self.to.prefixlen == 0


@dataclass
class Interface:
    """One interface of the model, parsed; `problems` holds what could not be parsed."""

    name: str
    label: str  # how errors name it: the name, or #<index> when the name itself is broken
    type: str = "ethernet"
    method: str = "static"
    addresses: list[IPInterface] = field(default_factory=list)
    gateway: IPAddress | None = None
    metric: int | None = None
    mtu: int | None = None
    dns_nameservers: list[IPAddress] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    auto: bool = True
    allow_hotplug: bool = False
    ports: list[str] = field(default_factory=list)
    bridge_stp: bool = False
    slaves: list[str] = field(default_factory=list)
    mode: str = "active-backup"
    miimon: int = 100
    vlan_id: int | None = None
    link: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    comment: str | None = None
    problems: list[_Invalid] = field(default_factory=list)

    def subnets(self, family: int) -> list[IPNetwork]:
        return [a.network for a in self.addresses if a.version == family]

    def families(self) -> set[int]:
        return {a.version for a in self.addresses}

    @property
    def members(self) -> list[str]:
        """The interfaces this one is built on: bridge ports, bond slaves, the VLAN's raw device."""
        return [*self.ports, *self.slaves, *([self.link] if self.link else [])]


# --- small parsers ----------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    """The YAML-level type of a value (Ansible hands over its own subclasses of str, list and dict)."""
    for kind, name in ((bool, "bool"), (str, "str"), (int, "int"), (float, "float"), (Mapping, "dict")):
        if isinstance(value, kind):
            return name
    return "list" if _is_list(value) else type(value).__name__


def _is_list(value: Any) -> bool:
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
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _ip(value: Any, field_name: str) -> IPAddress:
    try:
        return ipaddress.ip_address(str(value).strip())
    except ValueError:
        raise _Invalid(field_name, f"{value!r} is not an IPv4 or IPv6 address") from None


def _prefix_from_netmask(netmask: Any, version: int, field_name: str) -> int:
    text = str(netmask).strip().lstrip("/")
    if re.fullmatch(r"\d+", text):
        prefix = int(text)
        if not 0 <= prefix <= (32 if version == 4 else 128):
            raise _Invalid(field_name, f"prefix length {prefix} is out of range for IPv{version}")
        return prefix
    if version == 6:
        raise _Invalid(field_name, f"{netmask!r} is not an IPv6 prefix length (0-128)")
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{text}").prefixlen
    except ValueError:
        raise _Invalid(field_name, f"{netmask!r} is not a netmask (want e.g. 255.255.255.0 or 24)") from None


def _check_host_address(iface: IPInterface, field_name: str) -> None:
    ip = iface.ip
    if ip.is_unspecified or ip.is_loopback or ip.is_multicast:
        raise _Invalid(field_name, f"{iface} is not a usable host address")
    if iface.version == 4 and iface.network.prefixlen <= 30:
        if ip == iface.network.network_address:
            raise _Invalid(field_name, f"{iface} is the network address of {iface.network}, not a host address")
        if ip == iface.network.broadcast_address:
            raise _Invalid(field_name, f"{iface} is the broadcast address of {iface.network}, not a host address")


def parse_address(entry: Any, field_name: str) -> IPInterface:
    """An address entry: "192.168.10.20/24", or {address, netmask, network, broadcast} as in the classic stanza."""
    if isinstance(entry, str):
        text = entry.strip()
        if "/" not in text:
            raise _Invalid(
                field_name,
                f"{entry!r} has no prefix length: write {text}/24 (or a mapping with address and netmask)",
            )
        try:
            iface: IPInterface = ipaddress.ip_interface(text)
        except ValueError:
            what = f"{entry!r} is not an address with a prefix length, like 192.168.10.20/24"
            raise _Invalid(field_name, what) from None
        _check_host_address(iface, field_name)
        return iface
    if not isinstance(entry, Mapping):
        raise _Invalid(field_name, f"want a string like 192.168.10.20/24 or a mapping, got {_type_name(entry)}")
    unknown = sorted(set(map(str, entry)) - set(ADDRESS_FIELDS))
    if unknown:
        raise _Invalid(f"{field_name}.{unknown[0]}", f"unknown field (known: {', '.join(ADDRESS_FIELDS)})")
    if "address" not in entry:
        raise _Invalid(f"{field_name}.address", "missing")
    text = str(entry["address"]).strip()
    ip_text, _, inline_prefix = text.partition("/")
    ip = _ip(ip_text, f"{field_name}.address")
    prefix: int | None = None
    if inline_prefix:
        prefix = _prefix_from_netmask(inline_prefix, ip.version, f"{field_name}.address")
    if entry.get("netmask") is not None:
        from_mask = _prefix_from_netmask(entry["netmask"], ip.version, f"{field_name}.netmask")
        if prefix is not None and from_mask != prefix:
            raise _Invalid(f"{field_name}.netmask", f"{entry['netmask']} contradicts the prefix in {text}")
        prefix = from_mask
    if prefix is None:
        raise _Invalid(f"{field_name}.netmask", f"missing: give a netmask for {text} (or write it as {text}/24)")
    iface = ipaddress.ip_interface(f"{ip}/{prefix}")
    _check_host_address(iface, f"{field_name}.address")
    if entry.get("network") is not None:
        network = _ip(entry["network"], f"{field_name}.network")
        if network != iface.network.network_address:
            raise _Invalid(
                f"{field_name}.network",
                f"{network} does not match {iface} (its network is {iface.network.network_address})",
            )
    if entry.get("broadcast") is not None:
        if iface.version == 6:
            raise _Invalid(f"{field_name}.broadcast", "IPv6 has no broadcast address")
        broadcast = _ip(entry["broadcast"], f"{field_name}.broadcast")
        if broadcast != iface.network.broadcast_address:
            raise _Invalid(
                f"{field_name}.broadcast",
                f"{broadcast} does not match {iface} (its broadcast is {iface.network.broadcast_address})",
            )
    return iface


def parse_route(entry: Any, field_name: str) -> Route:
    if not isinstance(entry, Mapping):
        raise _Invalid(field_name, f"want a mapping with to, via and metric, got {_type_name(entry)}")
    unknown = sorted(set(map(str, entry)) - set(ROUTE_FIELDS))
    if unknown:
        raise _Invalid(f"{field_name}.{unknown[0]}", f"unknown field (known: {', '.join(ROUTE_FIELDS)})")
    if entry.get("to") in (None, ""):
        raise _Invalid(f"{field_name}.to", "missing (a network like 10.20.0.0/16, or default)")
    via = _ip(entry["via"], f"{field_name}.via") if entry.get("via") not in (None, "") else None
    metric = None
    if entry.get("metric") is not None:
        metric = _as_int(entry["metric"])
        if metric is None or metric > 2**32 - 1:
            raise _Invalid(f"{field_name}.metric", f"{entry['metric']!r} is not a route metric (0-4294967295)")
    to_text = str(entry["to"]).strip()
    if to_text == "default":
        if via is None:
            raise _Invalid(f"{field_name}.via", "a default route needs a gateway (via)")
        return Route(to=None, family=via.version, via=via, metric=metric)
    try:
        to = ipaddress.ip_network(to_text)
    except ValueError:
        try:
            loose = ipaddress.ip_network(to_text, strict=False)
        except ValueError:
            raise _Invalid(f"{field_name}.to", f"{to_text!r} is not a network like 10.20.0.0/16") from None
        raise _Invalid(f"{field_name}.to", f"{to_text} has host bits set; did you mean {loose}?") from None
    if "/" not in to_text:
        raise _Invalid(f"{field_name}.to", f"{to_text!r} has no prefix length (write {to_text}/32 for one host)")
    if via is not None and via.version != to.version:
        raise _Invalid(f"{field_name}.via", f"{via} is IPv{via.version} but {to} is IPv{to.version}")
    return Route(to=to, family=to.version, via=via, metric=metric)


# --- one interface ----------------------------------------------------------------------------


def _names(value: Any, field_name: str) -> list[str]:
    if not _is_list(value):
        raise _Invalid(field_name, f"want a list of interface names, got {_type_name(value)}")
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not _IFNAME.match(item):
            raise _Invalid(f"{field_name}[{index}]", f"{item!r} is not an interface name")
        out.append(item)
    return out


def _parse_fields(raw: Mapping[str, Any], iface: Interface) -> None:
    def attempt(fn: Any) -> None:
        try:
            fn()
        except _Invalid as problem:
            iface.problems.append(problem)

    for key in sorted(set(map(str, raw)) - set(FIELDS)):
        iface.problems.append(_Invalid(key, "unknown field (a typo?)"))

    def kind() -> None:
        value = raw.get("type", "ethernet")
        if value not in TYPES:
            raise _Invalid("type", f"{value!r} is not one of {', '.join(TYPES)}")
        iface.type = str(value)

    def method() -> None:
        value = raw.get("method", "loopback" if iface.name == "lo" else "static")
        if value not in METHODS:
            raise _Invalid("method", f"{value!r} is not one of {', '.join(METHODS)}")
        iface.method = str(value)

    def addresses() -> None:
        value = raw.get("addresses", [])
        if value is None:
            return
        if not _is_list(value):
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
                raise _Invalid(name, f"{raw[name]!r} is not a whole number")
            setattr(iface, name, number)

    def vlan_id() -> None:
        if raw.get("vlan_id") is None:
            return
        number = _as_int(raw["vlan_id"])
        if number is None or not 1 <= number <= 4094:
            raise _Invalid("vlan_id", f"{raw['vlan_id']!r} is not a VLAN id (1-4094)")
        iface.vlan_id = number

    def booleans() -> None:
        for name in ("auto", "allow_hotplug", "bridge_stp"):
            if raw.get(name) is None:
                continue
            value = _as_bool(raw[name])
            if value is None:
                raise _Invalid(name, f"{raw[name]!r} is not true or false")
            setattr(iface, name, value)

    def dns() -> None:
        servers = raw.get("dns_nameservers") or []
        if not _is_list(servers):
            raise _Invalid("dns_nameservers", "want a list of addresses")
        for index, text in enumerate(servers):
            try:
                server = _ip(text, f"dns_nameservers[{index}]")
            except _Invalid as problem:
                iface.problems.append(problem)
                continue
            if server.is_unspecified or server.is_multicast:
                iface.problems.append(_Invalid(f"dns_nameservers[{index}]", f"{server} cannot be a name server"))
            else:
                iface.dns_nameservers.append(server)

    def search() -> None:
        domains = raw.get("dns_search") or []
        if not _is_list(domains):
            raise _Invalid("dns_search", "want a list of domain names")
        for index, domain in enumerate(domains):
            if not isinstance(domain, str) or not _DOMAIN.match(domain):
                raise _Invalid(f"dns_search[{index}]", f"{domain!r} is not a domain name")
        iface.dns_search = [str(d) for d in domains]

    def routes() -> None:
        value = raw.get("routes") or []
        if not _is_list(value):
            raise _Invalid("routes", "want a list of {to, via, metric}")
        for index, entry in enumerate(value):
            attempt(lambda: iface.routes.append(parse_route(entry, f"routes[{index}]")))  # noqa: B023

    def members() -> None:
        if raw.get("ports") is not None:
            iface.ports = _names(raw["ports"], "ports")
        if raw.get("slaves") is not None:
            iface.slaves = _names(raw["slaves"], "slaves")
        if raw.get("link") is not None:
            link = raw["link"]
            if not isinstance(link, str) or not _IFNAME.match(link):
                raise _Invalid("link", f"{link!r} is not an interface name")
            iface.link = link

    def mode() -> None:
        if raw.get("mode") is None:
            return
        if raw["mode"] not in BOND_MODES:
            raise _Invalid("mode", f"{raw['mode']!r} is not a bond mode ({', '.join(BOND_MODES)})")
        iface.mode = str(raw["mode"])

    def options() -> None:
        value = raw.get("options") or {}
        if not isinstance(value, Mapping):
            raise _Invalid("options", "want a mapping of stanza option to value")
        for key, item in value.items():
            key_text = str(key)
            if not _OPTION_KEY.match(key_text):
                raise _Invalid(f"options.{key_text}", "not a stanza option name (lowercase letters, digits, - and _)")
            if key_text in RENDERED_OPTIONS:
                raise _Invalid(f"options.{key_text}", "set by the role from the model; use the model's own field")
            text = str(item).lower() if isinstance(item, bool) else str(item)
            if "\n" in text or "\r" in text or not text.strip():
                raise _Invalid(f"options.{key_text}", "the value must be one non-empty line")
            iface.options.append((key_text, text.strip()))

    def comment() -> None:
        if raw.get("comment") is None:
            return
        text = str(raw["comment"])
        if "\n" in text or "\r" in text:
            raise _Invalid("comment", "must be one line")
        iface.comment = text

    for step in (kind, method, addresses, gateway, integers, vlan_id, booleans, dns, search, routes, members, mode):
        attempt(step)
    attempt(options)
    attempt(comment)


def _check_semantics(raw: Mapping[str, Any], iface: Interface) -> None:
    def bad(field_name: str, what: str) -> None:
        iface.problems.append(_Invalid(field_name, what))

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


def parse_interface(raw: Any, index: int) -> Interface:
    """Parse one model entry; problems are collected on the result, never raised."""
    if not isinstance(raw, Mapping):
        iface = Interface(name="", label=f"#{index}")
        iface.problems.append(_Invalid("-", f"want a mapping with at least a name, got {_type_name(raw)}"))
        return iface
    name = raw.get("name")
    if not isinstance(name, str) or not _IFNAME.match(name):
        iface = Interface(name="", label=f"#{index}")
        what = "missing" if name in (None, "") else f"{name!r} is not an interface name (1-15 of A-Z a-z 0-9 _ . -)"
        iface.problems.append(_Invalid("name", what))
        return iface
    iface = Interface(name=name, label=name)
    _parse_fields(raw, iface)
    _check_semantics(raw, iface)
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
    if not _is_list(model):
        return [], [f"{host}: (all): network_interfaces: want a list of interfaces, got {_type_name(model)}"]
    interfaces = [parse_interface(raw, index) for index, raw in enumerate(model)]
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


# --- rendering ---------------------------------------------------------------------------------


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
    iface = parse_interface(raw, 0)
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
        iface = parse_interface(raw, 0)
        servers += [str(s) for s in iface.dns_nameservers if str(s) not in servers]
        domains += [d for d in iface.dns_search if d not in domains]
    return {"nameservers": servers[:MAX_NAMESERVERS], "search": domains}


def packages(model: Any, dhcp_client: str) -> list[str]:
    """Debian packages the model needs on top of ifupdown itself."""
    interfaces = [parse_interface(raw, 0) for raw in model or []]
    needed = ["ifupdown"]
    if any(i.type == "bridge" for i in interfaces):
        needed.append("bridge-utils")
    if any(i.type == "bond" for i in interfaces):
        needed.append("ifenslave")
    if any(i.method == "dhcp" for i in interfaces):
        needed.append(dhcp_client)
    return needed


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


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "network_inventory_errors": inventory_errors,
            "network_stanzas": stanzas,
            "network_resolver": resolver,
            "network_packages": packages,
        }
