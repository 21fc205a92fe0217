"""The TLS proxy (real nginx from Debian): certificate, redirect, firewall, configuration check."""

from __future__ import annotations

import http.client
import re
import socket
import ssl
from pathlib import Path
from typing import Any

import alur_probe


def peer_certificate(address: str, ca_file: Path) -> dict[str, Any]:
    context = ssl.create_default_context(cafile=str(ca_file))
    with (
        socket.create_connection((address, 443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=address) as tls,
    ):
        return tls.getpeercert()


def test_https_certificate_from_the_controller_ca_names_the_host(ctl_address: str, ca_file: Path) -> None:
    # Verified against the controller-side CA, for the host's static address (an IP SAN).
    cert = peer_certificate(ctl_address, ca_file)
    sans = cert["subjectAltName"]
    assert ("IP Address", ctl_address) in sans
    assert ("DNS", "jenkins-ctl") in sans
    issuer = dict(item[0] for item in cert["issuer"])
    assert issuer["commonName"].startswith("Alur CA")


def test_ca_key_stays_on_the_controller(ctl: Any, ca_file: Path) -> None:
    ca_key = ca_file.parent / "ca.key"
    assert ca_key.is_file() and ca_key.stat().st_mode & 0o077 == 0
    assert ca_file.parent.stat().st_mode & 0o077 == 0
    with ctl.sudo():
        keys = ctl.run("grep -rl 'PRIVATE KEY' /etc/nginx/tls")
        host_key = ctl.file("/etc/nginx/tls/alur.key")
        assert keys.stdout.split() == ["/etc/nginx/tls/alur.key"], "only the host's own key may be on the host"
        assert (host_key.user, host_key.mode) == ("root", 0o600)


def test_https_proxies_to_jenkins(https: Any) -> None:
    login = https("/login")
    assert login.status == 200
    assert "x-jenkins" in login.headers
    assert login.headers.get("strict-transport-security", "").startswith("max-age=")


def test_http_redirects_to_https(ctl_address: str) -> None:
    conn = http.client.HTTPConnection(ctl_address, 80, timeout=10)
    try:
        conn.request("GET", "/job/alur-example/?x=1")
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 301
    assert response.getheader("Location") == f"https://{ctl_address}/job/alur-example/?x=1"
    assert b"Jenkins" not in body and response.getheader("X-Jenkins") is None, "plain HTTP must not reach Jenkins"


def test_nginx_configuration_checks(ctl: Any) -> None:
    with ctl.sudo():
        check = ctl.run("nginx -t")
    assert check.rc == 0, check.stderr
    assert ctl.service("nginx").is_running and ctl.service("nginx").is_enabled


def test_firewall_opens_the_proxy_and_nothing_else(ctl: Any, agent: Any, ctl_address: str) -> None:
    with ctl.sudo():
        ruleset = ctl.check_output("nft list table inet alur")
    assert re.search(r'tcp dport 443 accept comment "nginx-proxy-https"', ruleset)
    assert re.search(r'tcp dport 80 accept comment "nginx-proxy-http"', ruleset)
    alur_probe.listen(ctl, 8099)
    assert alur_probe.connects_from(agent, ctl_address, 443)
    assert not alur_probe.connects_from(agent, ctl_address, 8099), "a port nobody opened is reachable"
