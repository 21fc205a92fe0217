"""CI stand-in for filebeat: NOT the vendor's program. See tests/standins/README.md."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import sys
from pathlib import Path

from standin_common import (
    VERSION,
    ConfigError,
    Routes,
    as_bool,
    bind_addresses,
    client_context,
    die,
    load_yaml,
    log,
    port_of,
    run_forever,
    serve,
)

# --------------------------------------------------------------------------- Filebeat

# Inputs Filebeat 9 keeps only behind allow_deprecated_use: true (the container input is a preset of the log input).
DEPRECATED_INPUTS = {"log", "container"}


def check_inputs(inputs: list[dict], config: Path) -> None:
    """Filebeat 9's input rules: the log and container inputs are disabled unless the input says
    allow_deprecated_use: true, and every filestream input needs an id no other filestream input has."""
    seen: set[str] = set()
    for number, item in enumerate(inputs, 1):
        kind = str(item.get("type", ""))
        enabled = item.get("enabled", True)
        if kind in DEPRECATED_INPUTS and enabled is not False and item.get("allow_deprecated_use") is not True:
            raise ConfigError(
                f"{config}: input {number}: the {kind} input is deprecated and disabled; migrate to filestream "
                "or set allow_deprecated_use: true on the input"
            )
        if kind != "filestream":
            continue
        input_id = str(item.get("id") or "")
        if not input_id:
            raise ConfigError(f"{config}: filestream inputs validation error: input without ID (input {number})")
        if input_id in seen and item.get("allow_deprecated_id_duplication") is not True:
            raise ConfigError(
                f'{config}: filestream inputs validation error: filestream inputs with duplicated IDs: "{input_id}"'
            )
        seen.add(input_id)


def test_logstash_output(settings: dict) -> bool:
    """`filebeat test output` for output.logstash: TCP, then the TLS handshake with the configured CAs and client
    certificate (verification_mode full checks the name or address too). It cannot speak the Beats protocol."""
    hosts = settings.get("output.logstash.hosts")
    if not hosts:
        die("filebeat", "test output: the stand-in tests output.logstash only, and none is configured")
    tls = as_bool(settings.get("output.logstash.ssl.enabled", False), "output.logstash.ssl.enabled")
    context = None
    if tls:
        cas = settings.get("output.logstash.ssl.certificate_authorities") or []
        mode = str(settings.get("output.logstash.ssl.verification_mode", "full"))
        try:
            context = client_context(
                cas,
                settings.get("output.logstash.ssl.certificate"),
                settings.get("output.logstash.ssl.key"),
                verify_host=mode == "full",
            )
        except (OSError, ssl.SSLError) as exc:
            die("filebeat", f"test output: cannot load the TLS settings: {exc}")
    ok = True
    for entry in hosts if isinstance(hosts, list) else [hosts]:
        address, _, port = str(entry).rpartition(":")
        print(f"logstash: {entry}...\n  connection...\n    parse host... OK")
        try:
            with socket.create_connection((address.strip("[]"), int(port)), timeout=10) as raw:
                print("    dial up... OK")
                if context:
                    print("  TLS...\n    security: server's certificate chain verification is enabled")
                    with context.wrap_socket(raw, server_hostname=address.strip("[]")) as conn:
                        print(f"    handshake... OK\n    TLS version: {conn.version()}")
                        # The server checks the client certificate after the handshake (TLS 1.3): read to see it.
                        conn.settimeout(2)
                        # A refused certificate arrives as an alert (SSLError); a plain close means it was taken.
                        with contextlib.suppress(TimeoutError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
                            conn.recv(1)
                print("  talk to server... OK (alur CI stand-in: TLS only, no Beats protocol)")
        except (OSError, ssl.SSLError, ValueError) as exc:
            print(f"    ... ERROR {exc}")
            ok = False
    return ok


def check_permissions(config: Path) -> None:
    """The Beats' strict permission rule for the config file (lifted by --strict.perms=false)."""
    stat = config.stat()
    if stat.st_uid not in {0, os.getuid()}:
        raise ConfigError(f"config file ({config}) must be owned by the user identifier (uid={os.getuid()}) or root")
    if stat.st_mode & 0o022:
        raise ConfigError(
            f'config file ("{config}") can only be writable by the owner but the permissions are '
            f"\"{oct(stat.st_mode & 0o777)}\" (to fix the permissions use: 'chmod go-w {config}')"
        )


def filebeat(args: list[str]) -> None:
    def option(name: str, default: str | None = None) -> str | None:
        for index, arg in enumerate(args):
            if arg == name and index + 1 < len(args):
                return args[index + 1]
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
        return default

    takes_value = {"-c", "-E", "--path.config", "--path.home", "--path.data", "--path.logs", "--environment"}
    words = [a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] not in takes_value)]
    config_dir = Path(option("--path.config", option("--path.home", "/usr/share/filebeat")) or "/")
    config = Path(option("-c", "filebeat.yml") or "filebeat.yml")
    if not config.is_absolute():
        config = config_dir / config
    strict = (option("--strict.perms", "true") or "true").lower() != "false"
    try:
        if strict and config.exists():
            check_permissions(config)
        settings = load_yaml(config)
        inputs = settings.get("filebeat.inputs", [])
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise ConfigError(f"{config}: filebeat.inputs must be a list of inputs")
        check_inputs(inputs, config)
        if words[:2] == ["test", "config"]:
            print("Config OK")
            return
        if words[:2] == ["test", "output"]:
            sys.exit(0 if test_logstash_output(settings) else 1)
        if words[:1] == ["test"]:
            die("filebeat", "the stand-in implements `test config` and `test output` only")
        if as_bool(settings.get("http.enabled", False), "http.enabled"):
            host = bind_addresses(settings.get("http.host", "localhost"), "http.host")[0]
            routes = Routes("filebeat")
            routes.add("/", {"beat": "filebeat", "version": VERSION, "alur_standin": True})
            # The stats endpoint's output counters, as Filebeat's: the stand-in ships nothing, so all are 0.
            output = {"type": "logstash", "events": {"acked": 0, "failed": 0, "total": 0, "active": 0}}
            routes.add("/stats", {"libbeat": {"output": output}, "alur_standin": True})
            serve(routes, host, port_of(settings.get("http.port", 5066), "http.port"))
    except ConfigError as exc:
        die("filebeat", str(exc))
    log("filebeat", f"read {config} ({len(inputs)} inputs); ships nothing")
    run_forever("filebeat")
