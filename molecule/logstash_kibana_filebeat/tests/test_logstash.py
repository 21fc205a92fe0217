"""Role logstash: pipeline, keystore, heap, API on loopback, the Beats port open to Filebeat hosts only."""

from __future__ import annotations

import re

import alur_probe
import elastic_probe
import pytest
import yaml

testinfra_hosts = ["ansible://elk-logs"]

PIPELINE = "/etc/logstash/conf.d/alur-beats.conf"


def read(host, path):
    with host.sudo():
        return host.file(path).content_string


def test_service_enabled_and_running(host):
    service = host.service("logstash")
    assert service.is_enabled and service.is_running


def test_pipeline_uses_the_9x_tls_options_and_the_writer_user(host, logs_address, es_url):
    text = read(host, PIPELINE)
    for line in (
        f'host => "{logs_address}"',
        "port => 5044",
        "ssl_enabled => true",
        'ssl_certificate => "/etc/logstash/certs/logstash.crt"',
        'ssl_key => "/etc/logstash/certs/logstash.key"',
        'ssl_certificate_authorities => ["/etc/logstash/certs/ca.crt"]',
        'ssl_client_authentication => "required"',
        f'hosts => ["{es_url}"]',
        'user => "alur_logstash_writer"',
        'password => "${ALUR_ES_PASSWORD}"',
        'ssl_verification_mode => "full"',
        'data_stream_dataset => "alur"',
    ):
        assert line in text, line
    # Options 9.x removed from the Beats input and the Elasticsearch output.
    for removed in ("ssl =>", "ssl_verify_mode", "ssl_certificate_verification", "cacert =>", "ssl_peer_metadata"):
        assert not re.search(rf"^\s*{re.escape(removed)}", text, re.M), removed
    assert 'user => "elastic"' not in text


def test_settings_keep_the_api_on_loopback(host):
    settings = yaml.safe_load(read(host, "/etc/logstash/logstash.yml"))
    assert settings["api.http.host"] == "127.0.0.1"
    assert host.socket("tcp://127.0.0.1:9600").is_listening
    assert not host.socket("tcp://0.0.0.0:9600").is_listening
    pipelines = yaml.safe_load(read(host, "/etc/logstash/pipelines.yml"))
    assert pipelines == [{"pipeline.id": "alur-beats", "path.config": PIPELINE}]


def test_heap_is_set_and_equal(host):
    options = read(host, "/etc/logstash/jvm.options").split()
    assert [o for o in options if o.startswith("-Xm")] == ["-Xms256m", "-Xmx256m"]


def test_files_and_keys_belong_to_the_service(host):
    assert not host.file("/etc/logstash/certs/logstash.key").exists, "an ordinary user cannot even see the key"
    with host.sudo():
        for path, mode in (
            (PIPELINE, 0o640),
            ("/etc/logstash/logstash.keystore", 0o640),
            ("/etc/logstash/certs/logstash.key", 0o640),
        ):
            f = host.file(path)
            assert (f.user, f.group, f.mode) == ("root", "logstash", mode), path
        digest = host.file("/var/lib/alur/logstash/keystore.sha512")
        assert (digest.user, digest.mode) == ("root", 0o600)
        keys = host.check_output("/usr/share/logstash/bin/logstash-keystore --path.settings /etc/logstash list")
    assert "alur_es_password" in keys.lower()


def test_beats_port_only_from_filebeat_hosts(host, logs_address, app, kibana):
    assert alur_probe.connects_from(app, logs_address, 5044), "elk-app runs Filebeat"
    assert not alur_probe.connects_from(kibana, logs_address, 5044), "elk-kibana does not"
    assert not alur_probe.connects_from_controller(logs_address, 5044)


def test_no_secret_in_files_or_journal(host):
    assert elastic_probe.secret_findings(host) == [], "a secret is in plain text on the host"


# --- the real product only ------------------------------------------------------------------


@pytest.mark.real_product
def test_pipeline_passes_logstash_t(host):
    elastic_probe.require_real(host, "logstash")
    with host.sudo():
        result = host.run(
            "d=$(mktemp -d) && /usr/share/logstash/bin/logstash --path.settings /etc/logstash "
            f'--path.data "$d" --path.logs "$d" --config.test_and_exit -f {PIPELINE}; rc=$?; rm -rf "$d"; exit $rc'
        )
    assert result.rc == 0, result.stdout[-2000:]


@pytest.mark.real_product
def test_pipeline_runs(host):
    elastic_probe.require_real(host, "logstash")
    answer = host.check_output("curl -s http://127.0.0.1:9600/_node/pipelines/alur-beats")
    assert '"alur-beats"' in answer


@pytest.mark.real_product
def test_plaintext_beats_connection_is_refused(host, app, logs_address):
    """A Beats (lumberjack v2) window frame sent without TLS gets no acknowledgement: the input drops it."""
    elastic_probe.require_real(host, "logstash")
    script = f"""
python3 - <<'PY'
import socket
with socket.create_connection(("{logs_address}", 5044), 5) as s:
    s.settimeout(10)
    s.sendall(b"2W" + (1).to_bytes(4, "big"))
    try:
        data = s.recv(64)
    except OSError:
        data = b""
print("ACK" if data.startswith(b"2A") else "CLOSED")
PY
"""
    result = app.run(script)
    assert "ACK" not in result.stdout, "a plaintext client got an acknowledgement"


@pytest.mark.real_product
def test_client_certificate_from_a_foreign_ca_is_refused(host, app, logs_address):
    """A client certificate signed by another CA: the TLS session is refused (no Beats exchange possible)."""
    elastic_probe.require_real(host, "logstash")
    script = f"""
set -e
d=$(mktemp -d); cd "$d"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj /CN=foreign-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout c.key -out c.csr -subj /CN=intruder 2>/dev/null
openssl x509 -req -in c.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out c.crt -days 1 2>/dev/null
python3 - <<'PY'
import socket, ssl
ctx = ssl.create_default_context(cafile="/etc/filebeat/certs/ca.crt")
ctx.load_cert_chain("c.crt", "c.key")
try:
    with socket.create_connection(("{logs_address}", 5044), 5) as raw:
        with ctx.wrap_socket(raw, server_hostname="{logs_address}") as tls:
            tls.settimeout(10)
            tls.sendall(b"2W" + (1).to_bytes(4, "big"))
            print("ACK" if tls.recv(64).startswith(b"2A") else "CLOSED")
except (ssl.SSLError, OSError) as exc:
    print("REFUSED", type(exc).__name__)
PY
cd /; rm -rf "$d"
"""
    with app.sudo():
        result = app.run(script)
    assert "ACK" not in result.stdout and ("REFUSED" in result.stdout or "CLOSED" in result.stdout), result.stdout
