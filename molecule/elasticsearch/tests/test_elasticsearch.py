"""Role elasticsearch on a two-node cluster (shared by the elasticsearch and elasticsearch_upstream scenarios).

Checks marked real_product need Elasticsearch itself; on the CI stand-in they are skipped with reason "stand-in".
"""

from __future__ import annotations

import datetime
import json
import os
import stat
import subprocess
import sys
import urllib.error
from pathlib import Path
from typing import Any

import alur_probe
import elastic_probe
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

testinfra_hosts = ["ansible://elasticsearch"]

NODES = ("es1", "es2")
CONF = "/etc/elasticsearch"
CERTS = f"{CONF}/certs"


def peer_of(host: Any) -> Any:
    name = host.backend.get_hostname()
    return alur_probe.host(NODES[1 - NODES.index(name)])


def settings(host: Any) -> dict[str, Any]:
    with host.sudo():
        return dict(yaml.safe_load(host.file(f"{CONF}/elasticsearch.yml").content_string))


def url(host: Any, path: str = "/") -> str:
    return f"https://{elastic_probe.lab_address(host)}:9200{path}"


def test_service_enabled_and_running(host):
    service = host.service("elasticsearch")
    assert service.is_enabled and service.is_running


def test_config_is_the_roles_with_explicit_security(host):
    config = settings(host)
    addresses = sorted(elastic_probe.lab_address(alur_probe.host(n)) for n in NODES)
    assert config["network.host"] == elastic_probe.lab_address(host), "the static address from network_interfaces"
    assert sorted(config["discovery.seed_hosts"]) == [f"{a}:9300" for a in addresses]
    assert "cluster.initial_master_nodes" not in config, "initial masters are dropped once the cluster formed"
    assert config["xpack.security.enabled"] is True
    assert config["xpack.security.http.ssl.enabled"] is True
    assert config["xpack.security.transport.ssl.enabled"] is True
    assert config["xpack.security.transport.ssl.verification_mode"] == "full"
    assert not any(k.startswith("xpack.security.autoconfiguration") for k in config)
    with host.sudo():
        f = host.file(f"{CONF}/elasticsearch.yml")
        assert (f.user, f.group, f.mode) == ("root", "elasticsearch", 0o640)


def test_mmap_follows_the_kernel_setting(host):
    config = settings(host)
    map_count = int(host.file("/proc/sys/vm/max_map_count").content_string)
    if map_count < 262144:
        assert config.get("node.store.allow_mmap") is False, "a container cannot raise its host's vm.max_map_count"
    else:
        assert "node.store.allow_mmap" not in config


def test_heap_is_fixed_and_equal(host):
    with host.sudo():
        lines = host.file(f"{CONF}/jvm.options.d/alur-heap.options").content_string.split()
    assert "-Xms512m" in lines and "-Xmx512m" in lines


def test_key_is_readable_by_the_service_only(host):
    assert not host.file(f"{CERTS}/node.key").exists, "an ordinary user cannot even see the key"
    with host.sudo():
        key = host.file(f"{CERTS}/node.key")
        assert (key.user, key.group) == ("root", "elasticsearch")
        assert key.mode & 0o007 == 0 and key.mode & 0o020 == 0
        keystore = host.file(f"{CONF}/elasticsearch.keystore")
        assert (keystore.user, keystore.group) == ("root", "elasticsearch")
        assert keystore.mode & 0o007 == 0
        assert not host.run("find / -xdev -name ca.key -print -quit").stdout.strip(), "the CA key never goes to a host"


def test_certificate_names_the_static_address_and_chains_to_the_ca(host):
    with host.sudo():
        verify = host.run(f"openssl verify -CAfile {CERTS}/ca.crt {CERTS}/node.crt")
        sans = host.check_output(f"openssl x509 -noout -ext subjectAltName -in {CERTS}/node.crt")
    assert verify.rc == 0, verify.stdout + verify.stderr
    assert f"IP Address:{elastic_probe.lab_address(host)}" in sans
    assert f"DNS:{host.backend.get_hostname()}" in sans


def test_no_auto_configuration_left(host):
    for name in ("http_ca.crt", "http.p12", "transport.p12"):
        assert not host.file(f"{CERTS}/{name}").exists
    with host.sudo():
        entries = host.check_output("/usr/share/elasticsearch/bin/elasticsearch-keystore list").split()
    assert "autoconfiguration.password_hash" not in entries
    assert not [e for e in entries if e.endswith("ssl.keystore.secure_password")]


def stranger_ca(folder: Path) -> Path:
    """A CA certificate that signed nothing of the stack's."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the stack's CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / "stranger-ca.crt"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_https_verifies_against_the_stack_ca(host, tmp_path):
    """TLS checked against the stack's CA, at the static address peers use (this machine is allowed to 9200):
    it verifies with the stack's CA and with no other, and the node wants credentials (security is on)."""
    status, about = elastic_probe.api(url(host), user="elastic")
    assert status == 200 and about["version"]["number"], about
    assert elastic_probe.api(url(host))[0] == 401, "anonymous requests are refused"
    with pytest.raises(urllib.error.URLError) as refused:
        elastic_probe.api(url(host), user="elastic", cafile=stranger_ca(tmp_path))
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value), refused.value


def test_https_verifies_from_the_peer_allowed_to_it():
    """es2 (a Logstash host) checks es1's certificate with its own copy of the CA."""
    es1, es2 = alur_probe.host("es1"), alur_probe.host("es2")
    with es2.sudo():
        rc, status = elastic_probe.curl_status(es2, url(es1), "--cacert", f"{CERTS}/ca.crt")
    assert rc == 0 and status == "401", (rc, status)  # verified TLS, then anonymous refused (security is on)


def test_cluster_is_green(host):
    """Each node, asked at its own address, sees the whole cluster: green with both nodes (a node that cannot reach
    its peer has no master, or unassigned replicas, and the wait below times out)."""
    query = "/_cluster/health?wait_for_status=green&timeout=30s&master_timeout=30s"
    status, health = elastic_probe.api(url(host, query), user="elastic")
    assert status == 200, health
    assert health["status"] == "green" and health["timed_out"] is False, health
    assert health["number_of_nodes"] == len(NODES), health


def test_firewall_http_only_from_logstash_and_kibana_hosts(host):
    """es2 is in group logstash: it may reach es1's 9200; es1 is in neither group: es2's 9200 is closed to it."""
    peer = peer_of(host)
    here = elastic_probe.lab_address(host)
    allowed = peer.backend.get_hostname() == "es2"
    assert alur_probe.connects_from(peer, here, 9200) == allowed
    assert alur_probe.connects_from(host, here, 9200), "the service listens (the firewall decides, not the bind)"


def test_firewall_transport_between_nodes_only(host):
    peer = peer_of(host)
    assert alur_probe.connects_from(peer, elastic_probe.lab_address(host), 9300)
    # This machine is on the lab network too (and allowed to 9200 for the verifier), but never to 9300.
    assert not alur_probe.connects_from_controller(elastic_probe.lab_address(host), 9300)


def test_secrets_stored_encrypted_on_the_controller():
    folder = elastic_probe.controller_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    stored = folder / "secrets.vault.yml"
    # Only a boolean in the assertion: a failure must not print the file.
    encrypted = stored.read_text().startswith("$ANSIBLE_VAULT;")
    assert encrypted, "the generated secrets are not vault-encrypted"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    key = folder / "ca.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    key_encrypted = "ENCRYPTED" in key.read_text()
    assert key_encrypted, "the CA key is encrypted with its passphrase"


def test_no_secret_in_files_journal_or_ansible_output(host):
    assert elastic_probe.secret_findings(host) == [], "a secret is in plain text on the host"
    leaked = elastic_probe.secrets_in_ansible_log()
    assert not leaked, "a secret reached Ansible's output"


# --- what the role set up through the API (the stand-in keeps it as the product does) ---------


def test_anonymous_request_is_refused(host):
    status, _ = elastic_probe.api(url(host))
    assert status == 401


def test_bootstrap_password_gone_and_users_log_in(host):
    with host.sudo():
        entries = host.check_output("/usr/share/elasticsearch/bin/elasticsearch-keystore list").split()
    assert "bootstrap.password" not in entries
    for user in ("elastic", "kibana_system", "alur_logstash_writer"):
        status, who = elastic_probe.api(url(host, "/_security/_authenticate"), user=user)
        assert status == 200 and who["username"] == user


def test_logstash_writer_role_grants_only_creating_log_documents(host):
    status, role = elastic_probe.api(url(host, "/_security/role/alur_logstash_writer"), user="elastic")
    assert status == 200
    role = role["alur_logstash_writer"]
    assert role["cluster"] == ["monitor"]
    assert [(i["names"], sorted(i["privileges"])) for i in role["indices"]] == [
        (["logs-alur-*"], ["auto_configure", "create_doc"])
    ]
    status, user = elastic_probe.api(url(host, "/_security/user/alur_logstash_writer"), user="elastic")
    assert status == 200 and user["alur_logstash_writer"]["roles"] == ["alur_logstash_writer"]


def test_logs_policy_and_template(host):
    status, policy = elastic_probe.api(url(host, "/_ilm/policy/alur-logs"), user="elastic")
    assert status == 200 and "delete" in policy["alur-logs"]["policy"]["phases"]
    status, templates = elastic_probe.api(url(host, "/_index_template/alur-logs"), user="elastic")
    template = templates["index_templates"][0]["index_template"]
    assert template["index_patterns"] == ["logs-alur-*"] and "data_stream" in template
    assert template["template"]["settings"]["index"]["lifecycle"]["name"] == "alur-logs"


# --- the real product only ------------------------------------------------------------------


@pytest.mark.real_product
def test_logstash_writer_may_not_read_or_write_elsewhere(host):
    elastic_probe.require_real(host, "elasticsearch")
    status, _ = elastic_probe.api(url(host, "/logs-alur-default/_search"), user="alur_logstash_writer")
    assert status == 403, "the writer may not read"
    status, _ = elastic_probe.api(url(host, "/other-index/_doc"), user="alur_logstash_writer", method="POST", body={})
    assert status == 403, "nor write elsewhere"


# --- last: changes the cluster --------------------------------------------------------------


def _started(node: Any) -> int:
    """When the node's service last became active (the kernel's monotonic clock, shared by the containers)."""
    return int(node.check_output("systemctl show -P ActiveEnterTimestampMonotonic elasticsearch.service"))


def test_config_change_restarts_one_node_at_a_time():
    """A changed setting restarts es1, waits for it to answer and the cluster to be green, then restarts es2."""
    nodes = [alur_probe.host(n) for n in NODES]
    before = [_started(n) for n in nodes]
    scenario = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            str(scenario / "converge.yml"),
            "--tags",
            "elasticsearch",
            "-e",
            json.dumps({"elasticsearch_extra_settings": {"action.destructive_requires_name": True}}),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    after = [_started(n) for n in nodes]
    assert all(a > b for a, b in zip(after, before, strict=True)), "both nodes restarted"
    assert after[0] < after[1], "es1 first"
    # es2 went down only after es1 was back: its stop came after es1 became active again.
    es2_stopped = int(nodes[1].check_output("systemctl show -P InactiveEnterTimestampMonotonic elasticsearch.service"))
    assert es2_stopped > after[0], "es2 restarted while es1 was still coming back"
    status, health = elastic_probe.api(url(nodes[0], "/_cluster/health"), user="elastic")
    assert status == 200 and health["status"] == "green"
    for node in nodes:
        assert settings(node)["action.destructive_requires_name"] is True
