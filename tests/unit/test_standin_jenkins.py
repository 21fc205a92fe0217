"""The Jenkins stand-in's contract (tests/standins/contract/jenkins.yml): each rule shown refusing a violation, with the
program run as a local process on 127.0.0.1, its JENKINS_HOME, plugins and JCasC files in tmp_path."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest
import standin_jenkins
import standin_process  # tests/unit: the stand-in program as a local process
from standin_process import free_port

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tests" / "standins" / "program"
CONTRACT = ROOT / "tests" / "standins" / "contract"
CORE = "2.580.2"
ADMIN_PASSWORD = "s3cret-from-vault"  # noqa: S105 - a test fixture
TOKEN = "reload-token-0123456789"  # noqa: S105 - a test fixture

BASE_CASC = """\
jenkins:
  systemMessage: "first message"
  numExecutors: 0
  securityRealm:
    local:
      allowsSignup: false
      users:
        - id: "admin"
          password: "${admin_password}"
  authorizationStrategy:
    globalMatrix:
      entries:
        - user:
            name: "admin"
            permissions: ["Overall/Administer"]
unclassified:
  location:
    url: "https://ci.example.test/"
credentials:
  system:
    domainCredentials: []
jobs:
  - script: "pipelineJob('x') {}"
"""


def manifest_text(attributes: dict[str, str]) -> bytes:
    """A manifest as the JDK writes one: lines of at most 72 bytes, continued on lines starting with one space."""
    lines = []
    for name, value in attributes.items():
        line = f"{name}: {value}".encode()
        lines.append(line[:72])
        rest = line[72:]
        while rest:
            lines.append(b" " + rest[:71])
            rest = rest[71:]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def plugin(home: Path, name: str, version: str, deps: str = "", core: str = "2.479.3", ext: str = "jpi") -> Path:
    folder = home / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    attributes = {"Manifest-Version": "1.0", "Short-Name": name, "Plugin-Version": version, "Jenkins-Version": core}
    if deps:
        attributes["Plugin-Dependencies"] = deps
    path = folder / f"{name}.{ext}"
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", manifest_text(attributes))
    return path


@dataclass
class Bed:
    home: Path
    casc: Path
    program: Path
    env: dict[str, str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def bed(tmp_path: Path) -> Bed:
    """A controller as the jenkins role lays it out: plugins for the JCasC it writes, a casc.d folder, a secrets
    folder with the admin password, a reload token. The program is installed as build.py installs it."""
    program = tmp_path / "program"
    shutil.copytree(SOURCE, program, ignore=shutil.ignore_patterns("__pycache__"))
    for path in program.glob("*.py"):
        path.write_text(path.read_text().replace("@VERSION@", CORE))
    (program / "contract").mkdir()
    for path in CONTRACT.glob("*.yml"):
        shutil.copy(path, program / "contract" / path.name)
    java = tmp_path / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"21.0.9\" 2025-10-21' >&2\n")
    java.chmod(0o755)
    home, casc, secrets = tmp_path / "home", tmp_path / "casc.d", tmp_path / "secrets"
    for folder in (home, casc, secrets):
        folder.mkdir()
    (secrets / "admin_password").write_text(ADMIN_PASSWORD + "\n")
    plugin(home, "configuration-as-code", "2117.vc05a_0b_e6b_f4e", "snakeyaml-api:2.5-149.v72471e9c6371")
    plugin(home, "snakeyaml-api", "2.5-149.v72471e9c6371")
    plugin(home, "credentials", "1511.v2e3cb_0008ef0", "structs:362.va_b_695ef4fdf9")
    plugin(home, "structs", "362.va_b_695ef4fdf9")
    plugin(
        home, "job-dsl", "3732.v9a_c49a_61a_313", "structs:362.va_b_695ef4fdf9,credentials:1400.v1;resolution:=optional"
    )
    (casc / "alur.yaml").write_text(BASE_CASC)
    port = free_port()
    env = {
        "JENKINS_HOME": str(home),
        "JENKINS_JAVA_CMD": str(java),
        "JENKINS_PORT": str(port),
        "JENKINS_LISTEN_ADDRESS": "127.0.0.1",
        "CASC_JENKINS_CONFIG": str(casc),
        "SECRETS": str(secrets),
        "CASC_RELOAD_TOKEN": TOKEN,
        "ALUR_STANDIN_BOOT_SECONDS": "0",
    }
    return Bed(home, casc, program / "service.py", env, port)


def running(bed: Bed, **extra: str) -> AbstractContextManager[subprocess.Popen[str]]:
    return standin_process.running("jenkins", env={**bed.env, **extra}, program=bed.program)


def call(
    url: str, method: str = "GET", auth: tuple[str, str] | None = None, form: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """One request; retries only while nothing listens yet."""
    data = urllib.parse.urlencode(form).encode() if form is not None else (b"" if method == "POST" else None)
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    return standin_process.fetch(url, method, data, headers, pause=0.1)


def settled_login(bed: Bed, timeout: float = 10) -> tuple[int, dict[str, str], str]:
    """/login once the boot is over (200) or after the timeout (whatever it answers then)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = call(f"{bed.url}/login")
        if answer[0] == 200 or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def output(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    return out


def reload(bed: Bed, token: str = TOKEN) -> tuple[int, dict[str, str], str]:
    return call(f"{bed.url}/reload-configuration-as-code/", "POST", form={"casc-reload-token": token})


def admin(bed: Bed, path: str) -> tuple[int, dict[str, str], str]:
    return call(f"{bed.url}{path}", auth=("admin", ADMIN_PASSWORD))


# --------------------------------------------------------------------------- a good controller


def test_the_role_shaped_controller_boots_and_reports_ready(bed: Bed, tmp_path: Path) -> None:
    notify = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(notify))
        sock.settimeout(10)
        with running(bed, NOTIFY_SOCKET=str(notify)):
            status, headers, _ = settled_login(bed)
            assert status == 200 and headers["X-Jenkins"] == CORE
            assert sock.recv(64) == b"READY=1"
            plugins = json.loads(admin(bed, "/pluginManager/api/json")[2])["plugins"]
    assert {p["shortName"] for p in plugins if p["active"]} == {
        "configuration-as-code", "snakeyaml-api", "credentials", "structs", "job-dsl"
    }  # fmt: skip


# --------------------------------------------------------------------------- plugins


def test_manifest_continuation_lines_are_read(tmp_path: Path) -> None:
    deps = ",".join(f"dependency-number-{n}:1.{n}" for n in range(12))
    path = plugin(tmp_path, "long", "1.0", deps)
    with zipfile.ZipFile(path) as jar:
        assert max(len(line) for line in jar.read("META-INF/MANIFEST.MF").splitlines()) <= 72
    manifest = standin_jenkins.read_manifest(path)
    assert manifest["Plugin-Dependencies"] == deps
    assert [d.plugin for d in standin_jenkins.parse_dependencies(deps)][-1] == "dependency-number-11"


def test_missing_required_dependency_fails_the_plugin_and_its_casc_root(bed: Bed) -> None:
    # credentials needs structs (and, at the end of a wrapped manifest line, scm-api, which is not installed).
    padding = ",".join(f"padding-{n}:1.0;resolution:=optional" for n in range(4))
    plugin(bed.home, "credentials", "1511.v2e3cb_0008ef0", f"structs:362.va_b_695ef4fdf9,{padding},scm-api:728.v1")
    with running(bed) as proc:
        status, _, body = settled_login(bed, timeout=3)
        assert status == 503
        assert "No configurator found for the following root element: credentials" in body
        log = output(proc)
    assert "Failed to load: credentials" in log and "Plugin is missing: scm-api (728.v1)" in log


def test_older_required_dependency_fails_the_plugin(bed: Bed) -> None:
    plugin(bed.home, "structs", "338.v848422169819")  # credentials asks for 362.x
    with running(bed) as proc:
        assert settled_login(bed, timeout=3)[0] == 503
        log = output(proc)
    assert "Update required: structs (338.v848422169819) to be updated to 362.va_b_695ef4fdf9" in log


def test_plugin_needing_a_newer_core_fails_to_load(bed: Bed) -> None:
    plugin(bed.home, "job-dsl", "3732.v9a_c49a_61a_313", "structs:362.va_b_695ef4fdf9", core="2.600.1")
    with running(bed) as proc:
        status, _, body = settled_login(bed, timeout=3)
        assert status == 503 and "root element: jobs" in body
        log = output(proc)
    assert f"Jenkins ({CORE}) or higher required: 2.600.1" in log


def test_a_failed_dependency_fails_its_dependents(bed: Bed) -> None:
    # structs fails (core too new), so credentials and job-dsl, which need it, fail too.
    plugin(bed.home, "structs", "362.va_b_695ef4fdf9", core="9.0")
    with running(bed) as proc:
        status, _, body = settled_login(bed, timeout=3)
        assert status == 503 and "credentials, jobs" in body
        log = output(proc)
    assert "Failed to load: credentials" in log and "Failed to load: job-dsl" in log


def test_optional_dependency_may_be_absent_but_not_older(bed: Bed) -> None:
    plugin(bed.home, "job-dsl", "3732.v9a_c49a_61a_313", "structs:362.va_b_695ef4fdf9,nowhere:1.0;resolution:=optional")
    with running(bed):
        assert settled_login(bed)[0] == 200, "an absent optional dependency is no error"
    plugin(bed.home, "job-dsl", "3732.v9a_c49a_61a_313", "credentials:9999.v1;resolution:=optional")
    with running(bed) as proc:
        status, _, body = settled_login(bed, timeout=3)
        assert status == 503 and "root element: jobs" in body
        log = output(proc)
    assert "Update required: credentials (1511.v2e3cb_0008ef0) to be updated to 9999.v1" in log


def test_a_disabled_dependency_fails_its_dependents(bed: Bed) -> None:
    (bed.home / "plugins" / "structs.jpi.disabled").write_text("")
    with running(bed) as proc:
        assert settled_login(bed, timeout=3)[0] == 503
        log = output(proc)
    assert "Plugin structs is disabled" in log


def test_versions_compare_as_jenkins_compares_them() -> None:
    older = standin_jenkins.is_older
    assert older("2.580.2", "2.600.1") and not older("2.580.2", "2.479.3") and not older("2.580.2", "2.580.2")
    assert older("338.v848422169819", "362.va_b_695ef4fdf9")
    assert older("1.0-beta-1", "1.0") and older("1.0", "1.0.1") and not older("1.10", "1.9")


# --------------------------------------------------------------------------- JCasC at start-up


def test_unknown_casc_root_stops_boot(bed: Bed, tmp_path: Path) -> None:
    (bed.casc / "extra.yaml").write_text("x-anchors: {a: 1}\nnoSuchRoot:\n  value: 1\n")
    notify = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(notify))
        sock.settimeout(2)
        with running(bed, NOTIFY_SOCKET=str(notify)):
            status, headers, body = settled_login(bed, timeout=3)
            assert status == 503 and "X-Jenkins" not in headers
            assert "No configurator found for the following root element: noSuchRoot" in body
            assert call(f"{bed.url}/api/json", auth=("admin", ADMIN_PASSWORD))[0] == 503
            with pytest.raises(TimeoutError):
                sock.recv(64)  # never READY=1: systemd gives up after TimeoutStartSec


def test_crumb_issuer_exclude_client_ip_stops_boot(bed: Bed) -> None:
    casc = bed.casc / "alur.yaml"
    casc.write_text(BASE_CASC.replace("jenkins:\n", "jenkins:\n  crumbIssuer: standard\n", 1))
    with running(bed):
        assert settled_login(bed)[0] == 200, "a bare crumbIssuer: standard is accepted"
    casc.write_text(
        BASE_CASC.replace(
            "jenkins:\n", "jenkins:\n  crumbIssuer:\n    standard:\n      excludeClientIPFromCrumb: true\n"
        )
    )
    with running(bed):
        status, _, body = settled_login(bed, timeout=3)
    assert status == 503 and "excludeClientIPFromCrumb" in body


def test_login_answers_503_while_jenkins_boots(bed: Bed) -> None:
    with running(bed, ALUR_STANDIN_BOOT_SECONDS="3"):
        status, headers, _ = call(f"{bed.url}/login")
        assert status == 503 and "X-Jenkins" not in headers
        assert settled_login(bed)[0] == 200


# --------------------------------------------------------------------------- reload by token


def test_reload_applies_a_change_without_a_restart(bed: Bed) -> None:
    with running(bed) as proc:
        assert settled_login(bed)[0] == 200
        (bed.casc / "alur.yaml").write_text(BASE_CASC.replace("first message", "second message"))
        status, _, body = reload(bed)
        assert (status, body) == (200, "")
        assert json.loads(admin(bed, "/api/json")[2])["description"] == "second message"
        assert proc.poll() is None


def test_reload_with_a_wrong_token_is_401_and_applies_nothing(bed: Bed) -> None:
    with running(bed):
        assert settled_login(bed)[0] == 200
        (bed.casc / "alur.yaml").write_text(BASE_CASC.replace("first message", "second message"))
        assert reload(bed, token="not-the-token")[0] == 401  # noqa: S106
        assert reload(bed, token="")[0] == 401
        assert json.loads(admin(bed, "/api/json")[2])["description"] == "first message"


def test_reload_refused_by_jcasc_answers_error_json_and_keeps_the_old_config(bed: Bed) -> None:
    with running(bed):
        assert settled_login(bed)[0] == 200
        (bed.casc / "alur.yaml").write_text(BASE_CASC.replace("first message", "second message"))
        (bed.casc / "inventory.yaml").write_text("noSuchRoot: {}\n")
        status, headers, body = reload(bed)
        assert status == 200 and headers["Content-Type"] == "application/json"
        answer = json.loads(body)
        assert answer["status"] == "error" and answer["message"].startswith("Failed to reload configuration: ")
        assert "noSuchRoot" in answer["message"]
        assert json.loads(admin(bed, "/api/json")[2])["description"] == "first message"
        assert settled_login(bed)[0] == 200, "a refused reload leaves Jenkins running"


def test_post_without_a_crumb_is_403(bed: Bed) -> None:
    with running(bed):
        assert settled_login(bed)[0] == 200
        answer = call(f"{bed.url}/configuration-as-code/reload", "POST", auth=("admin", ADMIN_PASSWORD))
        assert answer[0] == 403 and "No valid crumb" in answer[2]
    with running(bed, CASC_RELOAD_TOKEN=""):
        assert settled_login(bed)[0] == 200
        assert reload(bed)[0] == 403, "without a token the reload path is not excluded from CSRF protection"


# --------------------------------------------------------------------------- security realm


def test_admin_password_from_the_secrets_folder_is_checked(bed: Bed) -> None:
    with running(bed):
        assert settled_login(bed)[0] == 200
        assert call(f"{bed.url}/api/json")[0] == 403, "anonymous has no permission"
        assert call(f"{bed.url}/api/json", auth=("admin", "admin"))[0] == 401
        assert call(f"{bed.url}/login", auth=("admin", "wrong"))[0] == 401
        assert call(f"{bed.url}/api/json", auth=("nobody", ADMIN_PASSWORD))[0] == 401
        status, _, body = admin(bed, "/whoAmI/api/json")
        assert status == 200 and json.loads(body)["name"] == "admin"
        root = json.loads(admin(bed, "/api/json")[2])
        assert root["useSecurity"] is True and root["url"] == "https://ci.example.test/"


def test_reload_of_a_file_that_is_not_yaml_is_a_server_error(bed: Bed) -> None:
    with running(bed):
        assert settled_login(bed)[0] == 200
        (bed.casc / "alur.yaml").write_text("jenkins: [unclosed\n")
        assert reload(bed)[0] == 500, "snakeyaml's exception escapes TokenReloadAction, which catches only JCasC's"
        assert settled_login(bed)[0] == 200
    with running(bed):
        assert settled_login(bed, timeout=2)[0] == 503, "at start-up it is a boot failure"
