"""Checks of the Elastic stack hosts (roles elasticsearch, logstash, kibana, filebeat).

Every check runs on the host itself and sends no credentials: a password on a remote command line would be
readable by other users of the host. Elasticsearch is asked anonymously (401 means up, with security on) and its
last logged health change is reported; Kibana's /api/status answers an unauthenticated caller with its overall
level only (200 available, 503 otherwise); Logstash's and Filebeat's APIs listen on loopback without auth.
"""

from __future__ import annotations

import json
import re
import shlex

from alur.service_checks import active, package_version, static_address, url_host
from alur.status import ServiceContext, ServiceHealth, service_check

_HEALTH_LINE = re.compile(r"Cluster health status changed from \[(\w+)\] to \[(\w+)\]")


def _address(context: ServiceContext) -> str:
    return url_host(static_address(context, "elasticstack_host_address"))


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
    version, standin = package_version(context, "elasticsearch")
    port = context.variables("elasticstack_elasticsearch_http_port", 9200)
    scheme = "https" if _tls(context) else "http"
    url = f"{scheme}://{_address(context)}:{port}"
    up, state = active(context, "elasticsearch.service")
    if not up:
        return ServiceHealth("elasticsearch", False, version, url, f"elasticsearch.service is {state}")
    status, _ = _get(context, url + "/", "--cacert", "/etc/elasticsearch/certs/ca.crt")
    if status not in (200, 401):
        return ServiceHealth("elasticsearch", False, version, url, f"HTTP answered {status or 'nothing'}{standin}")
    detail = "answers, security on (401 without credentials)" if status == 401 else "answers"
    log_dir = context.variables("elasticsearch_log_dir", "/var/log/elasticsearch")
    cluster = context.variables("elasticstack_cluster_name", "alur")
    grep = context.run(
        f"grep -h 'Cluster health status changed' {shlex.quote(f'{log_dir}/{cluster}.log')} | tail -n 1", sudo=True
    )
    match = _HEALTH_LINE.search(grep.stdout)
    if match:
        health = match.group(2).lower()
        detail = f"cluster {health} (last change logged), {detail}"
        return ServiceHealth("elasticsearch", health != "red", version, url, detail + standin)
    return ServiceHealth("elasticsearch", True, version, url, detail + standin)


@service_check("logstash", "logstash")
def logstash(context: ServiceContext) -> ServiceHealth:
    version, standin = package_version(context, "logstash")
    up, state = active(context, "logstash.service")
    if not up:
        return ServiceHealth("logstash", False, version, None, f"logstash.service is {state}")
    api = f"http://127.0.0.1:{context.variables('logstash_api_port', 9600)}"
    status, body = _get(context, api + "/_node/stats/pipelines/alur-beats")
    try:
        events = json.loads(body)["pipelines"]["alur-beats"]["events"]
    except (ValueError, KeyError, TypeError):
        detail = f"pipeline alur-beats not running (API {status or 'does not answer'}){standin}"
        return ServiceHealth("logstash", False, version, None, detail)
    detail = f"pipeline alur-beats up, {events.get('out', 0)} events out since start{standin}"
    return ServiceHealth("logstash", True, version, None, detail)


@service_check("kibana", "kibana")
def kibana(context: ServiceContext) -> ServiceHealth:
    version, standin = package_version(context, "kibana")
    up, state = active(context, "kibana.service")
    behind_proxy = bool(context.variables("kibana_behind_proxy", True))
    port = context.variables("elasticstack_kibana_port", 5601)
    base_path = context.variables("kibana_base_path", "") or ""
    address = _address(context)
    own_tls = _tls(context) and not behind_proxy
    local = f"{'https' if own_tls else 'http'}://{address if own_tls else '127.0.0.1'}:{port}{base_path}"
    proxy_port = context.variables("nginx_proxy_https_port", 443)
    public = context.variables("kibana_public_url", "") or (
        f"https://{address}{'' if proxy_port == 443 else f':{proxy_port}'}{base_path}/" if behind_proxy else local + "/"
    )
    if not up:
        return ServiceHealth("kibana", False, version, public, f"kibana.service is {state}")
    status, body = _get(context, local + "/api/status", "--cacert", "/etc/kibana/certs/ca.crt")
    try:
        level = json.loads(body)["status"]["overall"]["level"]
    except (ValueError, KeyError, TypeError):
        return ServiceHealth("kibana", False, version, public, f"/api/status answered {status or 'nothing'}{standin}")
    return ServiceHealth("kibana", level == "available", version, public, f"{level}{standin}")


@service_check("filebeat", "filebeat")
def filebeat(context: ServiceContext) -> ServiceHealth:
    version, standin = package_version(context, "filebeat")
    up, state = active(context, "filebeat.service")
    if not up:
        return ServiceHealth("filebeat", False, version, None, f"filebeat.service is {state}")
    port = context.variables("filebeat_http_port", 5066)
    status, body = _get(context, f"http://127.0.0.1:{port}/stats")
    try:
        output = json.loads(body)["libbeat"]["output"]
        acked, failed = output["events"]["acked"], output["events"]["failed"]
    except (ValueError, KeyError, TypeError):
        detail = f"stats endpoint answered {status or 'nothing'}{standin}"
        return ServiceHealth("filebeat", False, version, None, detail)
    # Filebeat logs its non-zero metrics every 30 s: the newest line with acked events dates the last publish.
    last = context.run(
        "journalctl -u filebeat.service -o short-iso --no-pager --since -1d | grep -F '\"acked\":' | tail -n 1",
        sudo=True,
    ).stdout.split(" ", 1)[0]
    detail = f"{acked} events acknowledged by Logstash, {failed} failed"
    detail += f"; last publish logged {last}" if last else "; no publish logged in the last day"
    return ServiceHealth("filebeat", failed == 0, version, None, detail + standin)
