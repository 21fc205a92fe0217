"""The Kibana stand-in's contract (tests/standins/contract/kibana.yml): each rule refused once.

Kibana and, where its own login matters, the Elasticsearch stand-in run as local processes on 127.0.0.1 with their
configuration in tmp_path; secrets go into the stand-in keystores with the keystore tools, as the roles put them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import standin_kibana  # the stand-in program's module: pythonpath in pyproject
import yaml
from standin_process import free_port

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "standins" / "program" / "service.py"
ROLE = ROOT / "roles" / "kibana"
KEY = "k" * 32
KIBANA_PASSWORD = "kibana-system-secret"  # noqa: S105 - test value
ELASTIC_PASSWORD = "bootstrap-secret"  # noqa: S105 - test value


def call(url: str, user: str | None = None, password: str = "", method: str = "GET", body: object = None):
    request = urllib.request.Request(url, method=method)  # noqa: S310 - 127.0.0.1 only
    if user:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return 0, {}


class Kibana:
    def __init__(self, folder: Path, **settings: object):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.settings: dict[str, object] = {"server.host": "127.0.0.1", "server.port": self.port}
        self.settings.update(settings)
        self.keystore: dict[str, object] = {}

    def env(self) -> dict[str, str]:
        (self.folder / "kibana.yml").write_text(
            yaml.safe_dump({k: v for k, v in self.settings.items() if v is not None})
        )
        env = {**os.environ, "KBN_PATH_CONF": str(self.folder)}
        (self.folder / "kibana.keystore").unlink(missing_ok=True)
        subprocess.run([sys.executable, str(PROGRAM), "kibana-keystore", "create"], env=env, check=True)
        for key, value in self.keystore.items():
            subprocess.run(
                [sys.executable, str(PROGRAM), "kibana-keystore", "add", "--stdin", key],
                input=json.dumps(value) + "\n",
                text=True,
                env=env,
                check=True,
            )
        return env

    def refused(self) -> str:
        try:
            proc = subprocess.run(
                [sys.executable, str(PROGRAM), "kibana"],
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail("Kibana started: the stand-in did not refuse this configuration")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        return proc.stderr

    @contextmanager
    def running(self) -> Iterator[str]:
        proc = subprocess.Popen(
            [sys.executable, str(PROGRAM), "kibana"],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{self.port}"
        try:
            deadline = time.monotonic() + 20
            while call(f"{url}/api/status")[0] == 0:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"Kibana did not start: {proc.communicate()[0]}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@contextmanager
def elasticsearch(folder: Path) -> Iterator[str]:
    """A secured Elasticsearch stand-in (development mode) whose kibana_system user has KIBANA_PASSWORD."""
    folder.mkdir(parents=True)
    http = free_port()
    (folder / "elasticsearch.yml").write_text(
        f"network.host: 127.0.0.1\nhttp.port: {http}\ntransport.port: {free_port()}\npath.data: {folder}\n"
        "xpack.security.enabled: true\n"
    )
    env = {**os.environ, "ES_PATH_CONF": str(folder)}
    tool = [sys.executable, str(PROGRAM), "elasticsearch-keystore"]
    subprocess.run([*tool, "create"], env=env, check=True)
    subprocess.run(
        [*tool, "add", "-x", "bootstrap.password"], input=ELASTIC_PASSWORD + "\n", text=True, env=env, check=True
    )
    proc = subprocess.Popen([sys.executable, str(PROGRAM), "elasticsearch"], env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{http}"
    try:
        deadline = time.monotonic() + 20
        while call(f"{url}/")[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        path = f"{url}/_security/user/kibana_system/_password"
        assert call(path, "elastic", ELASTIC_PASSWORD, "POST", {"password": KIBANA_PASSWORD})[0] == 200
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_status(url: str, want: int, user: str | None = None, password: str = "", seconds: float = 15):
    deadline = time.monotonic() + seconds
    while True:
        status, body = call(f"{url}/api/status", user, password)
        if status == want or time.monotonic() > deadline:
            return status, body
        time.sleep(0.3)


# --- settings ---------------------------------------------------------------------------------


def test_unknown_setting_stops_kibana(tmp_path: Path) -> None:
    kibana = Kibana(tmp_path, **{"xpack.security.enabled": False})  # removed in 8.0
    assert 'Unknown configuration key(s): "xpack.security.enabled"' in kibana.refused()
    kibana.settings["xpack.security.enabled"] = None
    kibana.keystore["elasticsearch.pasword"] = "typo"  # keystore entries are settings too
    assert '"elasticsearch.pasword"' in kibana.refused()


def test_every_setting_the_role_writes_is_a_known_setting() -> None:
    template = (ROLE / "templates" / "etc" / "kibana" / "kibana.yml.j2").read_text()
    written = set(re.findall(r"^([a-z][\w.-]*):", template, re.MULTILINE))
    assert {"server.publicBaseUrl", "elasticsearch.username", "elasticsearch.ssl.verificationMode"} <= written
    keystore = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["__kibana_keystore_entries"]
    standin_kibana.check_settings(dict.fromkeys(written | set(keystore), "x"))


def test_elastic_superuser_is_refused_for_kibanas_connection(tmp_path: Path) -> None:
    assert 'value of "elastic" is forbidden' in Kibana(tmp_path, **{"elasticsearch.username": "elastic"}).refused()


def test_service_account_token_with_username_is_refused(tmp_path: Path) -> None:
    kibana = Kibana(tmp_path, **{"elasticsearch.username": "kibana_system"})
    kibana.keystore["elasticsearch.serviceAccountToken"] = "token"
    assert "serviceAccountToken cannot be specified" in kibana.refused()


def test_elasticsearch_host_without_scheme_is_refused(tmp_path: Path) -> None:
    kibana = Kibana(tmp_path, **{"elasticsearch.hosts": ["es1:9200"]})
    assert "expected URI with scheme [http|https]" in kibana.refused()


def test_short_encryption_keys_are_refused(tmp_path: Path) -> None:
    for key in ("xpack.encryptedSavedObjects.encryptionKey", "xpack.security.encryptionKey"):
        kibana = Kibana(tmp_path)
        kibana.keystore = {"xpack.encryptedSavedObjects.encryptionKey": KEY, "xpack.security.encryptionKey": KEY}
        kibana.keystore[key] = "k" * 31
        assert "minimum length of [32]" in kibana.refused(), key


def test_base_path_with_a_trailing_slash_is_refused(tmp_path: Path) -> None:
    assert "must start with a slash" in Kibana(tmp_path, **{"server.basePath": "/kibana/"}).refused()


def test_rewrite_base_path_without_base_path_is_refused(tmp_path: Path) -> None:
    kibana = Kibana(tmp_path, **{"server.rewriteBasePath": True})
    assert "cannot use [rewriteBasePath] when [basePath] is not specified" in kibana.refused()


def test_public_base_url_must_carry_the_base_path(tmp_path: Path) -> None:
    kibana = Kibana(tmp_path, **{"server.basePath": "/kibana", "server.publicBaseUrl": "https://logs.example"})
    assert "[publicBaseUrl] must contain the [basePath]" in kibana.refused()
    kibana.settings["server.publicBaseUrl"] = "https://logs.example/kibana?x=1"
    assert "may only contain a protocol, host, port, and pathname" in kibana.refused()
    kibana.settings["server.publicBaseUrl"] = "https://logs.example/kibana"
    with kibana.running():
        pass


def test_server_ssl_without_key_is_refused(tmp_path: Path) -> None:
    kibana = Kibana(tmp_path, **{"server.ssl.enabled": True, "server.ssl.certificate": str(tmp_path / "c.pem")})
    assert "must specify [certificate] and [key]" in kibana.refused()


# --- /api/status ------------------------------------------------------------------------------


def test_status_is_unavailable_while_kibana_cannot_log_in(tmp_path: Path) -> None:
    kibana = Kibana(tmp_path / "kibana", **{"elasticsearch.hosts": [f"http://127.0.0.1:{free_port()}"]})
    kibana.settings["elasticsearch.username"] = "kibana_system"
    kibana.keystore["elasticsearch.password"] = KIBANA_PASSWORD
    with kibana.running() as url:  # nothing listens where elasticsearch.hosts points
        assert call(f"{url}/api/status") == (503, {"status": {"overall": {"level": "unavailable"}}})
    with elasticsearch(tmp_path / "es") as es:
        kibana.settings["elasticsearch.hosts"] = [es]
        kibana.keystore["elasticsearch.password"] = "not-" + KIBANA_PASSWORD
        with kibana.running() as url:
            time.sleep(3)  # more than one login attempt
            status, body = call(f"{url}/api/status", "elastic", ELASTIC_PASSWORD)
            assert status == 503 and body["status"]["overall"]["level"] == "unavailable", body


def test_status_turns_available_with_the_kibana_system_password(tmp_path: Path) -> None:
    kibana = Kibana(tmp_path / "kibana", **{"elasticsearch.username": "kibana_system"})
    kibana.keystore["elasticsearch.password"] = KIBANA_PASSWORD
    with elasticsearch(tmp_path / "es") as es:
        kibana.settings["elasticsearch.hosts"] = [es]
        with kibana.running() as url:
            status, body = wait_status(url, 200, "elastic", ELASTIC_PASSWORD)
            assert status == 200 and body["status"]["overall"]["level"] == "available", body
            assert body["status"]["core"]["elasticsearch"]["level"] == "available"


def test_status_details_need_a_login_unless_anonymous_is_allowed(tmp_path: Path) -> None:
    kibana = Kibana(tmp_path / "kibana", **{"elasticsearch.username": "kibana_system"})
    kibana.keystore["elasticsearch.password"] = KIBANA_PASSWORD
    with elasticsearch(tmp_path / "es") as es:
        kibana.settings["elasticsearch.hosts"] = [es]
        with kibana.running() as url:
            assert wait_status(url, 200)[1] == {"status": {"overall": {"level": "available"}}}, "level only"
            assert call(f"{url}/api/status", "elastic", "wrong")[0] == 401
            status, body = call(f"{url}/api/status", "elastic", ELASTIC_PASSWORD)
            assert status == 200 and body["version"]["number"], body
        kibana.settings["status.allowAnonymous"] = True
        with kibana.running() as url:
            status, body = wait_status(url, 200)
            assert status == 200 and "version" in body, body


def test_status_under_its_base_path(tmp_path: Path) -> None:
    """With server.rewriteBasePath, Kibana serves /api/status under server.basePath only."""
    kibana = Kibana(tmp_path / "kibana", **{"server.basePath": "/kibana", "server.rewriteBasePath": True})
    kibana.settings["elasticsearch.username"] = "kibana_system"
    kibana.keystore["elasticsearch.password"] = KIBANA_PASSWORD
    with elasticsearch(tmp_path / "es") as es:
        kibana.settings["elasticsearch.hosts"] = [es]
        with kibana.running() as url:
            assert wait_status(f"{url}/kibana", 200)[0] == 200
            assert call(f"{url}/api/status")[0] == 501, "not served outside the base path"
