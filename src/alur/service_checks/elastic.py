"""Checks of the Elastic stack hosts (roles elasticsearch, logstash, kibana, filebeat).

Every check runs on the host itself and sends no credentials: a password on a remote command line would be
readable by other users of the host. Elasticsearch is asked anonymously (401 means up, with security on) and its
last logged health change is reported; Kibana's /api/status answers anonymously with its overall level
(status.allowAnonymous, set by the role); Logstash's and Filebeat's APIs listen on loopback without auth.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from typing import Any

from alur.status import ServiceContext, ServiceHealth, service_check

_STANDIN = "+standin"
_HEALTH_LINE = re.compile(r"Cluster health status changed from \[(\w+)\] to \[(\w+)\]")


def _active(context: ServiceContext, unit: str) -> tuple[bool, str]:
    state = context.run(f"systemctl is-active {unit}").stdout.strip() or "unknown"
    return state == "active", state


def _package(context: ServiceContext, name: str) -> tuple[str | None, str]:
    """(product version, " (CI stand-in)" or "") from the installed package."""
    raw = context.run(f"dpkg-query -W -f='${{Version}}' {name}").stdout.strip()
    if not raw:
        return None, ""
    version = raw.split(":", 1)[-1].split("-", 1)[0].replace(_STANDIN, "")
    return version, " (CI stand-in)" if _STANDIN in raw else ""


def static_address(context: ServiceContext) -> str:
    """The address the roles bind to: elasticstack_host_address, network_interfaces, else ansible_host."""
    override = context.variables("elasticstack_host_address", None)
    if override:
        return str(override)
    found: list[Any] = []
    for interface in context.variables("network_interfaces", None) or []:
        if not isinstance(interface, dict) or interface.get("method", "static") != "static":
            continue
        for entry in interface.get("addresses") or []:
            text = entry.get("address") if isinstance(entry, dict) else entry
            try:
                found.append(ipaddress.ip_interface(str(text)).ip)
            except ValueError:
                continue
    for version in (4, 6):
        for address in found:
            if address.version == version:
                return str(address)
    return context.connection.address


def _url_host(address: str) -> str:
    try:
        return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        return address


def _get(context: ServiceContext, url: str, *options: str) -> tuple[int | None, str]:
    """(HTTP status, body) of an anonymous GET made on the host."""
    args = " ".join(shlex.quote(o) for o in (*options, url))
    result = context.run(f"curl -sS --max-time 10 -w '\\n%{{http_code}}' {args}", sudo=True)
    body, _, status = result.stdout.rpartition("\n")
    return (int(status) if result.rc == 0 and status.strip().isdigit() else None), body


def _tls(context: ServiceContext) -> bool:
    return bool(context.variables("elasticstack_profile", "prod") != "dev")


@service_check("elasticsearch", "elasticsearch")
def elasticsearch(context: ServiceContext) -> ServiceHealth:
    version, standin = _package(context, "elasticsearch")
    port = context.variables("elasticstack_elasticsearch_http_port", 9200)
    scheme = "https" if _tls(context) else "http"
    url = f"{scheme}://{_url_host(static_address(context))}:{port}"
    active, state = _active(context, "elasticsearch.service")
    if not active:
        return ServiceHealth("elasticsearch", False, version, url, f"elasticsearch.service is {state}")
    status, body = _get(context, url + "/", "--cacert", "/etc/elasticsearch/certs/ca.crt")
    if status not in (200, 401):
        return ServiceHealth("elasticsearch", False, version, url, f"HTTP answered {status or 'nothing'}")
    detail = "answers, security on (401 without credentials)" if status == 401 else "answers"
    if standin:
        # The stand-in has no security and reports a constant health; say so rather than pretend.
        status, body = _get(context, url + "/_cluster/health", "--cacert", "/etc/elasticsearch/certs/ca.crt")
        try:
            detail = f"cluster {json.loads(body)['status']}{standin}"
        except (ValueError, KeyError):
            detail += standin
        return ServiceHealth("elasticsearch", True, version, url, detail)
    log_dir = context.variables("elasticsearch_log_dir", "/var/log/elasticsearch")
    cluster = context.variables("elasticstack_cluster_name", "alur")
    grep = context.run(
        f"grep -h 'Cluster health status changed' {shlex.quote(f'{log_dir}/{cluster}.log')} | tail -n 1", sudo=True
    )
    match = _HEALTH_LINE.search(grep.stdout)
    if match:
        health = match.group(2).lower()
        detail = f"cluster {health} (last change logged), {detail}"
        return ServiceHealth("elasticsearch", health != "red", version, url, detail)
    return ServiceHealth("elasticsearch", True, version, url, detail)


@service_check("logstash", "logstash")
def logstash(context: ServiceContext) -> ServiceHealth:
    version, standin = _package(context, "logstash")
    active, state = _active(context, "logstash.service")
    if not active:
        return ServiceHealth("logstash", False, version, None, f"logstash.service is {state}")
    api = f"http://127.0.0.1:{context.variables('logstash_api_port', 9600)}"
    if standin:
        status, _ = _get(context, api + "/")
        return ServiceHealth("logstash", status == 200, version, None, f"API answers {status}{standin}")
    status, body = _get(context, api + "/_node/stats/pipelines/alur-beats")
    try:
        events = json.loads(body)["pipelines"]["alur-beats"]["events"]
    except (ValueError, KeyError, TypeError):
        return ServiceHealth("logstash", False, version, None, f"pipeline alur-beats not running (API {status})")
    return ServiceHealth(
        "logstash", True, version, None, f"pipeline alur-beats up, {events.get('out', 0)} events out since start"
    )


@service_check("kibana", "kibana")
def kibana(context: ServiceContext) -> ServiceHealth:
    version, standin = _package(context, "kibana")
    active, state = _active(context, "kibana.service")
    behind_proxy = bool(context.variables("kibana_behind_proxy", True))
    port = context.variables("elasticstack_kibana_port", 5601)
    base_path = context.variables("kibana_base_path", "") or ""
    address = _url_host(static_address(context))
    own_tls = _tls(context) and not behind_proxy
    local = f"{'https' if own_tls else 'http'}://{address if own_tls else '127.0.0.1'}:{port}{base_path}"
    proxy_port = context.variables("nginx_proxy_https_port", 443)
    public = context.variables("kibana_public_url", "") or (
        f"https://{address}{'' if proxy_port == 443 else f':{proxy_port}'}{base_path}/" if behind_proxy else local + "/"
    )
    if not active:
        return ServiceHealth("kibana", False, version, public, f"kibana.service is {state}")
    status, body = _get(context, local + "/api/status", "--cacert", "/etc/kibana/certs/ca.crt")
    try:
        level = json.loads(body)["status"]["overall"]["level"]
    except (ValueError, KeyError, TypeError):
        return ServiceHealth("kibana", False, version, public, f"/api/status answered {status or 'nothing'}")
    return ServiceHealth("kibana", level == "available", version, public, f"{level}{standin}")


@service_check("filebeat", "filebeat")
def filebeat(context: ServiceContext) -> ServiceHealth:
    version, standin = _package(context, "filebeat")
    active, state = _active(context, "filebeat.service")
    if not active:
        return ServiceHealth("filebeat", False, version, None, f"filebeat.service is {state}")
    port = context.variables("filebeat_http_port", 5066)
    if standin:
        status, _ = _get(context, f"http://127.0.0.1:{port}/")
        return ServiceHealth("filebeat", status == 200, version, None, f"stats endpoint {status}{standin}")
    status, body = _get(context, f"http://127.0.0.1:{port}/stats")
    try:
        output = json.loads(body)["libbeat"]["output"]
        acked, failed = output["events"]["acked"], output["events"]["failed"]
    except (ValueError, KeyError, TypeError):
        return ServiceHealth("filebeat", False, version, None, f"stats endpoint answered {status or 'nothing'}")
    # Filebeat logs its non-zero metrics every 30 s: the newest line with acked events dates the last publish.
    last = context.run(
        "journalctl -u filebeat.service -o short-iso --no-pager --since -1d | grep -F '\"acked\":' | tail -n 1",
        sudo=True,
    ).stdout.split(" ", 1)[0]
    detail = f"{acked} events acknowledged by Logstash, {failed} failed"
    detail += f"; last publish logged {last}" if last else "; no publish logged in the last day"
    return ServiceHealth("filebeat", failed == 0, version, None, detail)
