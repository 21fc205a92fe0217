"""The collection's one address rule (alur.site module_utils/addresses.py), the plugin lockfile parser, and the
filters the roles call them through. The copies the roles and `alur` once had disagreed on link-local addresses,
interface methods and overrides; these cases pin the one answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.alur.site.plugins.module_utils import addresses, lockfile

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = str(Path(sys.executable).parent / "ansible")


def host(*interfaces: dict[str, Any], **variables: Any) -> dict[str, Any]:
    return {
        "inventory_hostname": "logs",
        "ansible_host": "10.88.0.5",
        "network_interfaces": list(interfaces),
        **variables,
    }


# --- the peer address ------------------------------------------------------------------------------------------


def test_ipv4_of_a_static_interface_comes_first_whatever_the_order() -> None:
    eth1 = {"name": "eth1", "addresses": ["fd10::5/64", {"address": "192.168.10.5", "netmask": "255.255.255.0"}]}
    assert addresses.peer_address(host(eth1)) == "192.168.10.5"


def test_link_local_is_never_the_peer_address() -> None:
    """An IPv6 host whose first address is link-local: the global one (a link-local address needs a zone index
    and is reachable on one link only)."""
    eth0 = {"name": "eth0", "addresses": ["fe80::5/64", "fd10::5/64"]}
    assert addresses.peer_address(host(eth0)) == "fd10::5"
    ipv4_link_local = {"name": "eth0", "addresses": ["169.254.10.5/16", "fd10::5/64"]}
    assert addresses.peer_address(host(ipv4_link_local)) == "fd10::5"
    only_link_local = {"name": "eth0", "addresses": ["fe80::5/64"]}
    assert addresses.peer_address(host(only_link_local)) == "10.88.0.5", "no usable address: ansible_host"


def test_loopback_is_skipped() -> None:
    lo = {"name": "lo", "addresses": ["127.0.0.1/8", "::1/128"]}
    dummy = {"name": "dummy0", "method": "static", "addresses": ["127.0.0.2/8"]}
    eth0 = {"name": "eth0", "addresses": ["192.168.10.5/24"]}
    assert addresses.peer_address(host(lo, dummy, eth0)) == "192.168.10.5"


@pytest.mark.parametrize("method", ["dhcp", "manual", "loopback"])
def test_interfaces_without_a_static_method_offer_nothing(method: str) -> None:
    other = {"name": "eth0", "method": method, "addresses": ["192.168.20.5/24"]}
    static = {"name": "eth1", "addresses": ["fd10::5/64"]}
    assert addresses.peer_address(host(other, static)) == "fd10::5"
    assert addresses.peer_address(host(other)) == "10.88.0.5"


def test_the_override_the_caller_names_wins() -> None:
    eth0 = {"name": "eth0", "addresses": ["192.168.10.5/24"]}
    given = host(eth0, elasticstack_host_address="192.168.99.1")
    assert addresses.peer_address(given, "elasticstack_host_address") == "192.168.99.1"
    assert addresses.peer_address(given) == "192.168.10.5", "an override only counts when the caller names it"
    empty = host(eth0, elasticstack_host_address="")
    assert addresses.peer_address(empty, "elasticstack_host_address") == "192.168.10.5", "empty means unset"


def test_without_a_model_ansible_host_then_the_inventory_name() -> None:
    assert addresses.peer_address({"inventory_hostname": "logs", "ansible_host": "10.88.0.5"}) == "10.88.0.5"
    assert addresses.peer_address({"inventory_hostname": "logs"}) == "logs"
    assert addresses.peer_address({"inventory_hostname": "logs", "network_interfaces": None}) == "logs"
    broken = {"name": "eth0", "addresses": ["not-an-address", {"netmask": "255.0.0.0"}]}
    assert addresses.peer_address(host(broken)) == "10.88.0.5", "entries that do not parse are not candidates"


def test_peer_addresses_keep_the_order_given() -> None:
    hostvars = {
        "a": host({"name": "eth0", "addresses": ["192.168.10.2/24"]}),
        "b": {"inventory_hostname": "b", "ansible_host": "10.88.0.3", "elasticstack_host_address": "192.168.99.3"},
    }
    assert addresses.peer_addresses(hostvars, ["b", "a"]) == ["10.88.0.3", "192.168.10.2"]
    assert addresses.peer_addresses(hostvars, ["b", "a"], "elasticstack_host_address") == [
        "192.168.99.3",
        "192.168.10.2",
    ]


def test_interface_addresses_list_everything_an_interface_names() -> None:
    """What `alur check` compares for duplicates: every listed address, usable or not."""
    listed = {"name": "eth0", "method": "dhcp", "addresses": ["fe80::1/64", {"address": "fd10::1"}, "bad", None]}
    assert [str(a) for a in addresses.interface_addresses(listed)] == ["fe80::1", "fd10::1"]


# --- the forms an address takes -------------------------------------------------------------------------------


def test_url_host_brackets_ipv6_only() -> None:
    assert addresses.url_host("fd10::5") == "[fd10::5]"
    assert addresses.url_host("192.168.10.5") == "192.168.10.5"
    assert addresses.url_host("logs.example.org") == "logs.example.org"


def test_firewall_sources_are_sorted_single_host_networks() -> None:
    assert addresses.host_cidrs(["192.168.10.21", "fd10::5", "192.168.10.21"]) == ["192.168.10.21/32", "fd10::5/128"]


def test_subject_alt_names_carry_the_address_and_each_name_once() -> None:
    assert addresses.subject_alt_names("192.168.10.5", ["logs", "logs", "", "logs.example.org"]) == [
        "IP:192.168.10.5",
        "DNS:logs",
        "DNS:logs.example.org",
    ]
    assert addresses.subject_alt_names("logs", ["logs"]) == ["DNS:logs"]


def test_not_ip_and_invalid_networks() -> None:
    assert addresses.not_ip(["192.168.10.1", "fd10::1", "logs.example.org", "10.0.0.0/8"]) == [
        "logs.example.org",
        "10.0.0.0/8",
    ]
    values = ["10.0.0.0/8", "192.168.10.5", "fd10::/64", "10.0.0.1/24", "10.0.0.0/33", "x", ""]
    assert addresses.invalid_networks(values) == ["10.0.0.0/33", "x", ""]
    assert addresses.invalid_networks(None) == []


# --- the plugin lockfile --------------------------------------------------------------------------------------


def test_lockfile_reads_ids_versions_and_comments() -> None:
    text = "# top\nstructs:362.va_b_695ef4fdf9\n\njob-dsl:3732.v9a_c49a_61a_313  # why\n"
    assert lockfile.parse(text) == [
        {"id": "structs", "version": "362.va_b_695ef4fdf9"},
        {"id": "job-dsl", "version": "3732.v9a_c49a_61a_313"},
    ]
    assert lockfile.pins(text) == {"structs": "362.va_b_695ef4fdf9", "job-dsl": "3732.v9a_c49a_61a_313"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("structs\n", r"^plugins\.lock:1: expected id:version, got 'structs'$"),
        ("a:1\n# b\nb:2 x\n", r"^plugins\.lock:3: expected id:version, got 'b:2 x'$"),
        ("a:1\nb:2\na:3\n", r"^plugins\.lock:3: a is listed twice$"),
    ],
)
def test_lockfile_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(lockfile.LockfileError, match=message):
        lockfile.parse(text)


def test_lockfile_errors_name_the_file_given() -> None:
    with pytest.raises(lockfile.LockfileError, match=r"^files/plugins\.lock:2: "):
        lockfile.pins("a:1\nnope\n", "files/plugins.lock")


# --- the filters, as the roles call them ------------------------------------------------------------------------


def test_the_roles_reach_the_rule_through_the_collections_filters(tmp_path: Path) -> None:
    """Ansible, configured as the project configures it, finds alur.site's filters by their full names (also in
    map()), and they answer as the module_utils do."""
    inventory = {
        "all": {
            "hosts": {
                "ipv6": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable,
                    "network_interfaces": [{"name": "eth0", "addresses": ["fe80::5/64", "fd10::5/64"]}],
                },
                "named": {"elasticstack_host_address": "192.168.99.1"},
            }
        }
    }
    (tmp_path / "hosts.json").write_text(json.dumps(inventory))
    expression = (
        "{{ {'self': hostvars[inventory_hostname] | alur.site.peer_address,"
        " 'urls': hostvars | alur.site.peer_addresses(['ipv6', 'named'], 'elasticstack_host_address')"
        " | map('alur.site.url_host') | list,"
        " 'cidrs': ['fd10::5'] | alur.site.host_cidrs,"
        " 'bad': ['10.0.0.0/33', '10.0.0.0/8'] | alur.site.invalid_networks,"
        " 'lock': 'a:1' | alur.site.plugin_lockfile} | to_json }}"
    )
    result = _debug(tmp_path, expression, "ipv6", str(tmp_path / "hosts.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(json.loads(result.stdout.split("=>", 1)[1])["msg"]) == {
        "self": "fd10::5",
        "urls": ["[fd10::5]", "192.168.99.1"],
        "cidrs": ["fd10::5/128"],
        "bad": ["10.0.0.0/33"],
        "lock": [{"id": "a", "version": "1"}],
    }


def test_a_malformed_lockfile_fails_the_filter_naming_the_line(tmp_path: Path) -> None:
    expression = "{{ 'a:1\\nb' | alur.site.plugin_lockfile('files/plugins.lock') }}"
    result = _debug(tmp_path, expression, "localhost", "localhost,")
    assert result.returncode != 0
    assert "files/plugins.lock:2: expected id:version" in result.stdout + result.stderr


def _debug(folder: Path, expression: str, host: str, inventory: str) -> subprocess.CompletedProcess[str]:
    """`ansible HOST -m debug -a msg=EXPRESSION` with the project's ansible.cfg (which finds alur.site)."""
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FACT_CACHING="memory",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
    )
    command = [ANSIBLE, host, "-i", inventory, "-m", "ansible.builtin.debug", "-a", f"msg={expression}"]
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=folder, env=env, timeout=120)
