#!/usr/bin/python3
"""CI stand-in for a vendor program (Jenkins, Elasticsearch, Logstash, Kibana, Filebeat). NOT the real product.

Installed by the `+standin` packages that tests/standins/build.py makes. It imitates the packaging contract
only: it reads the configuration the vendor's package reads, from the same path, refuses to start when that
configuration does not parse, listens where it says, and answers the health endpoints roles wait on.
Everything else answers HTTP 501. No authentication, no indexing, no log shipping, no builds.

Usage (what the packages' unit files and wrappers run):
    service.py jenkins                        # environment as the real jenkins.service sets it
    service.py elasticsearch [-p PIDFILE] [--quiet]
    service.py elasticsearch-keystore create|list|add|add-file|remove|show|has-passwd ...
    service.py logstash [--path.settings DIR] [-f PATH] [-t|--config.test_and_exit]
    service.py kibana
    service.py filebeat [test config] [-c FILE] [--path.config DIR] [--strict.perms=false] ...
"""

# ruff: noqa: S104, PTH207 - it binds where its configuration says (0.0.0.0 included); config paths are globs
from __future__ import annotations

import base64
import glob
import json
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

VERSION = "@VERSION@"  # the real product version this stand-in pretends to package (filled in by the builder)
PRODUCT_NAME = {
    "jenkins": "Jenkins",
    "elasticsearch": "Elasticsearch",
    "logstash": "Logstash",
    "kibana": "Kibana",
    "filebeat": "Filebeat",
}


class ConfigError(Exception):
    """The configuration does not parse or names something impossible: the program refuses to start."""


def die(product: str, message: str) -> None:
    print(f"{product} (alur CI stand-in): {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def log(product: str, message: str) -> None:
    print(f"{product} (alur CI stand-in): {message}", flush=True)


def load_yaml(path: Path, required: bool = True) -> dict:
    """A YAML settings file as a flat dict of dotted keys, like Elastic products read them."""
    if not path.exists():
        if required:
            raise ConfigError(f"{path} does not exist")
        return {}
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} does not parse: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return flatten(data)


def flatten(data: dict, prefix: str = "") -> dict:
    flat: dict = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def port_of(value: object, setting: str) -> int:
    """A port setting: an int, or a range like 9200-9300 (the first port is taken)."""
    text = str(value)
    match = re.fullmatch(r"(\d+)(?:-\d+)?", text)
    if not match or not 0 <= int(match.group(1)) <= 65535:
        raise ConfigError(f"{setting}: {value!r} is not a port")
    return int(match.group(1))


def bind_addresses(value: object, setting: str) -> list[str]:
    """Elastic-style host settings: an address, a name, a list, or _local_/_site_/_global_."""
    values = value if isinstance(value, list) else [value]
    result = []
    for item in values:
        text = str(item).strip()
        if text in {"_local_", "localhost"}:
            result.append("127.0.0.1")
        elif text in {"_site_", "_global_", "0.0.0.0", "0", "::"}:
            result.append("0.0.0.0")
        elif text.startswith("_"):
            raise ConfigError(f"{setting}: the stand-in does not resolve {text!r}")
        else:
            try:
                result.append(socket.gethostbyname(text))
            except OSError as exc:
                raise ConfigError(f"{setting}: cannot resolve {text!r}") from exc
    return result or ["127.0.0.1"]


def tls_context(enabled: object, cert: object, key: object, setting: str) -> ssl.SSLContext | None:
    if not as_bool(enabled, setting):
        return None
    if not cert or not key:
        raise ConfigError(f"{setting} is on; the stand-in serves TLS only from PEM certificate and key settings")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{setting}: cannot load {cert} / {key}: {exc}") from exc
    return context


def as_bool(value: object, setting: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if str(value).lower() in {"true", "false"}:
        return str(value).lower() == "true"
    raise ConfigError(f"{setting}: {value!r} is not true or false")


# --------------------------------------------------------------------------- HTTP


class Routes:
    def __init__(self, product: str, prefix: str = ""):
        self.product = product
        self.prefix = prefix.rstrip("/")
        self.routes: dict[str, tuple[int, dict, dict | str]] = {}

    def add(self, path: str, body: dict | str, status: int = 200, headers: dict | None = None) -> None:
        self.routes[self.prefix + path] = (status, headers or {}, body)


def serve(routes: Routes, host: str, port: int, context: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        server_version = f"alur-standin-{routes.product}"

        def _answer(self) -> None:
            path = self.path.split("?", 1)[0]
            status, headers, body = routes.routes.get(
                path,
                (501, {}, {"error": f"not implemented by the alur CI stand-in for {routes.product}", "path": path}),
            )
            payload = body if isinstance(body, str) else json.dumps(body)
            data = payload.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Alur-Standin", routes.product)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            return

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}") from exc
    if context:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log(routes.product, f"listening on {'https' if context else 'http'}://{host}:{port}{routes.prefix or '/'}")
    return server


def listen_tcp(product: str, host: str, port: int, what: str) -> None:
    """A port that accepts and closes connections (the Beats input, the transport port): open, nothing more."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({what}): {exc}") from exc
    sock.listen(16)

    def accept() -> None:
        while True:
            conn, _ = sock.accept()
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    log(product, f"{what} port open on {host}:{port} (accepts and closes; no protocol)")


def notify_ready() -> None:
    """sd_notify(READY=1) for units of Type=notify, as the real Jenkins and Elasticsearch do."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(b"READY=1")


def run_forever(product: str) -> None:
    notify_ready()
    log(product, f"stand-in for {PRODUCT_NAME[product]} {VERSION} is up; this is NOT {PRODUCT_NAME[product]}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()


# --------------------------------------------------------------------------- Jenkins


def java_major(command: str) -> int | None:
    import subprocess

    try:
        proc = subprocess.run([command, "-version"], capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)', proc.stderr + proc.stdout)
    return int(match.group(1)) if match else None


def jenkins() -> None:
    env = os.environ
    home = Path(env.get("JENKINS_HOME", "/var/lib/jenkins"))
    java = env.get("JENKINS_JAVA_CMD") or (
        str(Path(env["JAVA_HOME"]) / "bin" / "java") if env.get("JAVA_HOME") else "java"
    )
    major = java_major(java)
    if major is None:
        die("jenkins", f"failed to find a valid Java installation ({java}); Jenkins needs Java 21 or 25")
    if major not in {21, 25}:
        die("jenkins", f"invalid Java version {major} from {java}; Jenkins needs Java 21 or 25")
    if not home.is_dir():
        die("jenkins", f"JENKINS_HOME {home} is not a directory")
    casc = Path(env.get("CASC_JENKINS_CONFIG", str(home / "jenkins.yaml")))
    casc_files = sorted(casc.glob("*.y*ml")) if casc.is_dir() else [casc] if casc.exists() else []
    try:
        for path in casc_files:
            yaml.safe_load(path.read_text())
        port = int(env.get("JENKINS_PORT", "8080"))
    except (yaml.YAMLError, ValueError) as exc:
        die("jenkins", f"configuration does not parse: {exc}")
    prefix = env.get("JENKINS_PREFIX", "").rstrip("/")
    if prefix and not prefix.startswith("/"):
        die("jenkins", f"JENKINS_PREFIX {prefix!r} must start with /")
    if port != -1:
        routes = Routes("jenkins", prefix)
        page = f"<html><body><h1>alur CI stand-in for Jenkins {VERSION}</h1><p>Not Jenkins.</p></body></html>"
        routes.add("/login", page, headers={"X-Jenkins": VERSION})
        try:
            serve(routes, env.get("JENKINS_LISTEN_ADDRESS") or "0.0.0.0", port)
        except ConfigError as exc:
            die("jenkins", str(exc))
    run_forever("jenkins")


# --------------------------------------------------------------------------- Elasticsearch


def elasticsearch(args: list[str]) -> None:
    conf = Path(os.environ.get("ES_PATH_CONF", "/etc/elasticsearch"))
    try:
        settings = load_yaml(conf / "elasticsearch.yml")
        for name in sorted((conf / "jvm.options.d").glob("*.options")):
            check_jvm_options(name)
        keystore_load(conf)
        http_hosts = bind_addresses(settings.get("http.host", settings.get("network.host", "_local_")), "http.host")
        http_port = port_of(settings.get("http.port", 9200), "http.port")
        transport_hosts = bind_addresses(
            settings.get("transport.host", settings.get("network.host", "_local_")), "transport.host"
        )
        transport_port = port_of(settings.get("transport.port", 9300), "transport.port")
        context = tls_context(
            settings.get("xpack.security.http.ssl.enabled", False),
            settings.get("xpack.security.http.ssl.certificate"),
            settings.get("xpack.security.http.ssl.key"),
            "xpack.security.http.ssl.enabled",
        )
        cluster = str(settings.get("cluster.name", "elasticsearch"))
        node = str(settings.get("node.name", socket.gethostname()))
        for path in ("path.data", "path.logs"):
            if path in settings and not Path(str(settings[path])).is_dir():
                raise ConfigError(f"{path} {settings[path]} is not a directory")
        routes = Routes("elasticsearch")
        routes.add(
            "/",
            {
                "name": node,
                "cluster_name": cluster,
                "version": {"number": VERSION, "build_flavor": "default", "build_type": "deb"},
                "tagline": "alur CI stand-in, not Elasticsearch",
            },
        )
        routes.add(
            "/_cluster/health",
            {
                "cluster_name": cluster,
                "status": "green",
                "timed_out": False,
                "number_of_nodes": 1,
                "number_of_data_nodes": 1,
                "active_shards_percent_as_number": 100.0,
            },
        )
        for host in http_hosts:
            serve(routes, host, http_port, context)
        for host in transport_hosts:
            listen_tcp("elasticsearch", host, transport_port, "transport")
    except ConfigError as exc:
        die("elasticsearch", str(exc))
    if "-p" in args:
        Path(args[args.index("-p") + 1]).write_text(f"{os.getpid()}\n")
    run_forever("elasticsearch")


def check_jvm_options(path: Path) -> None:
    heap: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = re.sub(r"^\d+(-\d*)?:", "", line)
        if not line.startswith("-"):
            raise ConfigError(f"{path}:{number}: {raw!r} is not a JVM option")
        match = re.fullmatch(r"-Xm([sx])(\d+[kmgKMG]?)", line)
        if match:
            heap[match.group(1)] = match.group(2).lower()
    if len(heap) == 2 and heap["s"] != heap["x"]:
        raise ConfigError(f"{path}: initial heap {heap['s']} differs from maximum heap {heap['x']}")


def keystore_path(conf: Path) -> Path:
    return conf / "elasticsearch.keystore"


def keystore_load(conf: Path) -> dict[str, str]:
    path = keystore_path(conf)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigError(f"{path} is not a keystore this stand-in wrote: {exc}") from exc
    return dict(data.get("entries", {}))


def keystore_save(conf: Path, entries: dict[str, str]) -> None:
    path = keystore_path(conf)
    new = path.with_suffix(".tmp")
    new.write_text(json.dumps({"alur_standin": True, "entries": entries}, indent=1) + "\n")
    new.chmod(0o660)
    if path.exists():
        stat = path.stat()
        os.chown(new, stat.st_uid, stat.st_gid)
    else:
        try:
            import grp

            os.chown(new, 0, grp.getgrnam("elasticsearch").gr_gid)
        except (KeyError, PermissionError):
            pass
    new.replace(path)


def elasticsearch_keystore(args: list[str]) -> None:
    """The subcommands of elasticsearch-keystore roles use. Values are stored base64, NOT encrypted."""
    conf = Path(os.environ.get("ES_PATH_CONF", "/etc/elasticsearch"))
    flags = {a for a in args if a.startswith("-")}
    words = [a for a in args if not a.startswith("-")]
    if not words:
        die("elasticsearch-keystore", "usage: elasticsearch-keystore create|list|add|add-file|remove|show|has-passwd")
    command, rest = words[0], words[1:]
    try:
        entries = keystore_load(conf)
    except ConfigError as exc:
        die("elasticsearch-keystore", str(exc))
    exists = keystore_path(conf).exists()
    if command == "create":
        if not exists or "-f" in flags or "--force" in flags:
            keystore_save(conf, {"keystore.seed": base64.b64encode(secrets.token_bytes(20)).decode()})
        return
    if command == "has-passwd":
        print("ERROR: Keystore is not password-protected", file=sys.stderr)
        sys.exit(1)
    if not exists:
        die("elasticsearch-keystore", f"ERROR: Elasticsearch keystore not found at [{keystore_path(conf)}]")
    if command == "list":
        print("\n".join(sorted(entries)))
    elif command == "add":
        force = "-f" in flags or "--force" in flags
        stdin_values = sys.stdin.read().splitlines() if ("-x" in flags or "--stdin" in flags) else []
        for index, name in enumerate(rest):
            if name in entries and not force:
                die("elasticsearch-keystore", f"ERROR: Setting [{name}] already exists (use -f to overwrite)")
            value = stdin_values[index] if index < len(stdin_values) else ""
            entries[name] = base64.b64encode(value.encode()).decode()
        keystore_save(conf, entries)
    elif command == "add-file":
        for name, file in zip(rest[::2], rest[1::2], strict=False):
            entries[name] = base64.b64encode(Path(file).read_bytes()).decode()
        keystore_save(conf, entries)
    elif command == "remove":
        for name in rest:
            if name not in entries:
                die("elasticsearch-keystore", f"ERROR: Setting [{name}] does not exist in the keystore.")
            del entries[name]
        keystore_save(conf, entries)
    elif command == "show":
        if not rest or rest[0] not in entries:
            die("elasticsearch-keystore", f"ERROR: Setting [{rest[0] if rest else ''}] does not exist in the keystore.")
        sys.stdout.write(base64.b64decode(entries[rest[0]]).decode(errors="replace") + "\n")
    else:
        die("elasticsearch-keystore", f"the stand-in does not implement {command!r}")


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
        beats.append({"port": int(port.group(1)), "host": host.group(1) if host else "0.0.0.0"})
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
            serve(routes, api_host, api_port)
        for pipeline_id, beats in pipelines:
            for beat in beats:
                listen_tcp("logstash", beat["host"], beat["port"], f"beats input of pipeline {pipeline_id}")
    except ConfigError as exc:
        die("logstash", str(exc))
    run_forever("logstash")


# --------------------------------------------------------------------------- Kibana


def kibana() -> None:
    conf = Path(os.environ.get("KBN_PATH_CONF", "/etc/kibana"))
    try:
        settings = load_yaml(conf / "kibana.yml")
        node_options = conf / "node.options"
        if node_options.exists():
            for number, raw in enumerate(node_options.read_text().splitlines(), 1):
                line = raw.strip()
                if line and not line.startswith("#") and not line.startswith("--"):
                    raise ConfigError(f"{node_options}:{number}: {raw!r} is not a node option")
        host = bind_addresses(settings.get("server.host", "localhost"), "server.host")[0]
        port = port_of(settings.get("server.port", 5601), "server.port")
        base_path = str(settings.get("server.basePath", "")).rstrip("/")
        if base_path and not base_path.startswith("/"):
            raise ConfigError(f"server.basePath {base_path!r} must start with /")
        rewrite = as_bool(settings.get("server.rewriteBasePath", False), "server.rewriteBasePath")
        context = tls_context(
            settings.get("server.ssl.enabled", False),
            settings.get("server.ssl.certificate"),
            settings.get("server.ssl.key"),
            "server.ssl.enabled",
        )
        routes = Routes("kibana", base_path if rewrite else "")
        routes.add(
            "/api/status",
            {
                "name": str(settings.get("server.name", socket.gethostname())),
                "version": {"number": VERSION, "build_flavor": "traditional"},
                "status": {"overall": {"level": "available", "summary": "alur CI stand-in, not Kibana"}},
            },
        )
        serve(routes, host, port, context)
    except ConfigError as exc:
        die("kibana", str(exc))
    run_forever("kibana")


# --------------------------------------------------------------------------- Filebeat


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
            stat = config.stat()
            if stat.st_uid not in {0, os.getuid()}:
                raise ConfigError(
                    f"config file ({config}) must be owned by the user identifier (uid={os.getuid()}) or root"
                )
            if stat.st_mode & 0o022:
                raise ConfigError(
                    f'config file ("{config}") can only be writable by the owner but the permissions are '
                    f"\"{oct(stat.st_mode & 0o777)}\" (to fix the permissions use: 'chmod go-w {config}')"
                )
        settings = load_yaml(config)
        inputs = settings.get("filebeat.inputs", [])
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise ConfigError(f"{config}: filebeat.inputs must be a list of inputs")
        if words[:2] == ["test", "config"]:
            print("Config OK")
            return
        if words[:1] == ["test"]:
            die("filebeat", "the stand-in implements only `test config`")
        if as_bool(settings.get("http.enabled", False), "http.enabled"):
            host = bind_addresses(settings.get("http.host", "localhost"), "http.host")[0]
            routes = Routes("filebeat")
            routes.add("/", {"beat": "filebeat", "version": VERSION, "alur_standin": True})
            serve(routes, host, port_of(settings.get("http.port", 5066), "http.port"))
    except ConfigError as exc:
        die("filebeat", str(exc))
    log("filebeat", f"read {config} ({len(inputs)} inputs); ships nothing")
    run_forever("filebeat")


def main() -> None:
    if len(sys.argv) < 2:
        die("standin", __doc__ or "")
    product, args = sys.argv[1], sys.argv[2:]
    if product == "jenkins":
        jenkins()
    elif product == "elasticsearch":
        elasticsearch(args)
    elif product == "elasticsearch-keystore":
        elasticsearch_keystore(args)
    elif product == "logstash":
        logstash(args)
    elif product == "kibana":
        kibana()
    elif product == "filebeat":
        filebeat(args)
    else:
        die(product, "unknown product")


if __name__ == "__main__":
    main()
