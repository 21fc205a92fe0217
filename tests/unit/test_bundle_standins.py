"""The stand-in program (tests/standins/service.py), run here as a process on 127.0.0.1 with its config in tmp."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "standins" / "service.py"
spec = importlib.util.spec_from_file_location("standin_service", PROGRAM)
assert spec and spec.loader
service = importlib.util.module_from_spec(spec)
spec.loader.exec_module(service)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(*args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, str(PROGRAM), *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def get(url: str, timeout: float = 15) -> tuple[int, dict[str, str], str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - 127.0.0.1 only
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_elasticsearch_answers_where_its_yml_says(tmp_path: Path) -> None:
    http_port, transport_port = free_port(), free_port()
    (tmp_path / "elasticsearch.yml").write_text(
        f"cluster:\n  name: alur-test\nnetwork.host: 127.0.0.1\n"
        f"http.port: {http_port}\ntransport.port: {transport_port}\n"
    )
    with running("elasticsearch", env={"ES_PATH_CONF": str(tmp_path)}):
        status, _, body = get(f"http://127.0.0.1:{http_port}/")
        assert status == 200 and json.loads(body)["cluster_name"] == "alur-test"
        status, _, body = get(f"http://127.0.0.1:{http_port}/_cluster/health")
        assert json.loads(body)["status"] == "green"
        status, headers, _ = get(f"http://127.0.0.1:{http_port}/_security/user/kibana_system")
        assert status == 501 and headers["X-Alur-Standin"] == "elasticsearch"
        socket.create_connection(("127.0.0.1", transport_port), timeout=2).close()


@pytest.mark.parametrize(
    ("yml", "message"),
    [
        ("http.port: [9200\n", "does not parse"),
        ("http.port: ninety\n", "is not a port"),
        ("- a list\n", "expected a mapping"),
        ("network.host: _eth9_\n", "does not resolve"),
        ("xpack.security.http.ssl.enabled: true\n", "PEM certificate and key"),
    ],
)
def test_elasticsearch_refuses_bad_config(tmp_path: Path, yml: str, message: str) -> None:
    (tmp_path / "elasticsearch.yml").write_text(yml)
    proc = subprocess.run(
        [sys.executable, str(PROGRAM), "elasticsearch"],
        env={**os.environ, "ES_PATH_CONF": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1 and message in proc.stderr


def test_kibana_status_under_its_base_path(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "kibana.yml").write_text(
        f'server.port: {port}\nserver.host: "127.0.0.1"\nserver.basePath: /kibana\nserver.rewriteBasePath: true\n'
    )
    (tmp_path / "node.options").write_text("--max-old-space-size=512\n")
    with running("kibana", env={"KBN_PATH_CONF": str(tmp_path)}):
        status, _, body = get(f"http://127.0.0.1:{port}/kibana/api/status")
        assert status == 200 and json.loads(body)["status"]["overall"]["level"] == "available"


def test_logstash_checks_pipelines_and_opens_beats(tmp_path: Path) -> None:
    api, beats = free_port(), free_port()
    (tmp_path / "logstash.yml").write_text(f"api.http.host: 127.0.0.1\napi.http.port: {api}\n")
    conf = tmp_path / "conf.d"
    conf.mkdir()
    (conf / "beats.conf").write_text(
        f'# a comment with {{ braces\ninput {{ beats {{ port => {beats} host => "127.0.0.1" }} }}\n'
        'filter { mutate { add_field => { "x" => "}" } } }\noutput { stdout {} }\n'
    )
    (tmp_path / "pipelines.yml").write_text(f'- pipeline.id: main\n  path.config: "{conf}/*.conf"\n')
    checked = subprocess.run(
        [sys.executable, str(PROGRAM), "logstash", "--path.settings", str(tmp_path), "-t"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0 and "Configuration OK" in checked.stdout
    with running("logstash", "--path.settings", str(tmp_path), env={}):
        status, _, body = get(f"http://127.0.0.1:{api}/")
        assert status == 200 and json.loads(body)["status"] == "green"
        socket.create_connection(("127.0.0.1", beats), timeout=5).close()


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        ("input { beats { port => 5044 }\n", "unterminated block"),
        ('input { beats { host => "x" } }\n', "needs a port"),
        ("inputs { }\n", "found 'inputs'"),
        ('output { stdout { codec => "rubydebug } }\n', "unterminated string"),
    ],
)
def test_logstash_refuses_broken_pipelines(pipeline: str, message: str) -> None:
    with pytest.raises(service.ConfigError, match=message):
        service.check_pipeline(pipeline, "test")


def test_filebeat_enforces_the_vendors_permission_rule(tmp_path: Path) -> None:
    config = tmp_path / "filebeat.yml"
    config.write_text("filebeat.inputs:\n  - type: filestream\n    id: a\n    paths: [/var/log/*.log]\n")
    config.chmod(0o600)
    base = [sys.executable, str(PROGRAM), "filebeat", "--path.config", str(tmp_path)]
    ok = subprocess.run([*base, "test", "config"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and ok.stdout.strip() == "Config OK"
    config.chmod(0o664)
    refused = subprocess.run([*base, "test", "config"], capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "can only be writable by the owner" in refused.stderr
    relaxed = subprocess.run(
        [*base, "--strict.perms=false", "test", "config"], capture_output=True, text=True, check=False
    )
    assert relaxed.returncode == 0


def test_jenkins_refuses_to_start_without_java(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(PROGRAM), "jenkins"],
        env={**os.environ, "JENKINS_HOME": str(tmp_path), "JENKINS_JAVA_CMD": str(tmp_path / "no-java")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1 and "failed to find a valid Java installation" in proc.stderr


def test_jenkins_answers_login_with_its_prefix_when_java_21_is_there(tmp_path: Path) -> None:
    fake_java = tmp_path / "java"
    fake_java.write_text("#!/bin/sh\necho 'openjdk version \"21.0.9\" 2025-10-21' >&2\n")
    fake_java.chmod(0o755)
    port = free_port()
    env = {
        "JENKINS_HOME": str(tmp_path),
        "JENKINS_JAVA_CMD": str(fake_java),
        "JENKINS_PORT": str(port),
        "JENKINS_LISTEN_ADDRESS": "127.0.0.1",
        "JENKINS_PREFIX": "/ci",
    }
    with running("jenkins", env=env):
        status, headers, _ = get(f"http://127.0.0.1:{port}/ci/login")
        assert status == 200 and "X-Jenkins" in headers


def test_ports_and_addresses_read_like_elastic() -> None:
    assert service.port_of("9200-9300", "http.port") == 9200
    everywhere = "0.0.0.0"  # noqa: S104 - the value under test
    assert service.bind_addresses(["_local_", everywhere], "network.host") == ["127.0.0.1", everywhere]


def test_unequal_heap_is_refused(tmp_path: Path) -> None:
    options = tmp_path / "heap.options"
    options.write_text("-Xms512m\n-Xmx1g\n")
    with pytest.raises(service.ConfigError, match="differs from maximum heap"):
        service.check_jvm_options(options)
    options.write_text("# ok\n17-:-Xms1g\n-Xmx1g\n")
    service.check_jvm_options(options)
