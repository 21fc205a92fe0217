"""Role filebeat: inputs with unique ids, Logstash over TLS with a client certificate, the logs arriving."""

from __future__ import annotations

import time
import uuid
from urllib.parse import quote

import elastic_probe
import pytest
import yaml

testinfra_hosts = ["ansible://filebeat"]

CERTS = "/etc/filebeat/certs"


def config(host):
    with host.sudo():
        return yaml.safe_load(host.file("/etc/filebeat/filebeat.yml").content_string)


def test_service_enabled_and_running(host):
    service = host.service("filebeat")
    assert service.is_enabled and service.is_running


def test_inputs_have_unique_ids(host):
    inputs = config(host)["filebeat.inputs"]
    ids = [i["id"] for i in inputs]
    assert len(ids) == len(set(ids))
    assert {"alur-journald", "alur-syslog"} <= set(ids)
    assert {i["type"] for i in inputs} <= {"filestream", "journald"}, "the log input makes Filebeat 9 exit"
    assert "alur-jenkins" not in ids and "alur-nginx" not in ids, "this host runs neither Jenkins nor a proxy"


def test_output_is_logstash_over_tls_with_a_client_certificate(host, logs_address):
    output = config(host)["output.logstash"]
    assert output["hosts"] == [f"{logs_address}:5044"]
    assert output["ssl.enabled"] is True and output["ssl.verification_mode"] == "full"
    assert output["ssl.certificate_authorities"] == [f"{CERTS}/ca.crt"]
    assert output["ssl.certificate"] == f"{CERTS}/filebeat.crt" and output["ssl.key"] == f"{CERTS}/filebeat.key"
    assert "output.elasticsearch" not in config(host), "Filebeat has no Elasticsearch credentials at all"


def test_config_and_key_are_root_only(host):
    with host.sudo():
        for path in ("/etc/filebeat/filebeat.yml", f"{CERTS}/filebeat.key"):
            f = host.file(path)
            assert (f.user, f.group, f.mode) == ("root", "root", 0o600), path
        verify = host.run(f"openssl verify -CAfile {CERTS}/ca.crt {CERTS}/filebeat.crt")
        assert verify.rc == 0, verify.stdout


def test_stats_endpoint_on_loopback_only(host):
    assert host.socket("tcp://127.0.0.1:5066").is_listening
    assert not host.socket("tcp://0.0.0.0:5066").is_listening


def test_no_secret_on_the_host(host):
    assert elastic_probe.secret_findings(host) == [], "a secret is in plain text on the host"


def test_filebeat_test_config_and_output(host):
    """Filebeat 9 accepts the role's configuration, and reaches Logstash over TLS with the client certificate
    (`test output` for Logstash dials and shakes hands only; test_logstash.py's probe proves the Beats exchange)."""
    with host.sudo():
        config = host.run("filebeat test config")
        output = host.run("filebeat test output")
    assert config.rc == 0 and "Config OK" in config.stdout, config.stdout + config.stderr
    assert output.rc == 0 and "handshake... OK" in output.stdout, output.stdout


# --- the real product only ------------------------------------------------------------------


@pytest.mark.real_product
def test_a_logger_line_is_searchable_within_60_seconds(host, es_url):
    elastic_probe.require_real(host, "filebeat")
    marker = f"alur-e2e-{uuid.uuid4().hex}"
    host.check_output(f"logger -t alur-e2e {marker}")
    query = quote(f'message:"{marker}"')
    deadline = time.monotonic() + 60
    hits = 0
    while time.monotonic() < deadline:
        status, body = elastic_probe.api(f"{es_url}/logs-alur-*/_search?q={query}", user="elastic")
        hits = body["hits"]["total"]["value"] if status == 200 else 0
        if hits:
            break
        time.sleep(3)
    assert hits >= 1, f"{marker} did not reach Elasticsearch within 60 s"
