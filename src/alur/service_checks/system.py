"""Checks every host gets: sshd (how Ansible reaches it) and the nftables firewall of role common."""

from __future__ import annotations

import re

from alur.service_checks import active
from alur.status import ServiceContext, ServiceHealth, service_check


@service_check("all", "sshd")
def sshd(context: ServiceContext) -> ServiceHealth:
    up, state = active(context, "ssh.service")
    # `ssh -V` prints the OpenSSH version on stderr, e.g. "OpenSSH_10.0p2 Debian-7, OpenSSL ...".
    version_text = context.run("ssh -V 2>&1").stdout
    match = re.search(r"OpenSSH_([\w.]+)", version_text)
    conn = context.connection
    return ServiceHealth(
        name="sshd",
        up=up,
        version=match.group(1) if match else None,
        url=f"ssh://{conn.user}@{conn.address}:{conn.port}",
        detail=None if up else f"ssh.service is {state}",
    )


@service_check("all", "nftables")
def nftables(context: ServiceContext) -> ServiceHealth:
    running, state = active(context, "nftables.service")
    # nft lives in /usr/sbin, outside an operator's PATH: ask through sudo, like the ruleset.
    version_match = re.search(r"v([\d.]+)", context.run("nft --version", sudo=True).stdout)
    detail = f"nftables.service is {state}"
    up: bool | None = running
    if running:
        ruleset = context.run("nft list ruleset", sudo=True)
        if ruleset.rc != 0:
            up, detail = None, "ruleset not readable (become failed)"
        elif re.search(r"hook input priority [^;]*;\s*policy drop;", ruleset.stdout):
            detail = "input policy drop"
        else:
            up, detail = False, "no input chain defaults to drop"
    return ServiceHealth(
        name="nftables",
        up=up,
        version=version_match.group(1) if version_match else None,
        detail=detail,
    )
