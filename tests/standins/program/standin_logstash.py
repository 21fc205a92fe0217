"""CI stand-in for logstash: NOT the vendor's program. See tests/standins/README.md."""

# ruff: noqa: S104, PTH207
from __future__ import annotations

import glob
import json
import os
import re
import socket
import ssl
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import yaml
from standin_common import (
    VERSION,
    ConfigError,
    Routes,
    as_bool,
    bind_addresses,
    check_jvm_options,
    contract_data,
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


TOKEN = re.compile(
    r'\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|=>|==|!=|=~|!~|<=|>=|[{}\[\](),<>!]|[^\s{}\[\](),#"\'=<>!]+'
)


def tokens(code: str) -> list[str]:
    return [t for t in TOKEN.findall(code) if t.strip() and not t.startswith("#")]


def unquote(token: str) -> str:
    return token[1:-1] if token[:1] in "\"'" and token[-1:] == token[:1] else token


def parse_plugins(words: list[str], pos: int, section: str, origin: str, found: list[dict]) -> int:
    """Plugins (and if/else blocks of them) up to the closing brace of a section; returns the position after it."""
    while pos < len(words) and words[pos] != "}":
        word = words[pos]
        if word in {"if", "else"}:
            pos += 1
            while pos < len(words) and words[pos] != "{":  # the condition, up to its block
                pos += 1
            pos = parse_plugins(words, pos + 1, section, origin, found)
            continue
        if pos + 1 >= len(words) or words[pos + 1] != "{":
            raise ConfigError(f"{origin}: expected a plugin block in {section}, found {word!r}")
        plugin = {"section": section, "name": unquote(word), "options": {}}
        pos += 2
        while pos < len(words) and words[pos] != "}":
            name = unquote(words[pos])
            if pos + 1 >= len(words) or words[pos + 1] != "=>":
                raise ConfigError(f"{origin}: expected `=>` after {name!r} in the {plugin['name']} {section} plugin")
            value, pos = parse_value(words, pos + 2, origin)
            plugin["options"][name] = value
        found.append(plugin)
        pos += 1
    return pos + 1


def parse_value(words: list[str], pos: int, origin: str) -> tuple[object, int]:
    word = words[pos]
    if word == "[":
        items, pos = [], pos + 1
        while words[pos] != "]":
            if words[pos] == ",":
                pos += 1
                continue
            item, pos = parse_value(words, pos, origin)
            items.append(item)
        return items, pos + 1
    if word == "{":
        table, pos = {}, pos + 1
        while words[pos] != "}":
            if words[pos] == ",":
                pos += 1
                continue
            key = unquote(words[pos])
            if words[pos + 1] != "=>":
                raise ConfigError(f"{origin}: expected `=>` after {key!r} in a hash")
            table[key], pos = parse_value(words, pos + 2, origin)
        return table, pos + 1
    if word in {"{", "}", "]", "=>"}:
        raise ConfigError(f"{origin}: unexpected {word!r} where a value belongs")
    if pos + 1 < len(words) and words[pos + 1] == "{":  # a codec with options: codec => json { ... }
        sub: list[dict] = []
        end = parse_plugins(words, pos, "codec", origin, sub)
        return unquote(word), end - 1
    return unquote(word), pos + 1


def check_pipeline(text: str, origin: str) -> list[dict]:
    """Balanced braces and quotes, top-level sections input/filter/output only, the options of the plugins the
    roles use (contract data); returns the beats inputs."""
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
    words, pos, plugins = tokens(code), 0, []
    while pos < len(words):
        section = words[pos]
        if section not in {"input", "filter", "output"}:
            raise ConfigError(f"{origin}: expected input, filter or output at the top level, found {section!r}")
        if pos + 1 >= len(words) or words[pos + 1] != "{":
            raise ConfigError(f"{origin}: expected {{ after {section}")
        try:
            pos = parse_plugins(words, pos + 2, section, origin, plugins)
        except IndexError as exc:
            raise ConfigError(f"{origin}: the {section} section ends early") from exc
    beats = []
    for plugin in plugins:
        check_plugin_options(plugin, origin)
        if plugin["section"] != "input" or plugin["name"] != "beats":
            continue
        options = plugin["options"]
        if "port" not in options:
            raise ConfigError(f"{origin}: the beats input needs a port")
        ssl_options = {name: value for name, value in options.items() if name.startswith("ssl_")}
        beats.append(
            {"port": int(str(options["port"])), "host": str(options.get("host", "0.0.0.0")), "ssl": ssl_options}
        )
    return beats


# The plugins the roles configure, with the contract data that lists their options at the bundled versions.
CHECKED_PLUGINS = {("input", "beats"): "beats_input", ("output", "elasticsearch"): "elasticsearch_output"}


def check_plugin_options(plugin: dict, origin: str) -> None:
    """Logstash validates every plugin's options when it builds the pipeline (also for -t): an obsolete option
    stops it with the product's message, an unknown one with "Unknown setting"."""
    key = CHECKED_PLUGINS.get((plugin["section"], plugin["name"]))
    if key is None:
        return  # not a plugin the roles use: its options are not known to the stand-in
    base = "input_base" if plugin["section"] == "input" else "output_base"
    known = set(contract_data("logstash", f"{key}_options")) | set(contract_data("logstash", f"{base}_options"))
    obsolete = set(contract_data("logstash", f"{key}_obsolete")) | set(contract_data("logstash", f"{base}_obsolete"))
    for name in plugin["options"]:
        if name in obsolete:
            raise ConfigError(
                f"{origin}: The setting `{name}` in plugin `{plugin['name']}` is obsolete and is no longer available "
                f"(the {plugin['name']} {plugin['section']} has no option {name!r} in 9.x)"
            )
        if name not in known:
            raise ConfigError(f"{origin}: Unknown setting '{name}' for {plugin['name']}")


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
            check_pipeline_settings(entry, pipelines_file)
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


def check_pipeline_settings(entry: dict, origin: Path) -> None:
    """pipelines.yml takes only the pipeline settings Logstash allows per pipeline."""
    allowed = set(contract_data("logstash", "pipeline_settings"))
    for name in entry:
        if name not in allowed:
            raise ConfigError(f'{origin}: Only pipeline related settings are expected. Received "{name}"')


def check_settings(settings: dict, origin: Path) -> None:
    """Every key of logstash.yml must be a setting Logstash registers (9.x dropped the http.* aliases of api.*)."""
    known = set(contract_data("logstash", "settings"))
    for name in settings:
        if name not in known:
            raise ConfigError(f"{origin}: Setting \"{name}\" doesn't exist. Please check if you haven't made a typo.")


def check_superuser(settings: dict) -> None:
    """Logstash 9 refuses to run as root (the service and -t alike) unless allow_superuser is true."""
    if os.geteuid() == 0 and not as_bool(settings.get("allow_superuser", False), "allow_superuser"):
        raise ConfigError("Logstash cannot be run as superuser.")


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
        check_settings(settings, settings_dir / "logstash.yml")
        check_superuser(settings)
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
                    "logstash",
                    beat["host"],
                    beat["port"],
                    f"beats input of pipeline {pipeline_id}",
                    beats_tls(beat),
                    lumberjack_session,
                )
    except ConfigError as exc:
        die("logstash", str(exc))
    run_forever("logstash")


# --------------------------------------------------------------------------- Beats (Lumberjack v2) server side


def read_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError("the client closed the connection")
        data += chunk
    return data


def lumberjack_frames(read: Callable[[int], bytes]) -> Iterator[tuple]:
    """Frames of the Beats protocol, version 2: ('W', window size), ('J', sequence, event); compressed frames ('C',
    zlib) are unpacked into the frames they hold. Anything else is a protocol error, as for the Beats input."""
    while True:
        version, code = read(2)
        if version != ord("2"):
            raise ValueError(f"unsupported protocol version {version!r}")
        if code == ord("W"):
            yield ("W", struct.unpack(">I", read(4))[0])
        elif code == ord("J"):
            sequence, size = struct.unpack(">II", read(8))
            yield ("J", sequence, json.loads(read(size)))
        elif code == ord("C"):
            (size,) = struct.unpack(">I", read(4))
            inner = zlib.decompress(read(size))
            offset = 0

            def take(n: int, data: bytes = inner) -> bytes:
                nonlocal offset
                if offset + n > len(data):
                    raise ValueError("a compressed frame ends inside a frame")
                offset += n
                return data[offset - n : offset]

            frames = lumberjack_frames(take)
            while offset < len(inner):
                yield next(frames)
        else:
            raise ValueError(f"unknown frame type {chr(code)!r}")


def lumberjack_session(conn: socket.socket) -> None:
    """Take windows of events and acknowledge each full window with '2A' + the sequence of its last event, as the
    Beats input does once a batch is in the queue. The events go nowhere: the stand-in processes nothing."""
    window, received = 0, 0
    try:
        for frame in lumberjack_frames(lambda n: read_exact(conn, n)):
            if frame[0] == "W":
                window, received = frame[1], 0
            elif frame[0] == "J":
                received += 1
                if window and received >= window:
                    conn.sendall(b"2A" + struct.pack(">I", frame[1]))
                    window, received = 0, 0
    except (EOFError, ValueError, OSError, zlib.error, json.JSONDecodeError) as exc:
        log("logstash", f"beats input: connection ended: {exc}")
