"""The Elastic roles without a host: their filters, bad input refused by argument_specs naming host and
variable, and the Elastic checks of `alur status`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

# The heap rule, what only the Elastic roles need (roles/elasticstack/filter_plugins, on pytest's pythonpath).
import elasticstack_filters as filters
import pytest
import yaml
from ansible_collections.alur.site.plugins.module_utils import addresses

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("elasticstack", "elasticsearch", "logstash", "kibana", "filebeat")
OVERRIDE = "elasticstack_host_address"


# --- addresses, firewall sources, certificates, heap -------------------------------------------


def test_address_comes_from_the_inventory_model_never_from_facts() -> None:
    host = {
        "inventory_hostname": "logs",
        "ansible_host": "10.88.0.5",
        "ansible_default_ipv4": {"address": "10.88.0.5"},
        "network_interfaces": [
            {"name": "eth0", "method": "dhcp"},
            {"name": "eth1", "addresses": ["fd10::5/64", {"address": "192.168.10.5", "netmask": "255.255.255.0"}]},
        ],
    }
    assert addresses.peer_address(host, OVERRIDE) == "192.168.10.5", "IPv4 of a static interface first"
    assert addresses.peer_address({**host, OVERRIDE: "192.168.99.1"}, OVERRIDE) == "192.168.99.1"
    assert addresses.peer_address({"ansible_host": "10.88.0.5"}, OVERRIDE) == "10.88.0.5", "until the model exists"
    six = {"network_interfaces": [{"name": "eth1", "addresses": ["fe80::5/64", "fd10::5/64"]}], "ansible_host": "x"}
    assert addresses.peer_address(six, OVERRIDE) == "fd10::5", "never the link-local one"


def test_every_elastic_address_honours_the_override() -> None:
    """Every place the Elastic roles ask for a host's address names elasticstack_host_address, so one override
    moves the host's bind address, its certificate, its peers' URLs and their firewall rules together."""
    call = re.compile(r"\|\s*alur\.site\.peer_address(?:es)?(\((?:[^()]|\([^()]*\))*\))?")
    calls = [
        (str(path.relative_to(ROOT)), match.group(0))
        for role in ROLES
        for path in sorted((ROOT / "roles" / role).rglob("*"))
        if path.suffix in (".yml", ".j2")
        for match in call.finditer(path.read_text())
    ]
    assert len(calls) >= 8, calls
    assert [c for c in calls if f"'{OVERRIDE}'" not in c[1]] == []


def test_status_checks_use_the_same_rule_and_override() -> None:
    """`alur status` asks the host's variables (the context templates them) and falls back to the address it
    reaches the host on (10.88.0.5 in Context)."""
    from alur.service_checks import static_address

    def address(variables: dict[str, Any], override: str | None = OVERRIDE) -> str:
        return static_address(Context({}, variables), override)  # type: ignore[arg-type]

    model = {"network_interfaces": [{"name": "eth1", "addresses": ["fe80::5/64", "fd10::5/64"]}]}
    assert address(model) == "fd10::5"
    assert address({**model, OVERRIDE: "192.168.99.1"}) == "192.168.99.1"
    assert address({OVERRIDE: "192.168.99.1"}, None) == "10.88.0.5", "no override named: none used"
    assert address({}) == "10.88.0.5"


def test_firewall_sources_and_certificate_names() -> None:
    assert addresses.host_cidrs(["192.168.10.21", "fd10::5", "192.168.10.21"]) == ["192.168.10.21/32", "fd10::5/128"]
    assert addresses.not_ip(["192.168.10.1", "logs.example.org"]) == ["logs.example.org"]
    assert addresses.invalid_networks(["10.0.0.0/8", "10.0.0.0/33", "x"]) == ["10.0.0.0/33", "x"]
    assert addresses.subject_alt_names("192.168.10.5", ["logs", "logs", "logs.example.org"]) == [
        "IP:192.168.10.5",
        "DNS:logs",
        "DNS:logs.example.org",
    ]
    assert addresses.url_host("fd10::5") == "[fd10::5]"


@pytest.mark.parametrize(
    ("value", "memory", "expected"),
    [("512m", 0, 512), ("2g", 0, 2048), ("", 4096, 2048), ("", 200000, 31744), ("", 256, 256)],
)
def test_heap_is_explicit_or_half_the_ram_within_bounds(value: str, memory: int, expected: int) -> None:
    assert filters.elasticstack_heap_mb(value, memory, 0.5, 256, 31744) == expected


# --- bad input: refused by argument_specs, naming host and variable ----------------------------

# One bad variable per host; each would reach a different role's validation first.
BAD_INPUT = {
    "bad-stack": ("elasticstack_profile", "staging"),
    "bad-es": ("elasticsearch_health_timeout", "soon"),
    "bad-logstash": ("logstash_api_port", "http"),
    "bad-kibana": ("kibana_behind_proxy", "perhaps"),
    "bad-filebeat": ("filebeat_service_logs", [{"paths": ["/var/log/x.log"]}]),
}


@pytest.fixture(scope="module")
def bad_input_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """One ansible-playbook run of the five roles on local hosts, each host with one bad variable. Only the
    argument_specs validation runs (Ansible tags it `always`; nothing else carries the tag given)."""
    folder = tmp_path_factory.mktemp("elastic-bad-input")
    hosts = {
        name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, variable: value}
        for name, (variable, value) in BAD_INPUT.items()
    }
    groups = ("elasticsearch", "logstash", "kibana", "filebeat")
    inventory = {"all": {"children": {group: {"hosts": {name: None for name in hosts}} for group in groups}}}
    inventory["all"]["hosts"] = hosts
    (folder / "hosts.yml").write_text(yaml.safe_dump(inventory))
    play = [{"name": "Elastic roles", "hosts": "all", "gather_facts": False, "roles": list(ROLES)}]
    (folder / "play.yml").write_text(yaml.safe_dump(play))
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FACT_CACHING="memory",
    )
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(folder / "hosts.yml"),
            str(folder / "play.yml"),
            "--tags",
            "alur_only_argument_validation",
            # A task someone tags `always` later would run here, on this machine: never for real.
            "--check",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=folder,
        env=env,
        timeout=300,
    )


@pytest.mark.parametrize("host", sorted(BAD_INPUT))
def test_bad_input_fails_naming_host_and_variable(bad_input_run: subprocess.CompletedProcess[str], host: str) -> None:
    out = bad_input_run.stdout
    assert bad_input_run.returncode == 2, out[-3000:]
    variable = BAD_INPUT[host][0]
    # The failure line of this host, up to the next task or host line.
    match = re.search(
        rf"^fatal: \[{re.escape(host)}\]: FAILED!.*?(?=^(?:fatal|ok|changed|TASK|PLAY)\b)", out, re.M | re.S
    )
    assert match, f"{host} did not fail:\n{out[-3000:]}"
    # Only the errors, not the spec Ansible prints after them (which names every variable of the role).
    errors = match.group(0).split("argument_errors:", 1)[-1].split("argument_spec_data:", 1)[0]
    assert "argument_errors:" in match.group(0) and variable in errors, match.group(0)[:2000]
    for other, _ in BAD_INPUT.values():
        assert other == variable or other not in errors, f"{host} failed on {other}, not on its own {variable}"


def test_bad_input_changes_nothing(bad_input_run: subprocess.CompletedProcess[str]) -> None:
    recap = bad_input_run.stdout.split("PLAY RECAP", 1)[-1]
    for host in BAD_INPUT:
        line = next(line for line in recap.splitlines() if line.startswith(host))
        assert re.search(r"changed=0\b", line) and re.search(r"failed=1\b", line), line


# --- alur status ---------------------------------------------------------------------------------


class Result:
    def __init__(self, stdout: str = "", rc: int = 0) -> None:
        self.stdout, self.rc, self.stderr = stdout, rc, ""


class Context:
    """A ServiceContext double: answers each command by the first pattern it contains."""

    def __init__(self, answers: dict[str, Result], variables: dict[str, Any] | None = None) -> None:
        self.answers, self.vars = answers, variables or {}
        self.connection = type("Connection", (), {"address": "10.88.0.5"})()
        self.commands: list[str] = []

    def run(self, command: str, sudo: bool = False) -> Result:
        self.commands.append(command)
        return next((r for pattern, r in self.answers.items() if pattern in command), Result("", 1))

    def variables(self, name: str, default: Any = None) -> Any:
        return self.vars.get(name, default)


def http(body: str, status: int = 200) -> Result:
    return Result(f"{body}\n{status}")


def elastic_checks() -> ModuleType:
    from alur.service_checks import elastic

    return elastic


MODEL = {"network_interfaces": [{"name": "eth1", "addresses": ["192.168.10.5/24"]}]}


def test_status_elasticsearch_reads_health_from_its_log_without_credentials() -> None:
    context = Context(
        {
            "dpkg-query": Result("9.5.6"),
            "is-active": Result("active"),
            "https://192.168.10.5:9200/": http('{"error": "missing authentication"}', 401),
            "grep -h": Result("[2026-11-22] Cluster health status changed from [YELLOW] to [GREEN] (reason)"),
        },
        MODEL,
    )
    health = elastic_checks().elasticsearch(context)
    assert health.up and health.version == "9.5.6" and health.url == "https://192.168.10.5:9200"
    assert "cluster green" in health.detail
    assert not any("-u " in c or "elastic:" in c for c in context.commands), "no credentials on a command line"


def test_status_elasticsearch_down_when_it_does_not_answer() -> None:
    context = Context({"dpkg-query": Result("9.5.6"), "is-active": Result("active"), "curl": Result("", 7)}, MODEL)
    health = elastic_checks().elasticsearch(context)
    assert not health.up and "answered nothing" in health.detail


def test_status_logstash_pipeline_and_filebeat_publish() -> None:
    logstash = Context(
        {
            "dpkg-query": Result("1:9.5.6-1"),
            "is-active": Result("active"),
            "_node/stats/pipelines/alur-beats": http('{"pipelines": {"alur-beats": {"events": {"out": 42}}}}'),
        }
    )
    health = elastic_checks().logstash(logstash)
    assert health.up and health.version == "9.5.6" and "42 events out" in health.detail
    filebeat = Context(
        {
            "dpkg-query": Result("9.5.6"),
            "is-active": Result("active"),
            "/stats": http('{"libbeat": {"output": {"events": {"acked": 7, "failed": 0}}}}'),
            "journalctl": Result('2026-11-22T07:00:00+0000 host filebeat[1]: {"acked": 7}'),
        }
    )
    health = elastic_checks().filebeat(filebeat)
    assert health.up and "7 events acknowledged" in health.detail and "2026-11-22T07:00:00" in health.detail


def test_status_kibana_behind_the_proxy_and_standins_named() -> None:
    context = Context(
        {
            "dpkg-query": Result("9.5.6+standin"),
            "is-active": Result("active"),
            "http://127.0.0.1:5601/api/status": http('{"status": {"overall": {"level": "available"}}}'),
        },
        MODEL,
    )
    health = elastic_checks().kibana(context)
    assert health.up and health.url == "https://192.168.10.5/" and "CI stand-in" in health.detail
