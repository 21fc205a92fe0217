"""The network model's vocabulary: the fields an interface may have, the limits, and the parsed types.

A model is a list of interfaces per host (`network_interfaces`). `parse` turns each entry into an
`Interface`, `validate` checks one interface and then the whole inventory, `render` turns a valid
interface into the stanzas ifupdown reads. Every error reads "<host>: <interface>: <field>: <what is wrong>".
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

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
IFNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")
OPTION_KEY = re.compile(r"^[a-z][a-z0-9_-]*$")
TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0"}


class Invalid(ValueError):
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
    problems: list[Invalid] = field(default_factory=list)

    def subnets(self, family: int) -> list[IPNetwork]:
        return [a.network for a in self.addresses if a.version == family]

    def families(self) -> set[int]:
        return {a.version for a in self.addresses}

    @property
    def members(self) -> list[str]:
        """The interfaces this one is built on: bridge ports, bond slaves, the VLAN's raw device."""
        return [*self.ports, *self.slaves, *([self.link] if self.link else [])]
