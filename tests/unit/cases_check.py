"""Bad values for the roles' own rules, shared by two tests: tests/unit/test_check.py (`alur check --offline`
refuses every one, each host beside good ones) and tests/integration/test_bad_input.py (site.yml stops in its
validate play on real hosts, for a chosen few)."""

from __future__ import annotations

from typing import Any

# (host, groups, variables, what the error says): each host carries one bad value.
BAD_INPUTS: list[tuple[str, list[str], dict[str, Any], str]] = [
    ("jenkins-port", ["jenkins"], {"jenkins_port": 70000}, "jenkins_port must be 1-65535 (got 70000)"),
    ("jenkins-port-type", ["jenkins"], {"jenkins_port": "eighty"}, "argument 'jenkins_port' is of type str"),
    ("jenkins-prefix", ["jenkins"], {"jenkins_prefix": "jenkins/"}, "jenkins_prefix must be empty or like /jenkins"),
    ("jenkins-url", ["jenkins"], {"jenkins_url": "ftp://ci"}, "jenkins_url must be empty or http(s)://host/..."),
    ("jenkins-heap", ["jenkins"], {"jenkins_heap_max": "lots"}, "jenkins_heap_max must be a size like 1g (got lots)"),
    ("jenkins-backups", ["jenkins"], {"jenkins_backup_keep": 0}, "jenkins_backup_keep must be at least 1 (got 0)"),
    ("jenkins-label", ["jenkins"], {"jenkins_agent_label": "two words"}, "jenkins_agent_label must be one word"),
    ("jenkins-password", ["jenkins"], {"jenkins_admin_password": "admin"}, "jenkins_admin_password must have at"),
    ("java-major", ["jenkins_agents"], {"java_major_version": 17}, "value of java_major_version must be one of"),
    ("proxy-port", ["jenkins"], {"nginx_proxy_https_port": 0}, "nginx_proxy_https_port 1-65535 (got 0)"),
    ("proxy-renew", ["jenkins"], {"nginx_proxy_cert_renew_days": 400}, "nginx_proxy_cert_renew_days (400) below"),
    ("proxy-names", ["jenkins"], {"nginx_proxy_server_names": ["ci example"]}, "(got ci example)"),
    ("proxy-cert-alone", ["jenkins"], {"nginx_proxy_tls_certificate": "x"}, "nginx_proxy_tls_private_key are given"),
    ("common-ssh-port", [], {"common_ssh_port": 70000}, "common_ssh_port port 70000 is outside 1-65535"),
    ("common-timezone", [], {"common_timezone": "Mars Base"}, "common_timezone Mars Base is not a zoneinfo name"),
    ("common-ssh-from", [], {"common_ssh_allow_from": ["10.0.0.300/24"]}, "common_ssh_allow_from has invalid"),
    ("common-ssh-type", [], {"common_ssh_port": "ssh"}, "argument 'common_ssh_port' is of type str"),
    ("common-ssh-rsa", [], {"common_ssh_rsa_host_key_bits": 2048}, "common_ssh_rsa_host_key_bits at least 3072"),
    ("hardening-umask", [], {"hardening_login_umask": "999"}, "hardening_login_umask 999 is not an octal mask"),
    ("hardening-ignoreip", [], {"hardening_fail2ban_ignoreip": ["10.0.0.300"]}, "hardening_fail2ban_ignoreip has"),
    ("stack-version", ["filebeat"], {"elasticstack_version": "7.17.0"}, "(got 7.17.0)"),
    ("stack-secret", ["filebeat"], {"elasticstack_elastic_password": "short"}, "elasticstack_elastic_password"),
    ("es-heap-form", ["elasticsearch"], {"elasticsearch_heap_size": "lots"}, "between 256m and 31g (got lots)"),
    ("es-heap-size", ["elasticsearch"], {"elasticsearch_heap_size": "64g"}, "(got 64g = 65536 MB)"),
    ("es-map-count", ["elasticsearch"], {"elasticsearch_max_map_count": 1000}, "elasticsearch_max_map_count at"),
    (
        "es-owned",
        ["elasticsearch"],
        {"elasticsearch_extra_settings": {"discovery.type": "single-node"}},
        "what the role owns (discovery.type)",
    ),
    ("ls-port", ["logstash"], {"logstash_api_port": 0}, "logstash_api_port 1-65535"),
    ("ls-workers", ["logstash"], {"logstash_pipeline_workers": 0}, "logstash_pipeline_workers 1 or more"),
    ("ls-heap", ["logstash"], {"logstash_heap_size": "1x"}, "(got 1x)"),
    ("kibana-path", ["kibana"], {"kibana_base_path": "/kibana/"}, "kibana_base_path like /kibana"),
    ("kibana-url", ["kibana"], {"kibana_public_url": "https://k.example/other"}, "kibana_public_url an http(s)"),
    ("kibana-from", ["kibana"], {"kibana_allow_from": ["anywhere"]}, "kibana_allow_from CIDR networks (anywhere)"),
    (
        "kibana-proxies",
        ["kibana"],
        {"kibana_behind_proxy": False, "kibana_proxy_hosts": ["nohost"]},
        "kibana_proxy_hosts inventory hosts (nohost)",
    ),
    ("filebeat-port", ["filebeat"], {"filebeat_http_port": 70000}, "filebeat_http_port 1-65535"),
]
