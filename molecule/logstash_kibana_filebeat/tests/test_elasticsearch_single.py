"""Role elasticsearch as a single node: discovery, health, and the HTTP port open to Logstash and Kibana only."""

from __future__ import annotations

import alur_probe
import elastic_probe
import yaml

testinfra_hosts = ["ansible://elk-logs"]


def test_single_node_discovery(host):
    with host.sudo():
        config = yaml.safe_load(host.file("/etc/elasticsearch/elasticsearch.yml").content_string)
    assert config["discovery.type"] == "single-node"
    assert "cluster.initial_master_nodes" not in config and "discovery.seed_hosts" not in config


def test_health_green_or_yellow(es_url):
    """The single node elects itself and reaches yellow or better within the wait (408 and timed_out otherwise),
    as one node: a node configured to need peers it cannot reach would have no master (503) or time out."""
    query = "/_cluster/health?wait_for_status=yellow&timeout=30s&master_timeout=30s"
    status, health = elastic_probe.api(f"{es_url}{query}", user="elastic")
    assert status == 200, health
    assert health["status"] in {"green", "yellow"} and health["timed_out"] is False, health
    assert health["number_of_nodes"] == 1, health


def test_http_port_only_from_logstash_and_kibana_hosts(host, logs_address, kibana, app):
    assert alur_probe.connects_from(kibana, logs_address, 9200), "Kibana's host"
    assert alur_probe.connects_from(host, logs_address, 9200), "Logstash on this host"
    assert not alur_probe.connects_from(app, logs_address, 9200), "a Filebeat-only host"
    assert not alur_probe.connects_from(kibana, logs_address, 9300), "no transport peers on a single node"
