"""The Logstash stand-in's contract rules (tests/standins/contract/logstash.yml): each test shows it refusing a
violation, run as a local process with its settings in a temporary folder."""

from __future__ import annotations

import ast
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import standin_common
import standin_logstash
import standin_process  # tests/unit: the stand-in program as a local process
from standin_process import free_port

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "standins" / "program" / "service.py"
MOLECULE_TESTS = ROOT / "molecule" / "logstash_kibana_filebeat" / "tests" / "test_logstash.py"
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
ROOT_OK = "allow_superuser: true\n"  # the tests run as root; only the superuser tests leave this out


@pytest.fixture
def folder() -> Iterator[Path]:
    """A settings folder another user can read too (pytest's tmp_path is root's only)."""
    path = Path(tempfile.mkdtemp(prefix="alur-logstash-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def settings(folder: Path, logstash_yml: str, pipeline: str) -> None:
    (folder / "logstash.yml").write_text(logstash_yml)
    (folder / "pipeline.conf").write_text(pipeline)
    (folder / "pipelines.yml").write_text(f"- pipeline.id: main\n  path.config: {folder / 'pipeline.conf'}\n")
    for path in folder.iterdir():
        path.chmod(0o644)


def config_test(folder: Path, *, user: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(user or []), sys.executable, str(PROGRAM), "logstash", "--path.settings", str(folder), "-t"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def running(folder: Path) -> AbstractContextManager[subprocess.Popen[str]]:
    return standin_process.running("logstash", "--path.settings", str(folder))


def wait_for_port(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the beats port did not open"
            time.sleep(0.2)


PLAIN_PIPELINE = 'input { beats { port => 5044 host => "127.0.0.1" } }\noutput { stdout {} }\n'


# --- running as root -------------------------------------------------------------------------------------


def test_refuses_to_run_as_root(folder: Path) -> None:
    assert os.geteuid() == 0, "these tests run as root, as the lab does"
    settings(folder, "api.enabled: false\n", PLAIN_PIPELINE)
    refused = config_test(folder)
    assert refused.returncode == 1 and "Logstash cannot be run as superuser" in refused.stderr, refused.stderr
    service = subprocess.run(
        [sys.executable, str(PROGRAM), "logstash", "--path.settings", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert service.returncode == 1 and "cannot be run as superuser" in service.stderr, service.stderr
    # Another user passes, and so does root once logstash.yml allows it.
    as_nobody = config_test(folder, user=NOBODY)
    assert as_nobody.returncode == 0 and "Configuration OK" in as_nobody.stdout, as_nobody.stderr
    settings(folder, "api.enabled: false\n" + ROOT_OK, PLAIN_PIPELINE)
    assert config_test(folder).returncode == 0


# --- logstash.yml and pipelines.yml ----------------------------------------------------------------------


@pytest.mark.parametrize("line", ["http.host: 127.0.0.1", "http.port: 9600", "api.http.hots: 127.0.0.1"])
def test_refuses_a_setting_logstash_does_not_register(folder: Path, line: str) -> None:
    """9.0 removed the http.* aliases of the api.* settings; a typo is refused the same way."""
    settings(folder, f"{ROOT_OK}{line}\n", PLAIN_PIPELINE)
    refused = config_test(folder)
    name = line.split(":")[0]
    assert refused.returncode == 1 and f'Setting "{name}" doesn\'t exist' in refused.stderr, refused.stderr
    settings(folder, f"{ROOT_OK}api.http.host: 127.0.0.1\napi:\n  http:\n    port: 9601\n", PLAIN_PIPELINE)
    assert config_test(folder).returncode == 0


def test_pipelines_yml_takes_only_pipeline_settings(folder: Path) -> None:
    settings(folder, ROOT_OK, PLAIN_PIPELINE)
    (folder / "pipelines.yml").write_text(
        f"- pipeline.id: main\n  path.config: {folder / 'pipeline.conf'}\n  api.http.port: 9700\n"
    )
    refused = config_test(folder)
    assert refused.returncode == 1 and 'Received "api.http.port"' in refused.stderr, refused.stderr


# --- the options of the plugins the roles use ------------------------------------------------------------


@pytest.mark.parametrize(
    "removed", ["ssl", "ssl_verify_mode", "ssl_peer_metadata", "tls_min_version", "tls_max_version", "cipher_suites"]
)
def test_beats_input_refuses_options_9x_removed(removed: str) -> None:
    pipeline = f'input {{ beats {{ port => 5044 {removed} => "x" }} }}\n'
    with pytest.raises(standin_common.ConfigError, match=f"setting `{removed}` in plugin `beats` is obsolete"):
        standin_logstash.check_pipeline(pipeline, "test")


def test_beats_input_refuses_an_unknown_option() -> None:
    with pytest.raises(standin_common.ConfigError, match="Unknown setting 'ssl_verification_mode' for beats"):
        standin_logstash.check_pipeline('input { beats { port => 5044 ssl_verification_mode => "full" } }', "t")


def test_beats_input_needs_a_port() -> None:
    with pytest.raises(standin_common.ConfigError, match="needs a port"):
        standin_logstash.check_pipeline('input { beats { host => "127.0.0.1" } }', "t")


@pytest.mark.parametrize(
    "removed", ["cacert", "ssl_certificate_verification", "keystore", "truststore", "ssl", "keystore_password"]
)
def test_elasticsearch_output_refuses_options_9x_removed(removed: str) -> None:
    pipeline = f'input {{ beats {{ port => 5044 }} }}\noutput {{ elasticsearch {{ {removed} => "x" }} }}\n'
    with pytest.raises(standin_common.ConfigError, match=f"setting `{removed}` in plugin `elasticsearch` is obsolete"):
        standin_logstash.check_pipeline(pipeline, "test")


def test_elasticsearch_output_refuses_an_unknown_option() -> None:
    pipeline = 'output { if [x] { elasticsearch { hosts => ["https://a:9200"] ssl_client_authentication => "x" } } }'
    with pytest.raises(standin_common.ConfigError, match="Unknown setting 'ssl_client_authentication'"):
        standin_logstash.check_pipeline(pipeline, "test")


def test_the_roles_pipeline_options_pass() -> None:
    """The options roles/logstash writes (templates/etc/logstash/conf.d/alur-beats.conf.j2), all known to 9.5."""
    pipeline = """
input {
  beats {
    id => "alur-beats-input"
    host => "192.0.2.1"
    port => 5044
    ssl_enabled => true
    ssl_certificate => "/etc/logstash/certs/logstash.crt"
    ssl_key => "/etc/logstash/certs/logstash.key"
    ssl_certificate_authorities => ["/etc/logstash/certs/ca.crt"]
    ssl_client_authentication => "required"
  }
}
filter { mutate { add_field => { "a" => "b" } } }
output {
  elasticsearch {
    id => "alur-elasticsearch-output"
    hosts => ["https://192.0.2.1:9200"]
    user => "alur_logstash_writer"
    password => "${ALUR_ES_PASSWORD}"
    ssl_enabled => true
    ssl_certificate_authorities => ["/etc/logstash/certs/ca.crt"]
    ssl_verification_mode => "full"
    data_stream => "true"
    data_stream_type => "logs"
    data_stream_dataset => "alur"
    data_stream_namespace => "default"
    data_stream_auto_routing => false
  }
}
"""
    [beats] = standin_logstash.check_pipeline(pipeline, "roles")
    assert beats["port"] == 5044 and beats["ssl"]["ssl_client_authentication"] == "required"


# --- the Beats protocol ----------------------------------------------------------------------------------


def window(*events: dict, compress: bool = False) -> bytes:
    frames = b""
    for sequence, event in enumerate(events, 1):
        payload = json.dumps(event).encode()
        frames += b"2J" + struct.pack(">II", sequence, len(payload)) + payload
    if compress:
        packed = zlib.compress(frames)
        frames = b"2C" + struct.pack(">I", len(packed)) + packed
    return b"2W" + struct.pack(">I", len(events)) + frames


@pytest.mark.parametrize("compress", [False, True])
def test_beats_input_acknowledges_each_window(folder: Path, compress: bool) -> None:
    port = free_port()
    settings(folder, ROOT_OK + "api.enabled: false\n", f'input {{ beats {{ port => {port} host => "127.0.0.1" }} }}\n')
    with running(folder) as proc:
        wait_for_port(port, proc)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(window({"message": "one"}, {"message": "two"}, compress=compress))
            assert conn.recv(6) == b"2A" + struct.pack(">I", 2)
            conn.sendall(window({"message": "three"}))
            assert conn.recv(6) == b"2A" + struct.pack(">I", 1)


def test_beats_input_drops_a_connection_that_is_not_lumberjack(folder: Path) -> None:
    port = free_port()
    settings(folder, ROOT_OK + "api.enabled: false\n", f'input {{ beats {{ port => {port} host => "127.0.0.1" }} }}\n')
    with running(folder) as proc:
        wait_for_port(port, proc)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\n\r\n")
            try:
                answer = conn.recv(6)
            except ConnectionResetError:
                answer = b""
            assert answer == b"", "a non-Beats client is closed without an answer"


# --- the Molecule scenario's Beats probe, proven here able to tell ACK, refusal and silence apart ---------


def molecule_probe() -> str:
    tree = ast.parse(MOLECULE_TESTS.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["BEATS_PROBE"]:
            return str(ast.literal_eval(node.value))
    raise AssertionError("BEATS_PROBE not found in the Molecule test")


def probe(port: int, *tls: Path, timeout: int = 3) -> str:
    args = [sys.executable, "-c", molecule_probe(), "127.0.0.1", str(port), str(timeout), *map(str, tls)]
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def make_certificate(folder: Path, name: str, ca: tuple[Path, Path] | None = None) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.crt"
    new = ["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={name}"]
    if ca is None:
        subprocess.run([*new, "-x509", "-days", "1", "-keyout", key, "-out", cert], check=True, capture_output=True)
        return cert, key
    csr, ext = folder / f"{name}.csr", folder / f"{name}.ext"
    subprocess.run([*new, "-keyout", key, "-out", csr], check=True, capture_output=True)
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    sign = ["openssl", "x509", "-req", "-days", "1", "-CAcreateserial", "-in", csr, "-CA", ca[0], "-CAkey", ca[1]]
    subprocess.run([*sign, "-extfile", ext, "-out", cert], check=True, capture_output=True)
    return cert, key


def test_molecule_beats_probe_tells_ack_from_refusal_and_timeout(folder: Path) -> None:
    ca = make_certificate(folder, "stack-ca")
    foreign = make_certificate(folder, "foreign-ca")
    server, client = make_certificate(folder, "logstash", ca), make_certificate(folder, "filebeat", ca)
    intruder = make_certificate(folder, "intruder", foreign)
    plain, tls = free_port(), free_port()
    settings(
        folder,
        ROOT_OK + "api.enabled: false\n",
        f'input {{ beats {{ port => {plain} host => "127.0.0.1" }} }}\n'
        f'input {{ beats {{ port => {tls} host => "127.0.0.1" ssl_enabled => true ssl_certificate => "{server[0]}"\n'
        f'  ssl_key => "{server[1]}" ssl_certificate_authorities => ["{ca[0]}"]\n'
        '  ssl_client_authentication => "required" } }\n',
    )
    with running(folder) as proc:
        wait_for_port(plain, proc)
        wait_for_port(tls, proc)
        # An input with TLS off answers a plaintext client: test_plaintext_beats_connection_is_refused would fail.
        assert probe(plain) == "ACKED"
        assert probe(tls).startswith("REFUSED")
        assert probe(tls, ca[0], *client) == "ACKED"
        assert probe(tls, ca[0], *intruder).startswith("REFUSED")
    # A listener that never answers is a timeout, not a refusal.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        held: list[socket.socket] = []
        threading.Thread(target=lambda: held.append(silent.accept()[0]), daemon=True).start()
        assert probe(silent.getsockname()[1], timeout=1) == "TIMEOUT"
        for conn in held:
            conn.close()
    # Nothing listening at all is refused (the connection is reset).
    assert probe(free_port()).startswith("REFUSED")
