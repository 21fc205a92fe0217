"""Shared parts of the CI stand-in programs (config loading, HTTP and TLS, readiness). NOT a vendor program."""

# ruff: noqa: S104 - it binds where its configuration says (0.0.0.0 included); config paths are globs
from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
from collections.abc import Callable
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


Answer = tuple[int, dict, "dict | str"]


class Request:
    def __init__(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes):
        self.method, self.path, self.query, self.headers, self.body = method, path, query, headers, body

    def json(self) -> dict:
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def basic_auth(self) -> tuple[str, str] | None:
        value = self.headers.get("authorization", "")
        if not value.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        except ValueError:
            return None
        return user, password


class Routes:
    """Fixed answers by path, and optionally a handler that sees every request first (None: use the table)."""

    def __init__(self, product: str, prefix: str = ""):
        self.product = product
        self.prefix = prefix.rstrip("/")
        self.routes: dict[str, Answer] = {}
        self.handler: Callable[[Request], Answer | None] | None = None

    def add(self, path: str, body: dict | str, status: int = 200, headers: dict | None = None) -> None:
        self.routes[self.prefix + path] = (status, headers or {}, body)

    def answer(self, request: Request) -> Answer:
        found = self.handler(request) if self.handler else None
        if found is not None:
            return found
        return self.routes.get(
            request.path,
            (501, {}, {"error": f"not implemented by the alur CI stand-in for {self.product}", "path": request.path}),
        )


def serve(routes: Routes, host: str, port: int, context: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        server_version = f"alur-standin-{routes.product}"

        def _answer(self) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                self.command,
                path,
                query,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length) if length else b"",
            )
            status, headers, body = routes.answer(request)
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


def listen_tcp(
    product: str,
    host: str,
    port: int,
    what: str,
    context: ssl.SSLContext | None = None,
    handle: Callable[[socket.socket], None] | None = None,
) -> None:
    """A TCP port: with a TLS context every connection must complete the handshake (client certificate included
    when the context requires one) or is dropped; then `handle` gets it, or it is closed (no protocol)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({what}): {exc}") from exc
    sock.listen(16)

    def serve_one(conn: socket.socket, peer: tuple) -> None:
        try:
            conn.settimeout(10)
            if context:
                try:
                    conn = context.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError) as exc:
                    log(product, f"{what}: refused {peer[0]}: TLS handshake failed: {exc}")
                    return
            if handle:
                handle(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def accept() -> None:
        while True:
            conn, peer = sock.accept()
            threading.Thread(target=serve_one, args=(conn, peer), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    tls = "TLS" + (", client certificate required" if context and context.verify_mode == ssl.CERT_REQUIRED else "")
    log(product, f"{what} port open on {host}:{port} ({tls if context else 'plain TCP'}; no protocol beyond that)")


def server_context(cert: object, key: object, cas: object, require_client: bool, setting: str) -> ssl.SSLContext:
    """TLS server side from PEM files; with require_client, only peers with a certificate from `cas` get in."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(cert), str(key))
        if require_client:
            context.verify_mode = ssl.CERT_REQUIRED
            for ca in cas if isinstance(cas, list) else [cas]:
                context.load_verify_locations(str(ca))
    except (OSError, ssl.SSLError, TypeError) as exc:
        raise ConfigError(f"{setting}: cannot load {cert} / {key} / {cas}: {exc}") from exc
    return context


def client_context(cas: object, cert: object = None, key: object = None, verify_host: bool = True) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = verify_host
    for ca in cas if isinstance(cas, list) else [cas]:
        context.load_verify_locations(str(ca))
    if cert and key:
        context.load_cert_chain(str(cert), str(key))
    return context


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
    # A process signal may land on any thread; the main thread runs Python's handler only when it wakes, so it
    # must wake now and then (a plain wait() can sleep through SIGTERM for ever).
    while not stop.wait(0.5):
        pass


# --------------------------------------------------------------------------- Logstash and Kibana keystores


def product_keystore(tool: str, args: list[str]) -> None:
    """logstash-keystore / kibana-keystore as roles call them. Values are stored base64, NOT encrypted.

    logstash-keystore [--path.settings DIR] create | list | add KEY (value on stdin) | remove KEY
    kibana-keystore create | list | add [--force] [--stdin] KEY (value on stdin, JSON-parsed) | remove KEY
    """
    is_logstash = tool == "logstash-keystore"
    args = list(args)
    if is_logstash:
        folder = Path("/usr/share/logstash/config")
        if "--path.settings" in args:
            index = args.index("--path.settings")
            folder = Path(args[index + 1])
            del args[index : index + 2]
        store = folder / "logstash.keystore"
    else:
        store = Path(os.environ.get("KBN_PATH_CONF", "/etc/kibana")) / "kibana.keystore"
    words = [a for a in args if not a.startswith("-")]
    if not words:
        die(tool, "usage: create|list|add|remove")

    def load() -> dict:
        if not store.exists():
            die(tool, f"ERROR: {store} does not exist")
        return dict(json.loads(store.read_text())["entries"])

    def save(entries: dict) -> None:
        store.write_text(json.dumps({"alur_standin": True, "entries": entries}) + "\n")

    command, rest = words[0], words[1:]
    if command == "create":
        if is_logstash:
            print("Continue without password protection on the keystore? [y/N]", flush=True)
            if sys.stdin.readline().strip().lower() != "y":
                die(tool, "keystore not created")
        save({})
    elif command == "list":
        print("\n".join(sorted(load())))
    elif command == "add":
        entries = load()
        for key in rest:
            name = key.lower() if is_logstash else key
            if name in entries and "--force" not in args and "-f" not in args:
                die(tool, f"ERROR: {key} already exists")
            value: object = sys.stdin.readline().rstrip("\n")
            if not is_logstash:
                with contextlib.suppress(ValueError):
                    value = json.loads(str(value))
            entries[name] = base64.b64encode(json.dumps(value).encode()).decode()
        save(entries)
    elif command == "remove":
        entries = load()
        for key in rest:
            entries.pop(key.lower() if is_logstash else key, None)
        save(entries)
    else:
        die(tool, f"the stand-in does not implement {command!r}")


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


def contract(product: str) -> dict:
    """The product's contract table (tests/standins/contract/<product>.yml): its rules with their sources, and the
    data they need (setting and option names read from the product's source at the pinned tag)."""
    here = Path(__file__).resolve().parent
    for folder in (here / "contract", here.parent / "contract"):  # installed beside the program; in the repo, a sibling
        path = folder / f"{product}.yml"
        if path.is_file():
            return yaml.safe_load(path.read_text()) or {}
    raise ConfigError(f"stand-in contract for {product} not found")


def contract_data(product: str, key: str) -> list:
    return list(contract(product).get("data", {}).get(key, []))
