#!/usr/bin/python3
"""CI stand-in for a vendor program (Jenkins, Elasticsearch, Logstash, Kibana, Filebeat). NOT the real product.

Installed by the `+standin` packages that tests/standins/build.py makes. It imitates the packaging contract
and the management surface roles use: it reads the configuration the vendor's package reads, from the same
path, refuses to start when that configuration does not parse, listens where it says (with the TLS it says),
answers the health endpoints roles wait on and the API calls they make (Elasticsearch security, ILM and
templates, Kibana data views), and ships the keystore tools. Everything else answers HTTP 501. No indexing,
no log shipping, no builds. tests/standins/README.md lists what is imitated and what is not.

Usage (what the packages' unit files and wrappers run):
    service.py jenkins                        # environment as the real jenkins.service sets it
    service.py elasticsearch [-p PIDFILE] [--quiet]
    service.py elasticsearch-keystore create|list|add|add-file|remove|show|has-passwd ...
    service.py logstash [--path.settings DIR] [-f PATH] [-t|--config.test_and_exit]
    service.py logstash-keystore [--path.settings DIR] create|list|add|remove ...
    service.py kibana
    service.py kibana-keystore create|list|add|remove ...
    service.py filebeat [test config|test output] [-c FILE] [--path.config DIR] [--strict.perms=false] ...
"""

# ruff: noqa: S104, PTH207 - it binds where its configuration says (0.0.0.0 included); config paths are globs
from __future__ import annotations

import base64
import contextlib
import glob
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
import urllib.error
import urllib.request
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


BUILTIN_ROLES = {"elastic": ["superuser"], "kibana_system": ["kibana_system"], "logstash_system": ["logstash_system"]}
BUILTIN_USERS = (*BUILTIN_ROLES, "beats_system", "apm_system", "remote_monitoring_user")
# What a user without the superuser role may call (the stand-in has no finer privilege model).
ANY_AUTHENTICATED = {"/", "/_cluster/health", "/_security/_authenticate"}


def password_hash(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    return f"{salt}${hashlib.pbkdf2_hmac('sha256', password.encode(), salt.encode(), 20000).hex()}"


def password_matches(stored: str, password: str) -> bool:
    return hmac.compare_digest(password_hash(password, stored.split("$", 1)[0]), stored)


def es_error(status: int, kind: str, reason: str) -> Answer:
    headers = {"WWW-Authenticate": 'Basic realm="security", charset="UTF-8"'} if status == 401 else {}
    cause = {"type": kind, "reason": reason}
    return status, headers, {"error": {"root_cause": [cause], **cause}, "status": status}


class ClusterState:
    """What a real cluster keeps in its security index and cluster state - users, roles, ILM policies, index
    templates, persistent settings - as one JSON document in path.data (passwords as salted PBKDF2 hashes),
    copied to the other nodes over the transport port on every change; at start the newest copy wins."""

    def __init__(self, path: Path, peers: list[tuple[str, int]], client: ssl.SSLContext | None):
        self.path, self.peers, self.client = path, peers, client
        self.lock = threading.Lock()
        self.data: dict = {"version": 0, "users": {}, "roles": {}, "ilm": {}, "templates": {}, "persistent": {}}
        if path.exists():
            try:
                self.data.update(json.loads(path.read_text()))
            except ValueError as exc:
                raise ConfigError(f"{path} is not cluster state this stand-in wrote: {exc}") from exc
        for peer in peers:
            self.adopt(self.exchange(peer, {"op": "get"}))

    def exchange(self, peer: tuple[str, int], message: dict) -> dict | None:
        try:
            with socket.create_connection(peer, timeout=3) as raw:
                conn = self.client.wrap_socket(raw, server_hostname=peer[0]) if self.client else raw
                conn.sendall(json.dumps(message).encode() + b"\n")
                reply = conn.makefile("rb").readline()
            return json.loads(reply) if reply else None
        except (OSError, ValueError):
            return None

    def handle(self, conn: socket.socket) -> None:
        """One request from another node: {"op": "get"} or {"op": "put", "state": ...}; one JSON line back."""
        line = conn.makefile("rb").readline()
        try:
            message = json.loads(line)
        except ValueError:
            return
        if message.get("op") == "put":
            self.adopt(message.get("state"))
        with self.lock:
            conn.sendall(json.dumps(self.data).encode() + b"\n")

    def adopt(self, other: dict | None) -> None:
        with self.lock:
            if isinstance(other, dict) and other.get("version", 0) > self.data["version"]:
                self.data = other
                self.save()

    def change(self, mutate: Callable[[dict], object]) -> object:
        with self.lock:
            result = mutate(self.data)
            self.data["version"] += 1
            self.save()
            snapshot = json.loads(json.dumps(self.data))
        for peer in self.peers:
            self.exchange(peer, {"op": "put", "state": snapshot})
        return result

    def save(self) -> None:
        new = self.path.with_suffix(".tmp")
        new.write_text(json.dumps(self.data, indent=1) + "\n")
        new.chmod(0o600)
        new.replace(self.path)

    def nodes(self) -> int:
        return 1 + sum(1 for peer in self.peers if self.exchange(peer, {"op": "get"}) is not None)


class ElasticsearchApi:
    """The REST calls roles make, over the cluster state; Basic authentication when security is on."""

    def __init__(self, state: ClusterState, secure: bool, bootstrap: str, about: dict):
        self.state, self.secure, self.bootstrap, self.about = state, secure, bootstrap, about

    def authenticate(self, request: Request) -> str | None:
        creds = request.basic_auth()
        if not creds:
            return None
        user, password = creds
        stored = self.state.data["users"].get(user, {}).get("hash")
        if stored:
            return user if password_matches(stored, password) else None
        if user == "elastic" and self.bootstrap and hmac.compare_digest(password, self.bootstrap):
            return user
        return None

    def roles_of(self, user: str) -> list[str]:
        return list(self.state.data["users"].get(user, {}).get("roles") or BUILTIN_ROLES.get(user, []))

    def __call__(self, request: Request) -> Answer:
        user = "_anonymous"
        if self.secure:
            found = self.authenticate(request)
            if found is None:
                who = (request.basic_auth() or ("",))[0]
                reason = f"unable to authenticate user [{who}] for REST request [{request.path}]"
                return es_error(401, "security_exception", reason if who else "missing authentication credentials")
            user = found
            if "superuser" not in self.roles_of(user) and request.path not in ANY_AUTHENTICATED:
                return es_error(403, "security_exception", f"action is unauthorized for user [{user}]")
        return self.route(request, user)

    def route(self, request: Request, user: str) -> Answer:
        parts = [p for p in request.path.split("/") if p]
        method, data = request.method, self.state.data
        if not parts:
            return 200, {}, self.about
        if parts == ["_cluster", "health"]:
            nodes = self.state.nodes()
            health = {"cluster_name": self.about["cluster_name"], "status": "green", "timed_out": False}
            health.update(number_of_nodes=nodes, number_of_data_nodes=nodes, active_shards_percent_as_number=100.0)
            return 200, {}, health
        if parts == ["_cluster", "settings"]:
            if method == "PUT":
                changes = request.json().get("persistent", {})
                self.state.change(lambda d: apply_settings(d["persistent"], flatten(changes)))
                return 200, {}, {"acknowledged": True, "persistent": changes, "transient": {}}
            return 200, {}, {"persistent": data["persistent"], "transient": {}}
        if parts == ["_security", "_authenticate"]:
            realm = "reserved" if user in BUILTIN_USERS else "default_native"
            body = {"username": user, "roles": self.roles_of(user), "enabled": True}
            return 200, {}, {**body, "authentication_realm": {"name": realm, "type": realm.split("_")[-1]}}
        if len(parts) == 3 and parts[:2] == ["_security", "user"]:
            return self.user(method, parts[2], request.json())
        if len(parts) == 4 and parts[:2] == ["_security", "user"] and parts[3] == "_password":
            return self.password(parts[2], request.json())
        if len(parts) == 3 and parts[:2] == ["_security", "role"]:
            return self.stored("roles", parts[2], method, request.json(), lambda b: {parts[2]: b}, "role")
        if len(parts) == 3 and parts[:2] == ["_ilm", "policy"]:
            return self.stored("ilm", parts[2], method, request.json(), lambda b: {parts[2]: b}, "policy")
        if len(parts) == 2 and parts[0] == "_index_template":
            wrap = lambda b: {"index_templates": [{"name": parts[1], "index_template": b}]}  # noqa: E731
            return self.stored("templates", parts[1], method, request.json(), wrap, "template")
        return 501, {}, {"error": "not implemented by the alur CI stand-in for elasticsearch", "path": request.path}

    def user(self, method: str, name: str, body: dict) -> Answer:
        users = self.state.data["users"]
        if method == "GET":
            if name not in users and name not in BUILTIN_USERS:
                return 404, {}, {}
            entry = {"username": name, "roles": self.roles_of(name), "full_name": users.get(name, {}).get("full_name")}
            return 200, {}, {name: {**entry, "enabled": True, "metadata": {}}}
        if method != "PUT" or name in BUILTIN_USERS:
            return es_error(400, "illegal_argument_exception", f"cannot {method} user [{name}] on the stand-in")
        created = name not in users
        if created and not body.get("password"):
            return es_error(400, "action_request_validation_exception", "password must be specified for a new user")

        def put(data: dict) -> None:
            entry = data["users"].setdefault(name, {})
            entry.update(roles=list(body.get("roles", [])), full_name=body.get("full_name"))
            if body.get("password"):
                entry["hash"] = password_hash(str(body["password"]))

        self.state.change(put)
        return 200, {}, {"created": created}

    def password(self, name: str, body: dict) -> Answer:
        if name not in self.state.data["users"] and name not in BUILTIN_USERS:
            return es_error(404, "resource_not_found_exception", f"user [{name}] does not exist")
        if not body.get("password"):
            return es_error(400, "action_request_validation_exception", "password must be specified")
        digest = password_hash(str(body["password"]))
        self.state.change(lambda d: d["users"].setdefault(name, {}).update(hash=digest))
        return 200, {}, {}

    def stored(self, kind: str, name: str, method: str, body: dict, shape: Callable, what: str) -> Answer:
        """GET/PUT of a named object kept as it was PUT (roles, ILM policies, index templates)."""
        if method == "PUT":
            created = name not in self.state.data[kind]
            entry = dict(body)
            if kind == "templates" and isinstance(body.get("template", {}).get("settings"), dict):
                entry["template"] = {**body["template"], "settings": index_settings(body["template"]["settings"])}
            if kind == "ilm":
                entry = {"version": self.state.data[kind].get(name, {}).get("version", 0) + 1, "policy": body["policy"]}
            self.state.change(lambda d: d[kind].__setitem__(name, entry))
            return 200, {}, {"role": {"created": created}} if kind == "roles" else {"acknowledged": True}
        if name not in self.state.data[kind]:
            return (
                (404, {}, {})
                if kind == "roles"
                else es_error(404, "resource_not_found_exception", f"{what} [{name}] missing")
            )
        return 200, {}, shape(self.state.data[kind][name])


def index_settings(settings: dict) -> dict:
    """Index settings as Elasticsearch returns them: every key under `index.`, nested, scalar values as strings."""
    nested: dict = {}
    for key, value in flatten(settings).items():
        name = key if key.startswith("index.") else f"index.{key}"
        *parents, leaf = name.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value if isinstance(value, list) else str(value).lower() if isinstance(value, bool) else str(value)
    return nested


def apply_settings(current: dict, changes: dict) -> None:
    for key, value in changes.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value


def elasticsearch(args: list[str]) -> None:
    conf = Path(os.environ.get("ES_PATH_CONF", "/etc/elasticsearch"))
    try:
        settings = load_yaml(conf / "elasticsearch.yml")
        for name in sorted((conf / "jvm.options.d").glob("*.options")):
            check_jvm_options(name)
        keystore = keystore_load(conf)
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
        transport_server = transport_client = None
        if as_bool(settings.get("xpack.security.transport.ssl.enabled", False), "xpack.security.transport.ssl.enabled"):
            cert, key = (
                settings.get("xpack.security.transport.ssl.certificate"),
                settings.get("xpack.security.transport.ssl.key"),
            )
            cas = settings.get("xpack.security.transport.ssl.certificate_authorities")
            transport_server = server_context(cert, key, cas, True, "xpack.security.transport.ssl")
            verify = str(settings.get("xpack.security.transport.ssl.verification_mode", "full")) == "full"
            transport_client = client_context(cas, cert, key, verify_host=verify)
        cluster = str(settings.get("cluster.name", "elasticsearch"))
        node = str(settings.get("node.name", socket.gethostname()))
        for path in ("path.data", "path.logs"):
            if path in settings and not Path(str(settings[path])).is_dir():
                raise ConfigError(f"{path} {settings[path]} is not a directory")
        peers = []
        seeds = settings.get("discovery.seed_hosts") or []
        for seed in seeds if isinstance(seeds, list) else str(seeds).split(","):
            address, _, port = str(seed).strip().rpartition(":") if "]" not in str(seed) else (str(seed), "", "")
            address, port = (address or str(seed)).strip("[]"), int(port or transport_port)
            if (address, port) not in {(h, transport_port) for h in transport_hosts}:
                peers.append((address, port))
        home = Path(os.environ.get("ES_HOME", "/usr/share/elasticsearch"))
        data_dir = Path(str(settings.get("path.data", home / "data")))
        # Like the product, a node that ever started has path.data/_state (roles look for it).
        try:
            (data_dir / "_state").mkdir(mode=0o750, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"path.data {data_dir}: {exc}") from exc
        state = ClusterState(data_dir / "_state" / "alur-standin-cluster-state.json", peers, transport_client)
        bootstrap = base64.b64decode(keystore.get("bootstrap.password", "")).decode()
        about = {
            "name": node,
            "cluster_name": cluster,
            "version": {"number": VERSION, "build_flavor": "default", "build_type": "deb"},
            "tagline": "alur CI stand-in, not Elasticsearch",
        }
        secure = as_bool(settings.get("xpack.security.enabled", False), "xpack.security.enabled")
        routes = Routes("elasticsearch")
        routes.handler = ElasticsearchApi(state, secure, bootstrap, about)
        for host in http_hosts:
            serve(routes, host, http_port, context)
        for host in transport_hosts:
            listen_tcp("elasticsearch", host, transport_port, "transport", transport_server, state.handle)
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


# --------------------------------------------------------------------------- Kibana


class KibanaDataViews:
    """The data views API (get by id, create), kept in path.data. Callers log in as an Elasticsearch user: the
    stand-in asks elasticsearch.hosts' _security/_authenticate with the caller's credentials, as Kibana does."""

    def __init__(self, prefix: str, path: Path, settings: dict):
        self.prefix, self.path, self.settings = prefix, path, settings
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Answer | None:
        path = request.path[len(self.prefix) :] if request.path.startswith(self.prefix) else request.path
        parts = [p for p in path.split("/") if p]
        if parts[:3] != ["api", "data_views", "data_view"]:
            return None
        if not self.logged_in(request):
            return 401, {}, {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"}
        if request.method != "GET" and "kbn-xsrf" not in request.headers:
            return (
                400,
                {},
                {"statusCode": 400, "error": "Bad Request", "message": "Request must contain a kbn-xsrf header."},
            )
        with self.lock:
            views = json.loads(self.path.read_text()) if self.path.exists() else {}
            if request.method == "GET" and len(parts) == 4:
                if parts[3] not in views:
                    return (
                        404,
                        {},
                        {
                            "statusCode": 404,
                            "error": "Not Found",
                            "message": f"Saved object [index-pattern/{parts[3]}] not found",
                        },
                    )
                return 200, {}, {"data_view": views[parts[3]]}
            if request.method == "POST" and len(parts) == 3:
                view = request.json().get("data_view") or {}
                if not view.get("title"):
                    return (
                        400,
                        {},
                        {"statusCode": 400, "error": "Bad Request", "message": "[data_view.title]: required"},
                    )
                view.setdefault("id", secrets.token_hex(16))
                if view["id"] in views:
                    return (
                        409,
                        {},
                        {"statusCode": 409, "error": "Conflict", "message": f"Duplicate data view: {view['id']}"},
                    )
                views[view["id"]] = view
                self.path.write_text(json.dumps(views, indent=1) + "\n")
                return 200, {}, {"data_view": view}
        return None

    def logged_in(self, request: Request) -> bool:
        hosts = self.settings.get("elasticsearch.hosts")
        if not hosts:
            return True
        cas = self.settings.get("elasticsearch.ssl.certificateAuthorities")
        context = client_context(cas) if cas else None
        for url in hosts if isinstance(hosts, list) else [hosts]:
            headers = {"Authorization": request.headers.get("authorization", "")}
            check = urllib.request.Request(f"{str(url).rstrip('/')}/_security/_authenticate", headers=headers)  # noqa: S310
            try:
                with urllib.request.urlopen(check, timeout=10, context=context) as answer:  # noqa: S310
                    return answer.status == 200
            except urllib.error.HTTPError as exc:
                return exc.code == 200
            except OSError:
                continue
        return False


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
        data_dir = Path(str(settings.get("path.data", "/var/lib/kibana")))
        routes.handler = KibanaDataViews(routes.prefix, data_dir / "alur-standin-data-views.json", settings)
        serve(routes, host, port, context)
    except ConfigError as exc:
        die("kibana", str(exc))
    run_forever("kibana")


# --------------------------------------------------------------------------- Filebeat


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
    elif product in {"logstash-keystore", "kibana-keystore"}:
        product_keystore(product, args)
    elif product == "kibana":
        kibana()
    elif product == "filebeat":
        filebeat(args)
    else:
        die(product, "unknown product")


if __name__ == "__main__":
    main()
