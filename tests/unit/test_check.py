"""alur check's offline rules on small projects, and how the preflight's findings decide the exit code."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from alur_project import make_project, vault_encrypt
from cases_check import BAD_INPUTS

from alur import check, preflight
from alur.exitcodes import ExitCode
from alur.inventory import Inventory, VaultOptions

ROOT = Path(__file__).resolve().parents[2]


def load(project: Path, inventory: Path, **kwargs: object) -> Inventory:
    return Inventory(inventory, project, **kwargs)  # type: ignore[arg-type]


def lines(report: check.CheckReport, code: str | None = None) -> list[str]:
    return [f.line() for f in report.errors if code is None or f.code == code]


def test_a_valid_inventory_passes(tmp_path: Path) -> None:
    project, inventory = make_project(tmp_path, host_vars={"h1": {"web_admin_password": "{{ 'x' * 12 }}"}})
    (tmp_path / "pw").write_text("vault-pass\n")
    report = check.run_check(
        load(project, inventory, vault=VaultOptions(password_files=(str(tmp_path / "pw"),))), offline=True
    )
    assert report.errors == []
    assert report.validated == 2
    assert report.exit_code() == ExitCode.OK


def test_schema_errors_name_host_role_and_variable(tmp_path: Path) -> None:
    project, inventory = make_project(
        tmp_path,
        host_vars={
            "h1": {"web_port": "eighty", "web_users": [{"login": "x"}]},
            "h2": {"web_mode": "reckless"},
        },
    )
    report = check.run_check(load(project, inventory), offline=True)
    errors = [f for f in report.errors if f.code == "schema"]
    text = "\n".join(f.line() for f in errors)
    assert "h1: role web: argument 'web_port' is of type str" in text
    assert "h1: role web: missing required arguments: name found in web_users" in text
    assert "h2: role web: value of web_mode must be one of: fast, safe, got: reckless" in text
    assert report.exit_code() == ExitCode.INVALID_INPUT


def test_variables_are_checked_as_the_play_templates_them(tmp_path: Path) -> None:
    project, inventory = make_project(
        tmp_path,
        group_vars={"all": {"base_port": 9000}},
        host_vars={"h1": {"web_port": "{{ base_port + 1 }}"}, "h2": {"web_port": "{{ 'not' ~ 'anumber' }}"}},
    )
    report = check.run_check(load(project, inventory), offline=True)
    schema = [f.line() for f in report.errors if f.code == "schema"]
    assert len(schema) == 1 and schema[0].startswith("h2: role web: argument 'web_port'")


def test_values_that_need_facts_are_left_to_the_run_with_a_note(tmp_path: Path) -> None:
    project, inventory = make_project(
        tmp_path, host_vars={"h1": {"web_port": "{{ ansible_facts['nonexistent_fact'] | int }}"}}
    )
    report = check.run_check(load(project, inventory), offline=True)
    assert not [f for f in report.errors if f.code == "schema"]
    assert any("web_port depends on facts" in f.cause for f in report.of("note"))


def test_group_without_its_peer_is_an_error_for_each_of_its_hosts(tmp_path: Path) -> None:
    project, inventory = make_project(
        tmp_path,
        groups={"filebeat": ["app1", "app2"], "kibana": ["logs"], "jenkins_agents": ["app1"], "web": ["app1"]},
    )
    report = check.run_check(load(project, inventory), offline=True)
    peers = sorted(f.line() for f in report.errors if f.code == "peers")
    assert peers == [
        "app1: in group filebeat but no host is in group logstash (Filebeat ships to Logstash)",
        "app1: in group jenkins_agents but no host is in group jenkins (agents need a Jenkins controller)",
        "app2: in group filebeat but no host is in group logstash (Filebeat ships to Logstash)",
        "logs: in group kibana but no host is in group elasticsearch (Kibana reads from Elasticsearch)",
    ]


def test_complete_peers_pass(tmp_path: Path) -> None:
    groups = {
        "filebeat": ["app1"],
        "logstash": ["logs"],
        "elasticsearch": ["logs"],
        "kibana": ["logs"],
        "jenkins": ["ci"],
        "jenkins_agents": ["app1"],
    }
    project, inventory = make_project(tmp_path, groups=groups)
    report = check.run_check(load(project, inventory), offline=True)
    assert not [f for f in report.errors if f.code == "peers"]


def test_two_hosts_on_one_ssh_endpoint(tmp_path: Path) -> None:
    project, inventory = make_project(
        tmp_path,
        local=False,
        host_vars={"h1": {"ansible_host": "192.0.2.5"}, "h2": {"ansible_host": "192.0.2.5"}},
    )
    report = check.run_check(load(project, inventory), offline=True)
    assert sorted(f.line() for f in report.errors if f.code == "duplicates") == [
        "h1: ansible_host 192.0.2.5:22 is also the address of h2",
        "h2: ansible_host 192.0.2.5:22 is also the address of h1",
    ]


def test_an_address_on_two_hosts_is_a_network_error(tmp_path: Path) -> None:
    interfaces = {
        "h1": {"network_interfaces": [{"name": "eth1", "addresses": ["192.168.10.5/24"]}]},
        "h2": {"network_interfaces": [{"name": "eth1", "addresses": [{"address": "192.168.10.5/24"}]}]},
    }
    project, inventory = make_project(tmp_path, host_vars=interfaces)
    report = check.run_check(load(project, inventory), offline=True)
    assert "h2: eth1: addresses[0]: 192.168.10.5 is already used by h1 eth1" in lines(report, "network")
    assert not [f for f in report.of("note") if f.code == "network"]


def test_the_network_rules_are_the_collections_the_role_runs() -> None:
    # One module: the role's play-wide check (alur.site.network_inventory_errors) wraps this same code.
    from ansible_collections.alur.site.plugins.module_utils.network import validate

    # The same file, not necessarily the same module object: once an inventory is loaded, Ansible's collection
    # finder imports alur.site afresh (alur.inventory._init_plugin_loader_once).
    assert check.network_model.__file__ == validate.__file__
    assert check.network_model.__name__ == validate.__name__


def test_the_network_model_rejects_a_gateway_outside_its_subnet(tmp_path: Path) -> None:
    project, inventory = make_project(
        tmp_path,
        host_vars={
            "h1": {
                "network_interfaces": [
                    {"name": "eth1", "method": "static", "addresses": ["192.168.10.5/24"], "gateway": "10.9.9.1"}
                ]
            }
        },
    )
    report = check.run_check(load(project, inventory), offline=True)
    network = [f for f in report.errors if f.code == "network"]
    assert network and all(f.host == "h1" for f in network)
    assert any("gateway" in f.cause and "10.9.9.1" in f.cause for f in network)


def test_a_missing_secret_needs_a_vault_password_to_be_generated(tmp_path: Path) -> None:
    project, inventory = make_project(tmp_path)
    report = check.run_check(load(project, inventory), offline=True)
    secrets = [f.line() for f in report.errors if f.code == "secrets"]
    # One line per host and role; web_tls_key is empty too, but the role does not generate it.
    assert secrets == [
        f"{host}: role web: web_admin_password not set and cannot be generated: no vault password to store them "
        "encrypted (--vault-password-file or ANSIBLE_VAULT_PASSWORD_FILE)"
        for host in ("h1", "h2")
    ]
    (tmp_path / "pw").write_text("vault-pass\n")
    with_vault = load(project, inventory, vault=VaultOptions(password_files=(str(tmp_path / "pw"),)))
    assert not [f for f in check.run_check(with_vault, offline=True).errors if f.code == "secrets"]


def test_a_plain_text_secret_is_a_warning_and_a_vaulted_one_is_not(tmp_path: Path) -> None:
    ciphertext = vault_encrypt("s3cret-vaulted-value", "vault-pass")
    project, inventory = make_project(tmp_path, host_vars={"h1": {"web_admin_password": "plain-text-secret"}})
    indented = textwrap.indent(ciphertext, "  ")
    (inventory / "host_vars" / "h2.yml").write_text(f"---\nweb_admin_password: !vault |\n{indented}\n")
    (tmp_path / "pw").write_text("vault-pass\n")
    loaded = load(project, inventory, vault=VaultOptions(password_files=(str(tmp_path / "pw"),)))
    report = check.run_check(loaded, offline=True)
    assert [f.line() for f in report.of("warning") if f.code == "secrets"] == [
        "h1: role web: secret web_admin_password is stored in plain text (encrypt it with ansible-vault encrypt_string)"
    ]
    assert {"plain-text-secret", "s3cret-vaulted-value"} <= loaded.secret_values()


def test_a_secret_in_a_file_vaulted_whole_is_neither_warned_about_nor_left_uncensored(tmp_path: Path) -> None:
    project, inventory = make_project(tmp_path)
    (inventory / "host_vars").mkdir(exist_ok=True)
    (inventory / "host_vars" / "h1.yml").write_bytes(
        vault_encrypt("---\nweb_admin_password: whole-file-secret\nweb_note: also-vaulted\n", "vault-pass").encode()
    )
    (tmp_path / "pw").write_text("vault-pass\n")
    loaded = load(project, inventory, vault=VaultOptions(password_files=(str(tmp_path / "pw"),)))
    report = check.run_check(loaded, offline=True)
    assert not [f for f in report.of("warning") if f.code == "secrets"]
    assert {"whole-file-secret", "also-vaulted"} <= loaded.secret_values()


@pytest.mark.parametrize(
    ("text", "megabytes"),
    [("512m", 512), ("1g", 1024), ("2G", 2048), ("1536", 1536), (768, 768), ("100k", 100 / 1024), ("x", None)],
)
def test_size_parsing(text: object, megabytes: float | None) -> None:
    assert check.size_mb(text) == megabytes


def test_heaps_over_half_the_memory(tmp_path: Path) -> None:
    project, inventory = make_project(
        tmp_path, host_vars={"h1": {"web_heap_size": "1g"}, "h2": {"web_heap_size": "1g"}}
    )
    loaded = load(project, inventory)
    findings = check.heap_rules(loaded, ["h1", "h2"], {"h1": 1800, "h2": 8000})
    assert [f.line() for f in findings] == ["h1: web_heap_size 1024 MB is over half the host's 1800 MB memory"]
    unknown = check.heap_rules(loaded, ["h1"], {"h1": None})
    assert unknown[0].severity == "note" and "memory unknown" in unknown[0].cause


def test_heaps_use_the_preflights_memory(tmp_path: Path) -> None:
    project, inventory = make_project(tmp_path, host_vars={"h1": {"web_heap_size": "3g"}}, local=False)

    def small_host(connection: object) -> preflight.HostProbe:
        host = connection.host  # type: ignore[attr-defined]
        return preflight.HostProbe(
            host=host, endpoint="x:22", reachable=True, authenticated=True, become=True, python="3.13.5",
            os_id="debian", os_version="13", memory_mb=4096, disk_free_mb=100000, clock_skew=0.0,
        )  # fmt: skip

    report = check.run_check(load(project, inventory), offline=False, probe_host=small_host)
    assert "h1: web_heap_size 3072 MB is over half the host's 4096 MB memory" in lines(report)


def test_only_unreachable_hosts_exit_5_other_errors_exit_2(tmp_path: Path) -> None:
    project, inventory = make_project(tmp_path, local=False)
    (tmp_path / "pw").write_text("vault-pass\n")
    loaded = load(project, inventory, vault=VaultOptions(password_files=(str(tmp_path / "pw"),)))

    def unreachable(connection: object) -> preflight.HostProbe:
        host = connection.host  # type: ignore[attr-defined]
        probe = preflight.HostProbe(host=host, endpoint=f"{host}:22")
        probe.error, probe.error_kind = f"cannot reach {host}:22: Connection refused", "unreachable"
        return probe

    report = check.run_check(loaded, offline=False, probe_host=unreachable)
    assert lines(report) == ["h1: cannot reach h1:22: Connection refused", "h2: cannot reach h2:22: Connection refused"]
    assert report.exit_code() == ExitCode.HOSTS_UNREACHABLE
    # A second project: Ansible caches which host_vars files exist for the life of the process.
    project, inventory = make_project(tmp_path / "broken", local=False, host_vars={"h1": {"web_port": "eighty"}})
    broken = load(project, inventory, vault=VaultOptions(password_files=(str(tmp_path / "pw"),)))
    assert check.run_check(broken, offline=False, probe_host=unreachable).exit_code() == ExitCode.INVALID_INPUT


def test_limit_selects_the_hosts_checked_and_probed(tmp_path: Path) -> None:
    project, inventory = make_project(tmp_path, local=False, host_vars={"h2": {"web_port": "bad"}})
    probed: list[str] = []

    def record(connection: object) -> preflight.HostProbe:
        probed.append(connection.host)  # type: ignore[attr-defined]
        return preflight.HostProbe(host=connection.host, endpoint="x", skipped="test")  # type: ignore[attr-defined]

    report = check.run_check(load(project, inventory), offline=False, limit="h1", probe_host=record)
    assert probed == ["h1"]
    assert not [f for f in report.errors if f.code == "schema"]
    nothing = check.run_check(load(project, inventory), offline=True, limit="nope")
    assert lines(nothing, "limit") == ["--limit nope matches no host of the inventory"]


def with_artifact_defaults(project: Path) -> None:
    """The repositories' URLs come from the artifacts role's defaults, as in the real project."""
    defaults = Path("roles/artifacts/defaults/main.yml")
    target = project / defaults
    target.parent.mkdir(parents=True)
    target.write_text((ROOT / defaults).read_text())


def vendor_plays(groups: dict[str, list[str]]) -> list[dict[str, object]]:
    """A site.yml giving each group the role of the same name (web: the test role)."""
    return [
        {"name": g, "hosts": g, "gather_facts": False, "roles": [g if g != "jenkins_agents" else "web"]} for g in groups
    ]


def vendor_roles(project: Path, groups: dict[str, list[str]]) -> None:
    for group in groups:
        tasks = project / "roles" / group / "tasks" / "main.yml"
        if not tasks.exists():
            tasks.parent.mkdir(parents=True)
            tasks.write_text("---\n[]\n")


def debian(version: str) -> object:
    def probe(connection: object) -> preflight.HostProbe:
        host = connection.host  # type: ignore[attr-defined]
        return preflight.HostProbe(
            host=host, endpoint=f"{host}:22", reachable=True, authenticated=True, become=True, python="3.13.5",
            os_id="debian", os_version=version, memory_mb=8192, disk_free_mb=100000, clock_skew=0.0,
        )  # fmt: skip

    return probe


def test_unreachable_repositories_stop_the_check_in_one_line_naming_the_bundle_way(tmp_path: Path) -> None:
    groups = {
        "jenkins": ["ci"],
        "jenkins_agents": ["app2"],
        "elasticsearch": ["logs"],
        "filebeat": ["app1", "logs"],
        "web": ["app3"],
    }
    project, inventory = make_project(tmp_path, groups=groups, local=False, plays=vendor_plays(groups))
    vendor_roles(project, groups)
    with_artifact_defaults(project)
    asked: dict[str, list[str]] = {}

    def offline_hosts(connection: object, sources: list[preflight.Source]) -> dict[str, bool]:
        asked[connection.host] = [s.endpoint for s in sources]  # type: ignore[attr-defined]
        return {s.endpoint: s.host == "artifacts.elastic.co" for s in sources}

    report = check.run_check(load(project, inventory), offline=False, probe_host=debian("12"), reach_host=offline_hosts)  # type: ignore[arg-type]
    # Each host is asked for the repositories of its own roles; Temurin only for Java hosts on Debian 12.
    assert asked == {
        "ci": ["pkg.jenkins.io:443", "packages.adoptium.net:443"],
        "app2": ["packages.adoptium.net:443"],
        "logs": ["artifacts.elastic.co:443"],
        "app1": ["artifacts.elastic.co:443"],
    }
    assert lines(report, "sources") == [
        "package repositories unreachable: packages.adoptium.net:443 (the Adoptium (Temurin) apt repository) from "
        "app2, ci; "
        "pkg.jenkins.io:443 (the Jenkins apt repository) from ci. Deploy from a bundle: `alur bundle create --out DIR "
        "-i INVENTORY` on a machine that reaches them, then `alur lab up --bundle DIR` (the lab) or set "
        "artifacts_source: bundle and artifacts_bundle_dir: DIR"
    ]
    assert report.exit_code() == ExitCode.INVALID_INPUT


def test_a_mirror_is_tried_instead_of_the_vendors_and_a_bundle_needs_no_network(tmp_path: Path) -> None:
    groups = {"jenkins": ["ci"], "kibana": ["logs"], "elasticsearch": ["logs"]}
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text('{"standin": false}')
    project, inventory = make_project(
        tmp_path,
        groups=groups,
        local=False,
        plays=vendor_plays(groups),
        host_vars={
            "ci": {"alur_artifact_source": "mirror", "alur_mirror_url": "http://mirror.example:8081/vendors"},
            "logs": {"alur_artifact_source": "bundle", "alur_bundle_dir": str(bundle)},
        },
    )
    with_artifact_defaults(project)
    vendor_roles(project, groups)
    asked: dict[str, list[str]] = {}

    def record(connection: object, sources: list[preflight.Source]) -> dict[str, bool]:
        asked[connection.host] = [s.endpoint for s in sources]  # type: ignore[attr-defined]
        return {s.endpoint: True for s in sources}

    report = check.run_check(load(project, inventory), offline=False, probe_host=debian("13"), reach_host=record)  # type: ignore[arg-type]
    assert asked == {"ci": ["mirror.example:8081"]}
    assert lines(report, "sources") == [] and lines(report, "bundle") == []


def test_a_stand_in_bundle_needs_an_explicit_yes(tmp_path: Path) -> None:
    bundle = tmp_path / "standins"
    bundle.mkdir()
    (bundle / "manifest.json").write_text('{"standin": true}')
    source = {"alur_artifact_source": "bundle", "alur_bundle_dir": str(bundle)}
    groups = {"logstash": ["logs"], "jenkins": ["ci"], "filebeat": ["app1"], "web": ["app2"]}
    project, inventory = make_project(
        tmp_path,
        groups=groups,
        plays=vendor_plays(groups),
        host_vars={
            "logs": source,
            "ci": {**source, "alur_allow_standins": True},
            "app1": {**source, "alur_bundle_dir": ""},
            "app2": {"alur_artifact_source": "bundle"},  # installs no vendor product: no bundle needed
        },
    )
    vendor_roles(project, groups)
    report = check.run_check(load(project, inventory), offline=True)
    assert lines(report, "bundle") == [
        "app1: artifacts_source is bundle but artifacts_bundle_dir is not set: make one with `alur bundle create`",
        f"logs: bundle {bundle} holds CI stand-in packages, not the vendors' products; "
        "set artifacts_allow_standins: true only to test the roles with them",
    ]


# --- the roles' own rules: site.yml's validate play, run offline ---------------------------------------

# The bad values are cases_check.py's BAD_INPUTS (tests/integration/test_bad_input.py runs some on real hosts).
# A controller, an Elastic host and a client, all valid: the bad hosts' peers.
GOOD_HOSTS: dict[str, list[str]] = {
    "ci": ["jenkins"],
    "logs": ["elasticsearch", "logstash", "kibana"],
    "app1": ["jenkins_agents", "filebeat"],
}


def write_bad_input_inventory(folder: Path, cases: Sequence[tuple[str, list[str], dict[str, Any], str]]) -> Path:
    """The good hosts and one host per case, each with its own static address on one lab network."""
    members = {**{host: groups for host, groups in GOOD_HOSTS.items()}, **{c[0]: c[1] for c in cases}}
    groups: dict[str, dict[str, Any]] = {}
    for host, names in members.items():
        for name in names:
            groups.setdefault(name, {"hosts": {}})["hosts"][host] = None
    (folder / "host_vars").mkdir(parents=True)
    for number, host in enumerate(members, start=10):
        values = {"network_interfaces": [{"name": "eth1", "addresses": [f"192.168.70.{number}/24"]}]}
        values.update(next((c[2] for c in cases if c[0] == host), {}))
        (folder / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump(values))
    hosts = {"all": {"vars": {"ansible_connection": "local"}, "hosts": dict.fromkeys(members), "children": groups}}
    (folder / "hosts.yml").write_text(yaml.safe_dump(hosts))
    return folder


@pytest.fixture(scope="module")
def bad_input_report(tmp_path_factory: pytest.TempPathFactory) -> check.CheckReport:
    folder = tmp_path_factory.mktemp("bad-input")
    inventory = write_bad_input_inventory(folder / "inventory", BAD_INPUTS)
    (folder / "pw").write_text("vault-pass\n")  # the roles generate the secrets not given
    vault = VaultOptions(password_files=(str(folder / "pw"),))
    return check.run_check(Inventory(inventory, ROOT, vault=vault), offline=True)


@pytest.mark.parametrize(("host", "message"), [pytest.param(c[0], c[3], id=c[0]) for c in BAD_INPUTS])
def test_a_bad_value_is_refused_naming_host_and_variable(
    bad_input_report: check.CheckReport, host: str, message: str
) -> None:
    errors = [f.line() for f in bad_input_report.errors if f.host == host]
    assert any(line.startswith(f"{host}: ") and message in line for line in errors), errors


def test_the_good_hosts_beside_the_bad_ones_pass(bad_input_report: check.CheckReport) -> None:
    assert [f.line() for f in bad_input_report.errors if f.host in GOOD_HOSTS or f.host is None] == []
    assert {f.host for f in bad_input_report.errors} == {c[0] for c in BAD_INPUTS}


def test_the_validate_plays_failures_become_one_line_per_host_and_cause(tmp_path: Path) -> None:
    from alur import runner

    project, inventory = make_project(tmp_path, groups={"web": ["h1", "h2", "h3", "h4"]})
    (project / "playbooks").mkdir()
    (project / check.VALIDATE_PLAY).write_text("---\n[]\n")
    asked: list[runner.PlaybookRequest] = []

    def fake_run(request: runner.PlaybookRequest, on_event: Any) -> runner.RunResult:
        asked.append(request)
        events = [
            ("h1", "item_failed", "Check ports", "ansible.builtin.assert", "h1: web_port 70000 is outside\n 1-65535"),
            ("h1", "failed", "Check ports", "ansible.builtin.assert", "One or more items failed"),
            ("h2", "failed", check.VALIDATE_STOP_TASK, "ansible.builtin.fail", "h1 failed validation"),
            (
                "h3",
                "failed",
                "Validating arguments against arg spec 'validate'",
                "ansible.builtin.validate_argument_spec",
                "Validation of arguments failed:\nargument 'web_port' is of type str",
            ),
            ("h4", "failed", "Check", "ansible.builtin.assert", "Task failed: 'base_url' is undefined"),
        ]
        for number, (host, status, task, action, msg) in enumerate(events):
            on_event(runner.Event(number, "x", host=host, status=status, task=task, action=action, msg=msg))
        return runner.RunResult(2, "failed", [], str(project), {}, 1.0, len(events))

    report = check.run_check(load(project, inventory), offline=True, limit="h1,h2,h3,h4", run_playbook=fake_run)
    found = sorted(f.line() for f in report.findings if f.code == "validate")
    assert found == [
        "h1: web_port 70000 is outside 1-65535",
        "h3: argument_specs: argument 'web_port' is of type str",
        "h4: the roles' rules could not be evaluated offline ('base_url' is undefined); the run checks them",
    ]
    assert [f.severity for f in report.findings if f.host == "h4" and f.code == "validate"] == ["note"]
    (request,) = asked
    assert request.playbook == check.VALIDATE_PLAY and request.limit == "h1,h2,h3,h4"
    assert {"alur_validate_offline=true", "ansible_connection=local"} <= set(request.extra_vars)


def test_without_the_validate_play_a_note_says_the_roles_rules_were_not_checked(tmp_path: Path) -> None:
    project, inventory = make_project(tmp_path)
    report = check.run_check(load(project, inventory), offline=True)
    assert any(f.code == "validate" and "not found" in f.cause for f in report.of("note"))
