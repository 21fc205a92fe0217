"""The network model (alur.site's module_utils/network): what it rejects (and says), what it accepts, and the
stanzas it renders.

BAD_MODELS (cases_network_model.py) is also run against real hosts by tests/integration/test_network_bad_input.py.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.alur.site.plugins.module_utils.network import render, validate
from cases_network_model import BAD_MODELS, GOOD_A, GOOD_B

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("models", "message"), BAD_MODELS)
def test_bad_model_is_rejected_with_its_message(models: dict[str, Any], message: str) -> None:
    errors = validate.validate_inventory(copy.deepcopy(models))
    assert message in errors, "\n".join(errors)


def test_there_are_at_least_twenty_bad_models() -> None:
    assert len(BAD_MODELS) >= 20
    assert len({p.id for p in BAD_MODELS}) == len(BAD_MODELS)


def test_every_error_names_host_interface_and_field() -> None:
    for param in BAD_MODELS:
        models, _ = param.values
        for error in validate.validate_inventory(copy.deepcopy(models)):
            host, interface, field, what = error.split(": ", 3)
            assert host in models and interface and field and what


def test_the_good_models_pass() -> None:
    assert validate.validate_inventory({"a": GOOD_A, "b": GOOD_B}) == []


def test_hosts_without_a_model_are_not_managed() -> None:
    assert validate.validate_inventory({"a": None, "b": [], "c": GOOD_A}) == []


def test_a_rich_valid_model_passes() -> None:
    host = [
        {"name": "lo"},
        {"name": "eth0", "method": "dhcp", "metric": 100, "addresses": ["fd00::5/64"]},
        {"name": "eth1", "method": "manual", "mtu": 9000},
        {"name": "eth2", "method": "manual"},
        {"name": "bond0", "type": "bond", "slaves": ["eth1", "eth2"], "mode": "802.3ad", "method": "manual"},
        {
            "name": "br0",
            "type": "bridge",
            "ports": ["bond0"],
            "addresses": [
                {"address": "192.168.10.20", "netmask": "255.255.255.0", "network": "192.168.10.0"},
                "192.168.10.21/24",
                {"address": "2001:db8:10::20", "netmask": 64},
            ],
            "gateway": "192.168.10.1",
            "dns_nameservers": ["192.168.10.1", "2001:db8:10::1"],
            "dns_search": ["example.org"],
            "routes": [{"to": "default", "via": "2001:db8:10::1"}, {"to": "10.0.0.0/8", "via": "192.168.10.254"}],
            "options": {"bridge_fd": 0},
        },
        {"name": "br0.70", "type": "vlan", "link": "br0", "vlan_id": 70, "addresses": ["10.70.0.20/24"]},
    ]
    assert validate.validate_inventory({"srv": host}) == []


def test_classic_stanza_is_rendered_with_all_four_lines() -> None:
    rendered = render.stanzas(
        {
            "name": "eth1",
            "addresses": ["192.168.10.20/24", "192.168.10.21/24", "fd00::20/64"],
            "gateway": "192.168.10.1",
            "metric": 200,
            "mtu": 1400,
            "dns_nameservers": ["192.168.10.1"],
            "dns_search": ["alur.test"],
            "routes": [{"to": "10.9.0.0/16", "via": "192.168.10.2", "metric": 5}],
        }
    )
    assert rendered["auto"] and not rendered["allow_hotplug"]
    assert [(s["family"], s["method"]) for s in rendered["stanzas"]] == [
        ("inet", "static"),
        ("inet", "static"),
        ("inet6", "static"),
    ]
    assert rendered["stanzas"][0]["options"] == [
        ["address", "192.168.10.20"],
        ["netmask", "255.255.255.0"],
        ["network", "192.168.10.0"],
        ["broadcast", "192.168.10.255"],
        ["gateway", "192.168.10.1"],
        ["metric", "200"],
        ["mtu", "1400"],
        ["dns-nameservers", "192.168.10.1"],
        ["dns-search", "alur.test"],
        ["up", "ip route replace 10.9.0.0/16 via 192.168.10.2 dev eth1 metric 5"],
    ]
    assert rendered["stanzas"][1]["options"][0] == ["address", "192.168.10.21"]
    assert rendered["stanzas"][2]["options"] == [["address", "fd00::20"], ["netmask", "64"]]


def test_bridge_bond_and_vlan_lines() -> None:
    bridge = render.stanzas({"name": "br0", "type": "bridge", "ports": [], "method": "manual"})
    assert bridge["stanzas"][0]["options"] == [["bridge_ports", "none"], ["bridge_stp", "off"]]
    bond = render.stanzas({"name": "bond0", "type": "bond", "slaves": ["eth1", "eth2"], "method": "manual"})
    assert ["bond-slaves", "eth1 eth2"] in bond["stanzas"][0]["options"]
    assert ["bond-mode", "active-backup"] in bond["stanzas"][0]["options"]
    vlan = render.stanzas({"name": "eth1.70", "type": "vlan", "link": "eth1", "vlan_id": 70, "method": "manual"})
    assert vlan["stanzas"][0]["options"] == [["vlan-raw-device", "eth1"]]


def test_rendering_refuses_an_unvalidated_model() -> None:
    with pytest.raises(ValueError, match="gateway"):
        render.stanzas({"name": "eth1", "addresses": ["192.168.10.20/24"], "gateway": "10.0.0.1"})


def test_resolver_merges_in_order_and_keeps_three() -> None:
    resolver = render.resolver(
        [
            {"name": "eth1", "addresses": ["192.168.10.20/24"], "dns_nameservers": ["192.168.10.1", "192.168.10.2"]},
            {
                "name": "eth2",
                "addresses": ["192.168.11.20/24"],
                "dns_nameservers": ["192.168.10.2", "192.168.11.1"],
                "dns_search": ["b.test", "a.test"],
            },
        ]
    )
    assert resolver == {"nameservers": ["192.168.10.1", "192.168.10.2", "192.168.11.1"], "search": ["b.test", "a.test"]}


def test_packages_follow_the_model() -> None:
    assert render.packages(GOOD_A, "dhcpcd-base") == ["ifupdown"]
    rich = [
        {"name": "eth1", "method": "dhcp"},
        {"name": "eth2", "method": "manual"},
        {"name": "br0", "type": "bridge", "ports": ["eth2"], "method": "manual"},
    ]
    assert render.packages(rich, "isc-dhcp-client") == ["ifupdown", "bridge-utils", "isc-dhcp-client"]


def test_inventory_errors_prefers_the_model_each_host_published() -> None:
    hostvars = {
        "a": {"network_interfaces": "ignored", "__network_model": GOOD_A},
        "b": {"network_interfaces": GOOD_A},
        "c": {},
    }
    assert validate.inventory_errors(hostvars, ["a", "b", "c"]) == [
        "b: eth1: addresses[0]: 192.168.60.10 is already used by a eth1"
    ]


def test_lab_inventory_models_are_valid_and_static() -> None:
    host_vars = ROOT / "inventory" / "lab" / "host_vars"
    models = {
        p.stem: (yaml.safe_load(p.read_text()) or {}).get("network_interfaces") for p in sorted(host_vars.glob("*.yml"))
    }
    assert {"app1", "app2", "ci", "logs"} <= {host for host, model in models.items() if model}
    assert validate.validate_inventory(models) == []
    for interfaces in models.values():
        assert [i["name"] for i in interfaces or []] in ([], ["eth1"]), "eth0 (management) stays podman's"
        assert all(i.get("gateway") is None and not i.get("dns_nameservers") for i in interfaces or [])


def test_molecule_models_are_valid() -> None:
    scenario = yaml.safe_load((ROOT / "molecule" / "network" / "molecule.yml").read_text())
    host_vars = scenario["provisioner"]["inventory"]["host_vars"]
    assert validate.validate_inventory({h: v["network_interfaces"] for h, v in host_vars.items()}) == []
