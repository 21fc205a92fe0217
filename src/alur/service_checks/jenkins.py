"""Checks of the Jenkins hosts: the controller (ready when /login answers 200 with X-Jenkins), its TLS proxy,
and each agent's Java and account (roles jenkins and nginx_proxy)."""

from __future__ import annotations

import re
import shlex

from alur.service_checks import active, package_version, static_address, url_host
from alur.status import ServiceContext, ServiceHealth, service_check


def _head(context: ServiceContext, url: str, insecure: bool = False) -> tuple[int | None, dict[str, str]]:
    """Status and headers of a GET on the host itself (curl: every Alur host has it)."""
    flags = "-k " if insecure else ""
    result = context.run(f"curl -sS {flags}-o /dev/null -D - --max-time 10 {shlex.quote(url)}")
    lines = result.stdout.replace("\r", "").splitlines()
    if result.rc != 0 or not lines:
        return None, {}
    match = re.match(r"HTTP/\S+ (\d{3})", lines[0])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return (int(match.group(1)) if match else None), headers


def _local_url(context: ServiceContext) -> str:
    port = context.variables("jenkins_port", 8080)
    prefix = context.variables("jenkins_prefix", "") or ""
    address = context.variables("jenkins_listen_address", "127.0.0.1") or "127.0.0.1"
    if address in {"0.0.0.0", "::"}:  # noqa: S104 - listening everywhere: ask it on loopback
        address = "127.0.0.1"
    return f"http://{address}:{port}{prefix}/login"


@service_check("jenkins", "jenkins")
def jenkins(context: ServiceContext) -> ServiceHealth:
    up, state = active(context, "jenkins.service")
    public = context.variables("jenkins_url", "") or None
    if not up:
        return ServiceHealth(name="jenkins", up=False, url=public, detail=f"jenkins.service is {state}")
    status, headers = _head(context, _local_url(context))
    version = headers.get("x-jenkins")
    standin = package_version(context, "jenkins")[1]
    if status == 200 and version:
        return ServiceHealth(name="jenkins", up=True, version=version, url=public, detail=f"ready{standin}")
    if status == 503:
        return ServiceHealth(name="jenkins", up=False, version=version, url=public, detail="starting (503)")
    return ServiceHealth(
        name="jenkins",
        up=False,
        version=version,
        url=public,
        detail=f"/login answered {status or 'nothing'}" + ("" if version else " without X-Jenkins"),
    )


@service_check("jenkins", "nginx-proxy")
def proxy(context: ServiceContext) -> ServiceHealth:
    up, state = active(context, "nginx.service")
    # nginx lives in /usr/sbin, outside an operator's PATH; -v needs no privileges.
    version = re.search(r"nginx/([\d.]+)", context.run("/usr/sbin/nginx -v 2>&1").stdout)
    if not up:
        return ServiceHealth(name="nginx-proxy", up=False, detail=f"nginx.service is {state}")
    port = context.variables("nginx_proxy_https_port", 443)
    # The certificate is checked by clients against the Alur CA; here only whether the proxy answers.
    status, headers = _head(context, f"https://127.0.0.1:{port}/login", insecure=True)
    detail = f"HTTPS {status}" if status else "HTTPS does not answer"
    if "x-jenkins" in headers:
        detail += ", reaches Jenkins"
    # The address the role puts in the proxy's certificate, so the URL verifies against the Alur CA.
    address = url_host(static_address(context))
    return ServiceHealth(
        name="nginx-proxy",
        up=status is not None and status < 500,
        version=version.group(1) if version else None,
        url=f"https://{address}{'' if port == 443 else f':{port}'}/",
        detail=detail,
    )


@service_check("jenkins_agents", "jenkins-agent")
def agent(context: ServiceContext) -> ServiceHealth:
    user = context.variables("jenkins_agent_user", "jenkins-agent") or "jenkins-agent"
    java = context.run("java -version 2>&1").stdout
    match = re.search(r'version "([\d._]+)', java)
    account = context.run(f"getent passwd {shlex.quote(str(user))}").rc == 0
    problems = []
    if not match:
        problems.append("no java")
    elif int(match.group(1).split(".")[0]) < 21:
        problems.append(f"java {match.group(1)} (Jenkins needs 21 or 25)")
    if not account:
        problems.append(f"no account {user}")
    return ServiceHealth(
        name="jenkins-agent",
        up=not problems,
        version=f"java {match.group(1)}" if match else None,
        detail="; ".join(problems) or f"java and account {user} ready",
    )
