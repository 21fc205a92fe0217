"""Helpers shared by the Elastic verifiers (molecule/elasticsearch*, molecule/logstash_kibana_filebeat*)."""

from __future__ import annotations

import base64
import json
import os
import shlex
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.alur.site.plugins.module_utils.addresses import peer_address

STANDIN_MARK = "+standin"


def installed_version(h: Any, package: str) -> str:
    result = h.run(f"dpkg-query -W -f '${{Version}}' {shlex.quote(package)}")
    return str(result.stdout.strip()) if result.rc == 0 else ""


def is_standin(h: Any, package: str) -> bool:
    return STANDIN_MARK in installed_version(h, package)


def require_real(h: Any, package: str) -> None:
    """Skip (reason "stand-in: ...") when the host runs the CI stand-in of `package` rather than the product."""
    version = installed_version(h, package)
    if STANDIN_MARK in version:
        pytest.skip(f"stand-in: {package} {version} is the CI stand-in; this check needs the real product")


def lab_address(h: Any) -> str:
    """The host's address as the Elastic roles see it: alur.site's one rule, elasticstack_host_address first."""
    return peer_address(h.ansible.get_variables(), "elasticstack_host_address")


def inventory_dir() -> Path:
    return Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent


def controller_dir() -> Path:
    return inventory_dir() / ".secrets" / "elasticstack"


@cache
def secrets() -> dict[str, str]:
    """The stack's secrets, read as an operator would: ansible-vault view with the scenario's vault password."""
    path = controller_dir() / "secrets.vault.yml"
    out = subprocess.run(
        [sys.executable, "-m", "ansible.cli.vault", "view", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    import yaml

    return {str(k): str(v) for k, v in (yaml.safe_load(out) or {}).items()}


# Which secret holds each user's password.
PASSWORD_OF = {
    "elastic": "elasticstack_elastic_password",
    "kibana_system": "elasticstack_kibana_system_password",
    "alur_logstash_writer": "elasticstack_logstash_writer_password",
}


def api(
    url: str,
    user: str | None = None,
    method: str = "GET",
    body: Any = None,
    cafile: Path | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """(HTTP status, JSON or text body) of a request made from the controller (over the lab bridge), so that
    passwords stay in this process and never appear on a host's command line or in a log."""
    request = urllib.request.Request(url, method=method, headers=dict(headers or {}))  # noqa: S310 - https to test hosts
    if user:
        token = base64.b64encode(f"{user}:{secrets()[PASSWORD_OF[user]]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    context = ssl.create_default_context(cafile=str(cafile or controller_dir() / "ca.crt"))
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as answer:  # noqa: S310 - as above
            status, data = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, data = exc.code, exc.read()
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data.decode(errors="replace")


def curl_status(h: Any, url: str, *options: str) -> tuple[int, str]:
    """(curl exit code, HTTP status) of an anonymous request made on host `h` (no secret involved)."""
    arguments = " ".join(map(shlex.quote, [*options, url]))
    result = h.run(f"curl -sS --max-time 20 -o /dev/null -w '%{{http_code}}' {arguments}")
    return int(result.rc), result.stdout.strip()


# Where a secret must never be found on a host (keystores hold them encoded, never as plain text).
SECRET_SEARCH_PATHS = ["/etc", "/var/log", "/var/lib/alur", "/root", "/tmp"]


def _ssh_with_stdin(h: Any, command: str, stdin: str) -> subprocess.CompletedProcess[str]:
    """Run `command` (bash, sudo inside) on the host over SSH with `stdin`: secrets to search for travel on
    stdin, never on a command line, which sudo would write to the journal (and the search would find it)."""
    variables = h.ansible.get_variables()
    args = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
    args += shlex.split(str(variables.get("ansible_ssh_common_args", "")))
    if variables.get("ansible_private_key_file"):
        args += ["-i", str(variables["ansible_private_key_file"])]
    args += ["-p", str(variables.get("ansible_port", 22))]
    args += [f"{variables['ansible_user']}@{variables['ansible_host']}", "bash -c " + shlex.quote(command)]
    return subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=180, check=False)


def secret_findings(h: Any) -> list[str]:
    """Where on the host any of the stack's secrets appears as plain text: file paths, and "journal" when the
    journal's messages hold one. Only places are returned, never the secrets."""
    needles = "\n".join(secrets().values()) + "\n"
    paths = " ".join(shlex.quote(p) for p in SECRET_SEARCH_PATHS)
    files = _ssh_with_stdin(h, f"sudo -n grep -rlF --exclude-dir=proc -f /dev/stdin {paths}", needles)
    if files.returncode not in (0, 1):
        raise AssertionError(f"searching files failed: {files.stderr.strip()}")
    journal = _ssh_with_stdin(h, "sudo -n journalctl --no-pager -o cat | grep -cF -f <(cat)", needles)
    if journal.returncode not in (0, 1):
        raise AssertionError(f"searching the journal failed: {journal.stderr.strip()}")
    found = [line for line in files.stdout.splitlines() if line]
    if journal.stdout.strip() not in ("", "0"):
        found.append("journal")
    return found


def secrets_in_ansible_log() -> bool:
    """Whether the scenario's Ansible output (ANSIBLE_LOG_PATH) holds any secret."""
    log = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ansible.log"
    if not log.is_file():
        raise AssertionError(f"{log} is missing: the scenario sets ANSIBLE_LOG_PATH to keep the converge output")
    text = log.read_text(errors="replace")
    return any(secret in text for secret in secrets().values())
