"""CI stand-in for logstash: NOT the vendor's program. See tests/standins/README.md."""

# ruff: noqa: S104, PTH207
from __future__ import annotations

import glob
import re
import socket
import ssl
from pathlib import Path

import yaml
from standin_common import (
    VERSION,
    ConfigError,
    Routes,
    as_bool,
    bind_addresses,
    check_jvm_options,
    die,
    flatten,
    listen_tcp,
    load_yaml,
    log,
    port_of,
    run_forever,
    serve,
    server_context,
)

# --------------------------------------------------------------------------- Logstash


def strip_comments(text: str) -> str:
    out, quote = [], ""
    for line in text.splitlines():
        buf = []
        for char in line:
            if quote:
                buf.append(char)
                if char == quote:
                    quote = ""
            elif char in "\"'":
                quote = char
                buf.append(char)
            elif char == "#":
                break
            else:
                buf.append(char)
        out.append("".join(buf))
    return "\n".join(out)


def check_pipeline(text: str, origin: str) -> list[dict]:
    """Balanced braces and quotes, top-level sections input/filter/output only; returns the beats inputs."""
    code = strip_comments(text)
    depth, quote = 0, ""
    for index, char in enumerate(code):
        if quote:
            if char == quote and code[index - 1] != "\\":
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise ConfigError(f"{origin}: unexpected }} at character {index}")
    if quote or depth:
        raise ConfigError(f"{origin}: unterminated {'string' if quote else 'block'}")
    flat = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', code)
    level, section_words = 0, []
    for token in re.findall(r"[A-Za-z_][A-Za-z0-9_-]*\s*\{|\{|\}", flat):
        if token.endswith("{") and level == 0:
            section_words.append(token[:-1].strip())
        level += token.count("{") - token.count("}")
    for word in section_words:
        if word not in {"input", "filter", "output"}:
            raise ConfigError(f"{origin}: expected input, filter or output at the top level, found {word!r}")
    beats = []
    for block in re.finditer(r"\bbeats\s*\{([^{}]*)\}", code):
        body = block.group(1)
        port = re.search(r"\bport\s*=>\s*\"?(\d+)\"?", body)
        host = re.search(r"\bhost\s*=>\s*\"([^\"]+)\"", body)
        if not port:
            raise ConfigError(f"{origin}: the beats input needs a port")
        removed = re.search(r"\b(ssl|ssl_verify_mode|ssl_peer_metadata|tls_min_version|tls_max_version)\s*=>", body)
        if removed:
            raise ConfigError(f"{origin}: the beats input has no option {removed.group(1)!r} in 9.x (renamed ssl_*)")
        options = {
            name: re.findall(r'"([^"]*)"', value) if value.startswith("[") else value.strip('"')
            for name, value in re.findall(r'\b(ssl_\w+)\s*=>\s*(\[[^\]]*\]|"[^"]*"|\S+)', body)
        }
        beats.append({"port": int(port.group(1)), "host": host.group(1) if host else "0.0.0.0", "ssl": options})
    return beats


def logstash_pipelines(settings_dir: Path, config_path: str | None) -> list[tuple[str, list[dict]]]:
    sources: list[tuple[str, str]] = []
    if config_path:
        sources.append(("main", config_path))
    else:
        pipelines_file = settings_dir / "pipelines.yml"
        try:
            pipelines = yaml.safe_load(pipelines_file.read_text()) if pipelines_file.exists() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{pipelines_file} does not parse: {exc}") from exc
        if pipelines is not None and not isinstance(pipelines, list):
            raise ConfigError(f"{pipelines_file}: expected a list of pipelines")
        for entry in pipelines or []:
            entry = flatten(entry) if isinstance(entry, dict) else {}
            if "pipeline.id" not in entry:
                raise ConfigError(f"{pipelines_file}: every pipeline needs a pipeline.id")
            if "config.string" in entry:
                sources.append((str(entry["pipeline.id"]), "string:" + str(entry["config.string"])))
            elif "path.config" in entry:
                sources.append((str(entry["pipeline.id"]), str(entry["path.config"])))
            else:
                raise ConfigError(f"{pipelines_file}: pipeline {entry['pipeline.id']} has no path.config")
    result = []
    for pipeline_id, source in sources:
        if source.startswith("string:"):
            result.append((pipeline_id, check_pipeline(source[7:], f"pipeline {pipeline_id}")))
            continue
        files = sorted(glob.glob(source)) if not Path(source).is_dir() else sorted(glob.glob(f"{source}/*"))
        if not files:
            raise ConfigError(f"pipeline {pipeline_id}: no config files found in path {source}")
        text = "\n".join(Path(f).read_text() for f in files if Path(f).is_file())
        result.append((pipeline_id, check_pipeline(text, f"pipeline {pipeline_id} ({source})")))
    return result


def beats_tls(beat: dict) -> ssl.SSLContext | None:
    """The beats input's TLS (Logstash 9.x option names): server certificate, and client certificates from
    ssl_certificate_authorities when ssl_client_authentication is required."""
    options = beat["ssl"]
    if str(options.get("ssl_enabled", "false")).lower() != "true":
        return None
    return server_context(
        options.get("ssl_certificate"),
        options.get("ssl_key"),
        options.get("ssl_certificate_authorities") or [],
        options.get("ssl_client_authentication", "none") == "required",
        f"beats input on port {beat['port']}",
    )


def logstash(args: list[str]) -> None:
    def option(*names: str) -> str | None:
        for index, arg in enumerate(args):
            for name in names:
                if arg == name and index + 1 < len(args):
                    return args[index + 1]
                if arg.startswith(f"{name}="):
                    return arg.split("=", 1)[1]
        return None

    settings_dir = Path(option("--path.settings") or "/usr/share/logstash/config")
    config_path = option("-f", "--path.config")
    test_only = "-t" in args or "--config.test_and_exit" in args
    try:
        settings = load_yaml(settings_dir / "logstash.yml", required=not test_only)
        if (settings_dir / "jvm.options").exists():
            check_jvm_options(settings_dir / "jvm.options")
        pipelines = logstash_pipelines(settings_dir, config_path or settings.get("path.config"))
        if test_only:
            print("Configuration OK")
            log("logstash", "checked by the alur CI stand-in: syntax only, plugins are not checked")
            return
        api_enabled = as_bool(settings.get("api.enabled", True), "api.enabled")
        api_host = bind_addresses(settings.get("api.http.host", "127.0.0.1"), "api.http.host")[0]
        api_port = port_of(settings.get("api.http.port", 9600), "api.http.port")
        if api_enabled:
            routes = Routes("logstash")
            routes.add(
                "/",
                {
                    "host": socket.gethostname(),
                    "version": VERSION,
                    "http_address": f"{api_host}:{api_port}",
                    "status": "green",
                    "pipeline": {"workers": 1},
                    "alur_standin": True,
                },
            )
            # Node stats per pipeline, as Logstash's API gives them; the stand-in processes no events, so all are 0.
            events = {"in": 0, "filtered": 0, "out": 0, "duration_in_millis": 0}
            stats = {pipeline_id: {"events": dict(events), "alur_standin": True} for pipeline_id, _ in pipelines}
            routes.add("/_node/stats/pipelines", {"host": socket.gethostname(), "pipelines": stats})
            for pipeline_id, pipeline in stats.items():
                routes.add(f"/_node/stats/pipelines/{pipeline_id}", {"pipelines": {pipeline_id: pipeline}})
            serve(routes, api_host, api_port)
        for pipeline_id, beats in pipelines:
            for beat in beats:
                listen_tcp(
                    "logstash", beat["host"], beat["port"], f"beats input of pipeline {pipeline_id}", beats_tls(beat)
                )
    except ConfigError as exc:
        die("logstash", str(exc))
    run_forever("logstash")
