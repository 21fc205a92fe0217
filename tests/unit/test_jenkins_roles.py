"""The code inside roles java/jenkins/nginx_proxy that runs without a host: filters, the plugin-placing module,
the vault-backed secret lookup, and the Jenkins checks of `alur status`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

# The roles' own plugins (what only they need), on pyproject's pytest pythonpath; shared rules are alur.site's.
import jenkins_filters as filters  # roles/jenkins/filter_plugins
import jenkins_plugins as plugins_module  # roles/jenkins/library
import nginx_proxy_filters as proxy_filters  # roles/nginx_proxy/filter_plugins
import pytest
import yaml
from ansible_collections.alur.site.plugins.module_utils import addresses, lockfile

ROOT = Path(__file__).resolve().parents[2]
JENKINS = ROOT / "roles" / "jenkins"


# --- the lockfile (its format: tests/unit/test_site_addresses.py) -----------------------------


def test_the_repository_lockfile_agrees_with_alur_bundle() -> None:
    """The role (alur.site.plugin_lockfile) and `alur bundle create` read the same file the same way."""
    from alur.bundle import read_lockfile

    lock = JENKINS / "files" / "plugins.lock"
    parsed = lockfile.parse(lock.read_text())
    assert {p["id"]: p["version"] for p in parsed} == read_lockfile(lock)
    ids = {p["id"] for p in parsed}
    # What JCasC and the example job use, and the plugins the war no longer bundles (vendor facts).
    assert {"configuration-as-code", "job-dsl", "ssh-slaves", "matrix-auth", "workflow-job", "workflow-cps"} <= ids
    assert {"bouncycastle-api", "instance-identity", "mailer", "matrix-auth"} <= ids


# --- Java and addresses ------------------------------------------------------------------------

RULES = [
    {"since": "2.555.1", "java": [21, 25]},
    {"since": "2.479.1", "java": [17, 21]},
    {"since": "2.361.1", "java": [11, 17, 21]},
]


@pytest.mark.parametrize(
    ("version", "java"),
    [("2.580.2", [21, 25]), ("2.555.1", [21, 25]), ("2.554", [17, 21]), ("2.479.3", [17, 21]), ("2.100", [])],
)
def test_java_required_by_jenkins_version(version: str, java: list[int]) -> None:
    assert filters.java_required(version, RULES) == java


MODEL = [
    {"name": "lo", "method": "loopback"},
    {"name": "eth0", "method": "dhcp"},
    {"name": "eth1", "addresses": ["fd00::20/64", {"address": "192.168.10.20", "netmask": "255.255.255.0"}]},
]


def test_the_controller_and_agents_are_reached_on_the_models_ipv4() -> None:
    """jenkins and nginx_proxy name hosts by alur.site.peer_address on hostvars, without an override."""
    ci = {"inventory_hostname": "ci", "ansible_host": "10.89.0.5", "network_interfaces": MODEL}
    assert addresses.peer_address(ci) == "192.168.10.20"
    six = {**ci, "network_interfaces": [{"name": "eth1", "addresses": ["fe80::20/64", "fd00::20/64"]}]}
    assert addresses.peer_address(six) == "fd00::20"
    assert addresses.peer_address({**ci, "network_interfaces": []}) == "10.89.0.5", "no model yet: ansible_host"
    assert addresses.peer_address({"inventory_hostname": "ci"}) == "ci"
    assert addresses.url_host(addresses.peer_address(six)) == "[fd00::20]"


# --- nginx sites -------------------------------------------------------------------------------

DEFAULTS = {"path": "/", "buffering": True, "read_timeout": 60, "client_max_body_size": "10m", "websocket": False}


def test_sites_merge_published_and_explicit() -> None:
    published = [{"name": "jenkins", "upstream": "http://127.0.0.1:8080", "buffering": False}]
    explicit = [
        {"name": "kibana", "path": "/kibana/", "upstream": "http://127.0.0.1:5601"},
        {"name": "jenkins", "upstream": "http://127.0.0.1:9090"},
    ]
    sites = proxy_filters.sites(explicit, published, DEFAULTS)
    assert [s["name"] for s in sites] == ["kibana", "jenkins"], "longest path first"
    assert sites[1]["upstream"] == "http://127.0.0.1:9090", "explicit wins over published"
    assert sites[1]["buffering"] is True, "an explicit site replaces the published one whole"


@pytest.mark.parametrize(
    ("site", "message"),
    [
        ({"name": "a", "upstream": "http://x:1/path"}, "upstream: http"),
        ({"name": "a", "path": "/x", "upstream": "http://x:1"}, "path: / or /x/"),
        ({"name": "A b", "upstream": "http://x:1"}, "name: lower-case"),
        ({"name": "a", "upstream": "http://x:1", "client_max_body_size": "lots"}, "client_max_body_size"),
    ],
)
def test_sites_reject_bad_fields_naming_site_and_field(site: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"nginx_proxy site {site['name']}: .*{message}"):
        proxy_filters.sites([site], [], DEFAULTS)


def test_two_sites_cannot_share_a_path() -> None:
    with pytest.raises(ValueError, match="served by site a already"):
        proxy_filters.sites(
            [{"name": "a", "upstream": "http://x:1"}, {"name": "b", "upstream": "http://y:2"}], [], DEFAULTS
        )


# --- the plugin-placing module -----------------------------------------------------------------


def plugin_file(path: Path, plugin: str, version: str) -> Path:
    # Manifest lines longer than 72 bytes continue on the next line after one space, as jar tools write them.
    version_line = (
        f"Plugin-Version: {version[:20]}\r\n {version[20:]}" if len(version) > 20 else f"Plugin-Version: {version}"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\r\nShort-Name: {plugin}\r\n{version_line}\r\n\r\n"
        )
    return path


class Exit(Exception):
    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__(result)
        self.result = result


class FakeModule:
    def __init__(self, params: dict[str, Any], check_mode: bool = False) -> None:
        self.params = {"cache_dir": None, "remove_unlisted": True, "owner": None, "group": None, **params}
        self.check_mode = check_mode

    def exit_json(self, **result: Any) -> None:
        raise Exit(result)

    def fail_json(self, **result: Any) -> None:
        raise Exit({"failed": True, **result})


def run_placer(params: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
    with pytest.raises(Exit) as done:
        plugins_module.Placer(FakeModule(params, check_mode)).run()
    return done.value.result


@pytest.fixture
def drifted(tmp_path: Path) -> tuple[Path, list[dict[str, str]]]:
    """A plugins folder with every kind of drift, and a bundle folder with the lockfile's files."""
    plugins, bundle = tmp_path / "plugins", tmp_path / "bundle"
    plugins.mkdir()
    bundle.mkdir()
    plugin_file(plugins / "rogue.jpi", "rogue", "0.1")
    plugin_file(plugins / "structs.jpi", "structs", "1.0")
    (plugins / "structs").mkdir()
    (plugins / "structs.jpi.disabled").touch()
    plugin_file(plugins / "job-dsl.hpi", "job-dsl", "3732.v9a_c49a_61a_313")
    plugin_file(plugins / "mailer.jpi.pinned", "x", "1")
    wanted = []
    for plugin, version in (
        ("structs", "362.va_b_695ef4fdf9"),
        ("job-dsl", "3732.v9a_c49a_61a_313"),
        ("mailer", "534.v1b"),
    ):
        path = plugin_file(bundle / f"{plugin}.jpi", plugin, version)
        wanted.append({"id": plugin, "version": version, "path": str(path)})
    return plugins, wanted


def test_plugins_drift_is_reported_and_corrected(drifted: tuple[Path, list[dict[str, str]]]) -> None:
    plugins, wanted = drifted
    result = run_placer({"plugins_dir": str(plugins), "plugins": wanted})
    assert result["changed"] is True
    assert sorted(result["drift"]) == [
        "job-dsl: installed as job-dsl.hpi (replaced by job-dsl.jpi)",
        "mailer: missing, lockfile 534.v1b",
        "rogue: not in the lockfile (removed)",
        "structs: 1.0 installed, lockfile 362.va_b_695ef4fdf9",
    ]
    assert sorted(p.name for p in plugins.iterdir()) == ["job-dsl.jpi", "mailer.jpi", "structs.jpi"]
    assert plugins_module.identity(str(plugins / "structs.jpi")) == ("structs", "362.va_b_695ef4fdf9")
    again = run_placer({"plugins_dir": str(plugins), "plugins": wanted})
    assert again == {"changed": False, "drift": [], "placed": [], "removed": []}


def test_plugins_same_version_other_bytes_is_drift(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    bundled = plugin_file(tmp_path / "structs.jpi", "structs", "362.va_b_695ef4fdf9")
    patched = plugin_file(plugins / "structs.jpi", "structs", "362.va_b_695ef4fdf9")
    with zipfile.ZipFile(patched, "a") as archive:
        archive.writestr("hand-patched.class", "x")
    wanted = [{"id": "structs", "version": "362.va_b_695ef4fdf9", "path": str(bundled)}]
    result = run_placer({"plugins_dir": str(plugins), "plugins": wanted})
    assert result["drift"] == ["structs: 362.va_b_695ef4fdf9 installed, but not the file the bundle holds"]
    assert (plugins / "structs.jpi").read_bytes() == bundled.read_bytes()


def test_plugins_check_mode_reports_without_touching(drifted: tuple[Path, list[dict[str, str]]]) -> None:
    plugins, wanted = drifted
    before = sorted(p.name for p in plugins.iterdir())
    result = run_placer({"plugins_dir": str(plugins), "plugins": wanted}, check_mode=True)
    assert result["changed"] is True and "rogue" in result["removed"]
    assert sorted(p.name for p in plugins.iterdir()) == before


def test_plugins_unlisted_can_be_left_in_place(drifted: tuple[Path, list[dict[str, str]]]) -> None:
    plugins, wanted = drifted
    result = run_placer({"plugins_dir": str(plugins), "plugins": wanted, "remove_unlisted": False})
    assert "rogue: not in the lockfile (left in place)" in result["drift"]
    assert (plugins / "rogue.jpi").exists()


def test_plugin_file_must_be_what_the_lockfile_names(tmp_path: Path) -> None:
    wrong = plugin_file(tmp_path / "structs.jpi", "structs", "1.0")
    result = run_placer(
        {"plugins_dir": str(tmp_path / "plugins"), "plugins": [{"id": "structs", "version": "2.0", "path": str(wrong)}]}
    )
    assert result["failed"] and "its manifest says structs:1.0" in result["msg"]


def test_manifest_continuation_lines_are_joined(tmp_path: Path) -> None:
    long_version = "2.30.1.84-291.v9f17b_21896e2"
    path = plugin_file(tmp_path / "b.jpi", "bouncycastle-api", long_version)
    assert plugins_module.identity(str(path)) == ("bouncycastle-api", long_version)


# --- alur status -------------------------------------------------------------------------------


class Result:
    def __init__(self, stdout: str = "", rc: int = 0) -> None:
        self.stdout, self.rc = stdout, rc


class Context:
    def __init__(self, answers: dict[str, Result], variables: dict[str, Any] | None = None) -> None:
        from alur.inventory import Connection

        self.answers = answers
        self.values = variables or {}
        self.connection = Connection(host="ci", address="10.89.0.2", user="alur")
        self.commands: list[str] = []

    def run(self, command: str, sudo: bool = False) -> Result:
        self.commands.append(command)
        for needle, result in self.answers.items():
            if needle in command:
                return result
        return Result("", 127)

    def variables(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


LOGIN_OK = "HTTP/1.1 200 OK\r\nX-Jenkins: 2.580.2\r\nContent-Type: text/html\r\n\r\n"


def test_status_jenkins_ready() -> None:
    from alur.service_checks import jenkins as checks

    context = Context(
        {"is-active jenkins": Result("active\n"), "curl": Result(LOGIN_OK), "dpkg-query": Result("2.580.2")},
        {"jenkins_url": "https://10.89.0.2/", "jenkins_prefix": "/ci"},
    )
    health = checks.jenkins(context)  # type: ignore[arg-type]
    assert (health.up, health.version, health.url, health.detail) == (True, "2.580.2", "https://10.89.0.2/", "ready")
    assert any("http://127.0.0.1:8080/ci/login" in c for c in context.commands)


@pytest.mark.parametrize(
    ("answers", "detail"),
    [
        ({"is-active jenkins": Result("failed\n", 3)}, "jenkins.service is failed"),
        (
            {"is-active jenkins": Result("active\n"), "curl": Result("HTTP/1.1 503 x\r\nX-Jenkins: 2\r\n\r\n")},
            "starting",
        ),
        ({"is-active jenkins": Result("active\n"), "curl": Result("HTTP/1.1 200 OK\r\n\r\n")}, "without X-Jenkins"),
    ],
)
def test_status_jenkins_not_ready(answers: dict[str, Result], detail: str) -> None:
    from alur.service_checks import jenkins as checks

    health = checks.jenkins(Context(answers))  # type: ignore[arg-type]
    assert health.up is False and detail in (health.detail or "")


def test_status_standin_is_named() -> None:
    from alur.service_checks import jenkins as checks

    context = Context(
        {"is-active jenkins": Result("active\n"), "curl": Result(LOGIN_OK), "dpkg-query": Result("2.580.2+standin")}
    )
    assert checks.jenkins(context).detail == "ready (CI stand-in)"  # type: ignore[arg-type]


def test_status_agent_needs_java_21() -> None:
    from alur.service_checks import jenkins as checks

    old = Context({"java -version": Result('openjdk version "17.0.9" 2023-10-17\n'), "getent": Result("x")})
    assert checks.agent(old).up is False  # type: ignore[arg-type]
    good = Context({"java -version": Result('openjdk version "21.0.8" 2025-07-15\n'), "getent": Result("x")})
    health = checks.agent(good)  # type: ignore[arg-type]
    assert health.up is True and health.version == "java 21.0.8"


def test_status_registers_the_checks() -> None:
    import importlib

    from alur import status
    from alur.service_checks import jenkins as checks

    importlib.reload(checks)  # registers again, whatever another test did to the registry
    names = {(group, name) for group, name, _ in status.checks_for(["jenkins", "jenkins_agents"])}
    assert {("jenkins", "jenkins"), ("jenkins", "nginx-proxy"), ("jenkins_agents", "jenkins-agent")} <= names


# --- bad input ---------------------------------------------------------------------------------

# host -> (role, entry point, the host's variables, the variable the failure must name). Each host gets one bad
# value; everything else is the roles' defaults.
BAD_INPUT = {
    "bad-java-version": ("java", "main", {"java_major_version": 17}, "java_major_version"),
    "bad-jenkins-port": ("jenkins", "main", {"jenkins_port": "eighty"}, "jenkins_port"),
    "bad-jenkins-password": ("jenkins", "main", {"jenkins_admin_password": "Sh0rtSecret"}, "jenkins_admin_password"),
    "bad-agent-from": ("jenkins", "agent", {"jenkins_agent_ssh_from": {"net": "10.0.0.0/8"}}, "jenkins_agent_ssh_from"),
    "bad-proxy-port": ("nginx_proxy", "main", {"nginx_proxy_https_port": "https"}, "nginx_proxy_https_port"),
    "bad-proxy-site": ("nginx_proxy", "main", {"nginx_proxy_sites": [{"name": "x"}]}, "nginx_proxy_sites"),
}


def test_bad_input_fails_before_any_change_naming_host_and_variable(tmp_path: Path) -> None:
    """The real roles, each host with one bad variable in its host_vars, run as a play would (in --check on
    this machine, so a validation that let bad input through could still change nothing here)."""
    hosts = {
        name: {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "bad_role": role,
            "bad_entry": entry,
            **variables,
        }
        for name, (role, entry, variables, _) in BAD_INPUT.items()
    }
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    # One play: a play whose every host failed would end the run before the next play.
    plays = [
        {
            "name": "Each host runs the role entry point it has a bad variable for",
            "hosts": "all",
            "gather_facts": False,
            "tasks": [
                {
                    "name": f"Run {role} {entry}",
                    "ansible.builtin.include_role": {"name": role, "tasks_from": entry},
                    "when": f"bad_role == '{role}' and bad_entry == '{entry}'",
                }
                for role, entry in sorted({(role, entry) for role, entry, _, _ in BAD_INPUT.values()})
            ],
        }
    ]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(plays, sort_keys=False))
    env = dict(
        os.environ,
        ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
    )
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "--check",
            "-i",
            str(tmp_path / "hosts.yml"),
            str(tmp_path / "play.yml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    report = json.loads(proc.stdout[proc.stdout.find("{") :])
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-2000:]
    failures: dict[str, list[str]] = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if result.get("failed"):
                    failures.setdefault(host, []).append(f"{task['task']['name']}: {result.get('msg')}")
    for host, (_, _, _, variable) in BAD_INPUT.items():
        stats = report["stats"][host]
        assert stats["failures"] == 1 and stats["changed"] == 0, (host, stats)
        (failure,) = failures[host]
        assert variable in failure, f"{host}: the failure does not name {variable}: {failure}"
    # Ansible reports each failure under the host's name (`fatal: [host]`, the key here); a secret never appears.
    assert "Sh0rtSecret" not in proc.stdout + proc.stderr
