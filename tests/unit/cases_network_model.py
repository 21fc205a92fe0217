"""Bad network models, shared by two tests: tests/unit/test_network_model.py (the model rejects each, with its
message) and tests/integration/test_network_bad_input.py (the role rejects each on real hosts, changing none)."""

from __future__ import annotations

from typing import Any

import pytest

# Two hosts, a and b, on 192.168.60.0/24. b's model is valid in every case (and differs from
# what the integration test converges first), so a run that got past validation would change b.
GOOD_A = [{"name": "eth1", "addresses": ["192.168.60.10/24"]}]
GOOD_B = [{"name": "eth1", "addresses": ["192.168.60.12/24"]}]


def case(case_id: str, a: Any, message: str, b: Any = None) -> Any:
    return pytest.param({"a": a, "b": GOOD_B if b is None else b}, message, id=case_id)


def eth1(**fields: Any) -> dict[str, Any]:
    return {"name": "eth1", "addresses": ["192.168.60.10/24"], **fields}


BAD_MODELS = [
    case("name-missing", [{"addresses": ["192.168.60.10/24"]}], "a: #0: name: missing"),
    case(
        "name-too-long",
        [{"name": "eth-name-too-long", "addresses": ["192.168.60.10/24"]}],
        "a: #0: name: 'eth-name-too-long' is not an interface name (1-15 of A-Z a-z 0-9 _ . -)",
    ),
    case("name-twice", [eth1(), eth1()], "a: eth1: name: listed twice on this host"),
    case(
        "unknown-field",
        [{"name": "eth1", "adresses": ["192.168.60.10/24"]}],
        "a: eth1: adresses: unknown field (a typo?)",
    ),
    case(
        "bad-method",
        [eth1(method="static4")],
        "a: eth1: method: 'static4' is not one of static, dhcp, manual, loopback",
    ),
    case("static-without-address", [{"name": "eth1"}], "a: eth1: addresses: method static needs at least one address"),
    case(
        "address-without-prefix",
        [eth1(addresses=["192.168.60.10"])],
        "a: eth1: addresses[0]: '192.168.60.10' has no prefix length: "
        "write 192.168.60.10/24 (or a mapping with address and netmask)",
    ),
    case(
        "malformed-address",
        [eth1(addresses=["192.168.60.300/24"])],
        "a: eth1: addresses[0]: '192.168.60.300/24' is not an address with a prefix length, like 192.168.10.20/24",
    ),
    case(
        "prefix-out-of-range",
        [eth1(addresses=[{"address": "192.168.60.10", "netmask": 33}])],
        "a: eth1: addresses[0].netmask: prefix length 33 is out of range for IPv4",
    ),
    case(
        "network-address",
        [eth1(addresses=["192.168.60.0/24"])],
        "a: eth1: addresses[0]: 192.168.60.0/24 is the network address of 192.168.60.0/24, not a host address",
    ),
    case(
        "broadcast-address",
        [eth1(addresses=["192.168.60.255/24"])],
        "a: eth1: addresses[0]: 192.168.60.255/24 is the broadcast address of 192.168.60.0/24, not a host address",
    ),
    case(
        "netmask-not-contiguous",
        [eth1(addresses=[{"address": "192.168.60.10", "netmask": "255.0.255.0"}])],
        "a: eth1: addresses[0].netmask: '255.0.255.0' is not a netmask (want e.g. 255.255.255.0 or 24)",
    ),
    case(
        "network-inconsistent",
        [eth1(addresses=[{"address": "192.168.60.10", "netmask": "255.255.255.0", "network": "192.168.61.0"}])],
        "a: eth1: addresses[0].network: 192.168.61.0 does not match 192.168.60.10/24 (its network is 192.168.60.0)",
    ),
    case(
        "broadcast-inconsistent",
        [eth1(addresses=[{"address": "192.168.60.10/24", "broadcast": "192.168.60.127"}])],
        "a: eth1: addresses[0].broadcast: 192.168.60.127 does not match 192.168.60.10/24 "
        "(its broadcast is 192.168.60.255)",
    ),
    case(
        "gateway-outside-subnet",
        [eth1(gateway="192.168.61.1")],
        "a: eth1: gateway: 192.168.61.1 is not inside eth1's subnets (192.168.60.0/24)",
    ),
    case(
        "gateway-wrong-family",
        [eth1(gateway="fd60::1")],
        "a: eth1: gateway: fd60::1 is not inside eth1's subnets (no IPv6)",
    ),
    case(
        "two-default-gateways",
        [
            eth1(gateway="192.168.60.1"),
            {"name": "eth2", "addresses": ["192.168.61.10/24"], "gateway": "192.168.61.1"},
        ],
        "a: eth2: gateway: a second IPv4 default gateway (192.168.61.1); eth1 (192.168.60.1) already has one "
        "and a host has at most one per family",
    ),
    case(
        "address-used-by-another-host",
        [eth1(addresses=["192.168.60.12/24"])],
        "b: eth1: addresses[0]: 192.168.60.12 is already used by a eth1",
    ),
    case(
        "address-used-twice-on-a-host",
        [eth1(), {"name": "eth2", "addresses": [{"address": "192.168.60.10", "netmask": 16}]}],
        "a: eth2: addresses[0]: 192.168.60.10 is already used by eth1 on this host",
    ),
    case(
        "subnet-on-two-interfaces",
        [eth1(), {"name": "eth2", "addresses": ["192.168.60.20/24"]}],
        "a: eth2: addresses: subnet 192.168.60.0/24 is also on eth1; one subnet belongs on one interface",
    ),
    case(
        "dns-server-invalid",
        [eth1(dns_nameservers=["192.168.60.999"])],
        "a: eth1: dns_nameservers[0]: '192.168.60.999' is not an IPv4 or IPv6 address",
    ),
    case(
        "dns-too-many-servers",
        [eth1(dns_nameservers=["192.168.60.1", "192.168.60.2", "192.168.60.3", "192.168.60.4"])],
        "a: eth1: dns_nameservers: more than 3 name servers on this host (the resolver reads only 3)",
    ),
    case(
        "dns-search-invalid",
        [eth1(dns_search=["exa mple.test"])],
        "a: eth1: dns_search[0]: 'exa mple.test' is not a domain name",
    ),
    case("mtu-too-big", [eth1(mtu=10000)], "a: eth1: mtu: 10000 is outside 68-9216"),
    case(
        "mtu-too-small-for-ipv6",
        [eth1(addresses=["192.168.60.10/24", "fd60::10/64"], mtu=1200)],
        "a: eth1: mtu: 1200 is outside 1280-9216 (the interface has IPv6 addresses)",
    ),
    case(
        "vlan-id-out-of-range",
        [eth1(), {"name": "eth1.4095", "type": "vlan", "link": "eth1", "vlan_id": 4095, "method": "manual"}],
        "a: eth1.4095: vlan_id: 4095 is not a VLAN id (1-4094)",
    ),
    case(
        "vlan-link-not-in-model",
        [eth1(), {"name": "eth2.70", "type": "vlan", "link": "eth2", "vlan_id": 70, "addresses": ["10.70.0.1/24"]}],
        "a: eth2.70: link: eth2 is not in this host's network_interfaces",
    ),
    case(
        "vlan-name-mismatch",
        [eth1(), {"name": "vlan70", "type": "vlan", "link": "eth1", "vlan_id": 70, "addresses": ["10.70.0.1/24"]}],
        "a: vlan70: name: a VLAN is named <link>.<vlan_id>, here eth1.70",
    ),
    case(
        "bridge-port-not-in-model",
        [{"name": "br0", "type": "bridge", "ports": ["eth2"], "addresses": ["192.168.60.10/24"]}],
        "a: br0: ports[0]: eth2 is not in this host's network_interfaces",
    ),
    case(
        "bridge-port-with-address",
        [eth1(), {"name": "br0", "type": "bridge", "ports": ["eth1"], "addresses": ["192.168.61.10/24"]}],
        "a: br0: ports[0]: eth1 must be method manual with no addresses (its addresses go here)",
    ),
    case(
        "bond-without-slaves",
        [{"name": "bond0", "type": "bond", "addresses": ["192.168.60.10/24"]}],
        "a: bond0: slaves: a bond needs at least one slave",
    ),
    case(
        "bond-mode-unknown",
        [
            {"name": "eth2", "method": "manual"},
            {"name": "bond0", "type": "bond", "slaves": ["eth2"], "mode": "lacp", "addresses": ["192.168.60.10/24"]},
        ],
        "a: bond0: mode: 'lacp' is not a bond mode "
        "(balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb)",
    ),
    case(
        "route-via-outside-subnet",
        [eth1(routes=[{"to": "10.20.0.0/16", "via": "192.168.61.1"}])],
        "a: eth1: routes[0].via: 192.168.61.1 is not inside eth1's subnets",
    ),
    case(
        "route-with-host-bits",
        [eth1(routes=[{"to": "10.0.0.1/8", "via": "192.168.60.1"}])],
        "a: eth1: routes[0].to: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?",
    ),
    case(
        "auto-and-hotplug",
        [eth1(allow_hotplug=True)],
        "a: eth1: allow_hotplug: choose auto or allow_hotplug, not both",
    ),
    case("not-a-list", "eth1", "a: (all): network_interfaces: want a list of interfaces, got str"),
    case(
        "option-overrides-the-model",
        [eth1(options={"address": "192.168.60.99"})],
        "a: eth1: options.address: set by the role from the model; use the model's own field",
    ),
    case(
        "field-of-another-type",
        [eth1(ports=["eth2"])],
        "a: eth1: ports: only for type bridge (this interface is type ethernet)",
    ),
]
