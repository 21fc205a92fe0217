"""Role logstash: pipeline, keystore, heap, API on loopback, the Beats port open to Filebeat hosts only."""

from __future__ import annotations

import re
import shlex

import alur_probe
import elastic_probe
import pytest
import yaml

testinfra_hosts = ["ansible://elk-logs"]

PIPELINE = "/etc/logstash/conf.d/alur-beats.conf"
FILEBEAT_CLIENT = ("/etc/filebeat/certs/filebeat.crt", "/etc/filebeat/certs/filebeat.key")


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


# --- the pipeline check and the Beats protocol (the stand-in speaks both; so does the product) --------


def test_pipeline_passes_logstash_t_as_the_service_user(host):
    """Logstash 9 refuses to run as root, -t included: the check runs as logstash, on a copy it may read."""
    with host.sudo():
        result = host.run(
            'd=$(mktemp -d) && trap \'rm -rf "$d"\' EXIT && mkdir "$d/data" "$d/logs" '
            '&& chown logstash:logstash "$d/data" "$d/logs" && chgrp logstash "$d" && chmod 0750 "$d" '
            f"&& runuser -u logstash -- /usr/share/logstash/bin/logstash --path.settings /etc/logstash "
            f'--path.data "$d/data" --path.logs "$d/logs" --config.test_and_exit -f {PIPELINE}'
        )
    assert result.rc == 0 and "Configuration OK" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]


# Run on the Filebeat host: python3 -c BEATS_PROBE ADDRESS PORT TIMEOUT [CA [CERT KEY]]. It sends one Beats
# (lumberjack v2) window with a JSON data frame, as Filebeat does, and prints exactly one of: ACKED (the input
# acknowledged the window), REFUSED <why> (reset, TLS handshake or certificate refused, closed without an answer),
# TIMEOUT (no answer at all: neither a refusal nor an acknowledgement) or UNEXPECTED <bytes>.
BEATS_PROBE = r"""
import json, socket, ssl, struct, sys
address, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ca, cert, key = (sys.argv[4:7] + [None, None, None])[:3]
event = json.dumps({"message": "alur beats probe", "@metadata": {"beat": "alur-probe"}}).encode()
frames = b"2W" + struct.pack(">I", 1) + b"2J" + struct.pack(">II", 1, len(event)) + event
answer = b""
try:
    conn = socket.create_connection((address, port), timeout)
    conn.settimeout(timeout)
    if ca:
        context = ssl.create_default_context(cafile=ca)
        if cert:
            context.load_cert_chain(cert, key)
        conn = context.wrap_socket(conn, server_hostname=address)
    conn.sendall(frames)
    while len(answer) < 6:
        chunk = conn.recv(6 - len(answer))
        if not chunk:
            break
        answer += chunk
except TimeoutError:
    print("TIMEOUT")
    sys.exit(0)
except OSError as exc:
    print("REFUSED", type(exc).__name__, exc)
    sys.exit(0)
if answer == b"2A" + struct.pack(">I", 1):
    print("ACKED")
elif not answer:
    print("REFUSED closed without an answer")
else:
    print("UNEXPECTED", answer.hex())
"""


def beats_probe(app, address, *tls):
    """The probe's one-word verdict, run on the Filebeat host (root: the client key is root's only)."""
    command = " ".join(["python3", "-c", shlex.quote(BEATS_PROBE), address, "5044", "10", *tls])
    with app.sudo():
        result = app.run(command)
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


def test_filebeat_certificate_gets_an_ack(app, logs_address):
    """The positive case: the probe can succeed, so its refusals below mean something."""
    verdict = beats_probe(app, logs_address, "/etc/filebeat/certs/ca.crt", *FILEBEAT_CLIENT)
    assert verdict == "ACKED", verdict


def test_plaintext_beats_connection_is_refused(app, logs_address):
    """A Beats window and event sent without TLS: the input must refuse it (not ACK it, not leave it hanging)."""
    verdict = beats_probe(app, logs_address)
    assert verdict.startswith("REFUSED"), verdict


def test_client_certificate_from_a_foreign_ca_is_refused(app, logs_address):
    """A client certificate signed by another CA: the TLS session is refused before any Beats exchange."""
    folder = "/tmp/alur-foreign-ca"  # noqa: S108 - on the lab host, removed below
    make = (
        f"rm -rf {folder} && mkdir -m 0700 {folder} && cd {folder} && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj /CN=foreign-ca && "
        "openssl req -newkey rsa:2048 -nodes -keyout c.key -out c.csr -subj /CN=intruder && "
        "openssl x509 -req -in c.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out c.crt -days 1"
    )
    with app.sudo():
        assert app.run(make).rc == 0
    try:
        verdict = beats_probe(app, logs_address, "/etc/filebeat/certs/ca.crt", f"{folder}/c.crt", f"{folder}/c.key")
    finally:
        with app.sudo():
            app.run(f"rm -rf {folder}")
    assert verdict.startswith("REFUSED"), verdict


# --- the real product only ------------------------------------------------------------------


@pytest.mark.real_product
def test_pipeline_runs(host):
    elastic_probe.require_real(host, "logstash")
    answer = host.check_output("curl -s http://127.0.0.1:9600/_node/pipelines/alur-beats")
    assert '"alur-beats"' in answer
