"""Role kibana: kibana_system over TLS, secrets in the keystore, memory cap, loopback behind nginx_proxy."""

from __future__ import annotations

import alur_probe
import elastic_probe
import pytest
import yaml

testinfra_hosts = ["ansible://elk-kibana"]


def proxy_ca():
    return elastic_probe.inventory_dir() / ".pki" / "ca.crt"


def test_service_enabled_and_running(host):
    service = host.service("kibana")
    assert service.is_enabled and service.is_running


def test_config_connects_as_kibana_system_over_verified_tls(host, es_url, kibana_address):
    with host.sudo():
        config = yaml.safe_load(host.file("/etc/kibana/kibana.yml").content_string)
    assert config["elasticsearch.hosts"] == [es_url]
    assert config["elasticsearch.username"] == "kibana_system"
    assert config["elasticsearch.ssl.certificateAuthorities"] == ["/etc/kibana/certs/ca.crt"]
    assert config["elasticsearch.ssl.verificationMode"] == "full"
    assert config["server.host"] == "127.0.0.1", "behind nginx_proxy Kibana listens on loopback only"
    assert config["server.publicBaseUrl"] == f"https://{kibana_address}"
    for secret_setting in ("elasticsearch.password", "xpack.encryptedSavedObjects.encryptionKey"):
        assert secret_setting not in config, f"{secret_setting} belongs in the keystore"


def test_secrets_in_the_keystore_readable_by_the_service_only(host):
    with host.sudo():
        keystore = host.file("/etc/kibana/kibana.keystore")
        assert (keystore.user, keystore.group) == ("root", "kibana") and keystore.mode & 0o007 == 0
        config = host.file("/etc/kibana/kibana.yml")
        assert (config.user, config.group, config.mode) == ("root", "kibana", 0o640)
        entries = host.check_output("KBN_PATH_CONF=/etc/kibana /usr/share/kibana/bin/kibana-keystore list").split()
    for name in ("elasticsearch.password", "xpack.encryptedSavedObjects.encryptionKey", "xpack.security.encryptionKey"):
        assert name in entries


def test_memory_is_capped(host):
    with host.sudo():
        options = host.file("/etc/kibana/node.options").content_string.split()
    assert [o for o in options if o.startswith("--max-old-space-size")] == ["--max-old-space-size=512"]


def test_kibana_port_reachable_from_the_proxy_only(host, kibana_address, app, logs):
    assert host.socket("tcp://127.0.0.1:5601").is_listening
    for other in (app, logs):
        assert not alur_probe.connects_from(other, kibana_address, 5601)
    assert not alur_probe.connects_from_controller(kibana_address, 5601)
    assert alur_probe.connects_from_controller(kibana_address, 443), "nginx_proxy serves it on 443"


def test_available_through_the_tls_proxy(kibana_address):
    """Through nginx_proxy's TLS, Kibana reports itself available, which it does only while its own login to
    Elasticsearch (kibana_system, password from its keystore, Elasticsearch's CA) works: 503 otherwise."""
    status, body = elastic_probe.api(f"https://{kibana_address}/api/status", user="elastic", cafile=proxy_ca())
    assert status == 200, body
    assert body["status"]["overall"]["level"] == "available", body
    assert body["status"]["core"]["elasticsearch"]["level"] == "available", body


def test_status_without_credentials_shows_the_level_only(kibana_address):
    """status.allowAnonymous is off: an anonymous caller (a monitor, a proxy's probe) learns the level, no more."""
    status, body = elastic_probe.api(f"https://{kibana_address}/api/status", cafile=proxy_ca())
    assert status == 200 and body == {"status": {"overall": {"level": "available"}}}, body


def test_no_secret_in_files_or_journal(host):
    assert elastic_probe.secret_findings(host) == [], "a secret is in plain text on the host"


def test_no_secret_in_ansible_output():
    leaked = elastic_probe.secrets_in_ansible_log()
    assert not leaked, "a secret reached Ansible's output"


def test_data_view_for_the_logs_exists(host, kibana_address):
    status, body = elastic_probe.api(
        f"https://{kibana_address}/api/data_views/data_view/alur-logs", user="elastic", cafile=proxy_ca()
    )
    assert status == 200 and body["data_view"]["title"] == "logs-alur-*"


# --- the real product only ------------------------------------------------------------------


@pytest.mark.real_product
def test_kibana_reports_elasticsearch_available(host, kibana_address):
    elastic_probe.require_real(host, "kibana")
    status, body = elastic_probe.api(f"https://{kibana_address}/api/status", user="elastic", cafile=proxy_ca())
    assert status == 200 and body["status"]["core"]["elasticsearch"]["level"] == "available", body
