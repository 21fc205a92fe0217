"""CI stand-in for elasticsearch: NOT the vendor's program. See tests/standins/README.md."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import resource
import secrets
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from standin_common import (
    VERSION,
    Answer,
    ConfigError,
    Request,
    Routes,
    as_bool,
    bind_addresses,
    client_context,
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
    tls_context,
)

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

    def __init__(self, state: ClusterState, secure: bool, bootstrap: str, about: dict, needed: int = 1):
        self.state, self.secure, self.bootstrap, self.about = state, secure, bootstrap, about
        self.needed = needed  # nodes the cluster is configured to have (this one included)

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
            return self.health(request.query)
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

    def health(self, query: str) -> Answer:
        """Cluster health computed from the nodes this node sees over transport: green when it sees every node
        the cluster needs (discovery.seed_hosts, cluster.initial_master_nodes), yellow when it sees a majority
        (replicas of the missing nodes' shards unassigned), no elected master below that (503 once master_timeout
        passes). wait_for_status waits up to timeout and answers 408 with timed_out: true, as the product does."""
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
        try:
            wanted = params.get("wait_for_status")
            if wanted is not None and wanted not in HEALTH_RANK:
                raise ValueError(f"unknown cluster health status [{wanted}]")
            timeout = time_value(params.get("timeout", "30s"), "timeout")
            master_timeout = time_value(params.get("master_timeout", "30s"), "master_timeout")
        except ValueError as exc:
            return es_error(400, "illegal_argument_exception", str(exc))
        start = time.monotonic()
        while True:
            seen = self.state.nodes()
            elected = seen * 2 > self.needed
            status = "green" if seen >= self.needed else "yellow"
            waited = time.monotonic() - start
            if elected and (wanted is None or HEALTH_RANK[status] >= HEALTH_RANK[wanted]):
                return 200, {}, self.health_body(status, seen, False)
            if elected and waited >= timeout:
                return 408, {}, self.health_body(status, seen, True)
            if not elected and waited >= master_timeout:
                return es_error(503, "master_not_discovered_exception", "no master node elected: not enough nodes seen")
            time.sleep(min(1.0, max(0.05, min(timeout, master_timeout) - waited)))

    def health_body(self, status: str, seen: int, timed_out: bool) -> dict:
        body = {"cluster_name": self.about["cluster_name"], "status": status, "timed_out": timed_out}
        unassigned = 0 if status == "green" else self.needed - seen
        body.update(number_of_nodes=seen, number_of_data_nodes=seen, unassigned_shards=unassigned)
        body["active_shards_percent_as_number"] = 100.0 if status == "green" else round(100.0 * seen / self.needed, 1)
        return body

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


# ------------------------------------------------------------------- start-up checks (contract/elasticsearch.yml)

# Test seams, never set by a role or a package: the file read for vm.max_map_count (a test points it at a file with a
# lower value, since a container sees its host's kernel setting and cannot change it), and bootstrap checks a test
# bed cannot satisfy (comma-separated check names; each is logged as waived, never silently passed).
MAX_MAP_COUNT_PATH_ENV = "ALUR_STANDIN_MAX_MAP_COUNT_PATH"
WAIVED_CHECKS_ENV = "ALUR_STANDIN_WAIVED_BOOTSTRAP_CHECKS"
UNKNOWN_SETTING = (
    "unknown setting [{}] please check that any required plugins are installed, or check the breaking changes "
    "documentation for removed settings"
)


def check_settings(settings: dict) -> None:
    """Every key of elasticsearch.yml must be a registered setting (names read from the product's source)."""
    known = set(contract_data("elasticsearch", "settings"))
    for prefix in ("xpack.security.http.ssl.", "xpack.security.transport.ssl."):
        known |= {prefix + suffix for suffix in contract_data("elasticsearch", "ssl_setting_suffixes")}
    groups = tuple(contract_data("elasticsearch", "setting_prefixes"))
    for key in sorted(settings):
        if key not in known and not key.startswith(groups):
            raise ConfigError(UNKNOWN_SETTING.format(key))


def check_cluster_settings(settings: dict) -> None:
    """Checks the node makes whatever its mode: cluster name, discovery type, initial master nodes."""
    name = str(settings.get("cluster.name", "elasticsearch"))
    if not name or ":" in name:
        raise ConfigError(f"[cluster.name] must not be empty or contain ':' (got {name!r})")
    kind = str(settings.get("discovery.type", "multi-node"))
    if kind not in {"multi-node", "single-node", "zen"}:
        raise ConfigError(f"Unknown discovery type [{kind}]")
    masters = settings.get("cluster.initial_master_nodes")
    if kind == "single-node" and masters is not None:
        raise ConfigError(
            "setting [cluster.initial_master_nodes] is not allowed when [discovery.type] is set to [single-node]"
        )
    names = masters if isinstance(masters, list) else str(masters or "").split(",") if masters else []
    if len({str(n).strip() for n in names}) != len(names):
        raise ConfigError(f"setting [cluster.initial_master_nodes] contains duplicates: {names}")


def heap_bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmgt]?)", size.lower()).groups()  # type: ignore[union-attr]
    return int(number) * 1024 ** " kmgt".index(unit or " ")


def jvm_heap(conf: Path) -> tuple[str | None, str | None]:
    """Initial and maximum heap as the launcher puts them together: jvm.options, jvm.options.d/*.options in name
    order, then ES_JAVA_OPTS; the last -Xms/-Xmx wins. A line that is not a JVM option stops the node."""
    sources = [conf / "jvm.options", *sorted((conf / "jvm.options.d").glob("*.options"))]
    options: list[str] = []
    for path in sources:
        if not path.is_file():
            continue
        for number, raw in enumerate(path.read_text().splitlines(), 1):
            line = re.sub(r"^\d+(-\d*)?:", "", raw.strip())
            if not line or line.startswith("#"):
                continue
            if not line.startswith("-"):
                raise ConfigError(f"{path}:{number}: {raw!r} is not a JVM option")
            options.append(line)
    options += os.environ.get("ES_JAVA_OPTS", "").split()
    heap: dict[str, str] = {}
    for option in options:
        match = re.fullmatch(r"-Xm([sx])(\d+[kmgtKMGT]?)", option)
        if match:
            heap[match.group(1)] = match.group(2)
    return heap.get("s"), heap.get("x")


def production_mode(settings: dict, transport_hosts: list[str]) -> bool:
    """The product enforces its bootstrap checks once transport is bound to (or publishes) an address other than
    loopback, unless discovery.type is single-node."""
    publish = settings.get("transport.publish_host", settings.get("network.publish_host"))
    addresses = list(transport_hosts) + (bind_addresses(publish, "transport.publish_host") if publish else [])
    outside = any(not (a.startswith("127.") or a == "::1") for a in addresses)
    return outside and str(settings.get("discovery.type", "multi-node")) != "single-node"


def soft_limit(kind: int) -> int:
    return resource.getrlimit(kind)[0]


def max_map_count() -> int:
    path = Path(os.environ.get(MAX_MAP_COUNT_PATH_ENV, "/proc/sys/vm/max_map_count"))
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return -1


def bootstrap_checks(settings: dict, conf: Path, transport_hosts: list[str]) -> None:
    """The product's bootstrap checks the stand-in can see: failures stop the node in production mode and are
    logged as warnings otherwise."""
    failures: dict[str, str] = {}
    initial, maximum = jvm_heap(conf)
    if initial and maximum and heap_bytes(initial) != heap_bytes(maximum):
        failures["heap"] = (
            f"initial heap size [{heap_bytes(initial)}] not equal to maximum heap size [{heap_bytes(maximum)}]"
        )
    files = soft_limit(resource.RLIMIT_NOFILE)
    if files != resource.RLIM_INFINITY and files < 65535:
        failures["file_descriptors"] = (
            f"max file descriptors [{files}] for elasticsearch process is too low, increase to at least [65535]"
        )
    threads = soft_limit(resource.RLIMIT_NPROC)
    if threads != resource.RLIM_INFINITY and threads < 4096:
        failures["max_threads"] = f"max number of threads [{threads}] is too low, increase to at least [4096]"
    if soft_limit(resource.RLIMIT_AS) != resource.RLIM_INFINITY:
        failures["max_size_virtual_memory"] = "max size virtual memory is too low, increase to [unlimited]"
    if soft_limit(resource.RLIMIT_FSIZE) != resource.RLIM_INFINITY:
        failures["max_file_size"] = "max file size is too low, increase to [unlimited]"
    maps = max_map_count()
    if as_bool(settings.get("node.store.allow_mmap", True), "node.store.allow_mmap") and 0 <= maps < 262144:
        failures["max_map_count"] = (
            f"max virtual memory areas vm.max_map_count [{maps}] is too low, increase to at least [262144]"
        )
    discovery = ("discovery.seed_hosts", "discovery.seed_providers", "cluster.initial_master_nodes")
    if str(settings.get("discovery.type", "multi-node")) != "single-node" and not any(k in settings for k in discovery):
        failures["discovery"] = (
            "the default discovery settings are unsuitable for production use; at least one of "
            f"[{', '.join(discovery)}] must be configured"
        )
    waived = {w.strip() for w in os.environ.get(WAIVED_CHECKS_ENV, "").split(",") if w.strip()}
    for name in sorted(waived & set(failures)):
        log(
            "elasticsearch",
            f"bootstrap check [{name}] WAIVED by the test bed ({WAIVED_CHECKS_ENV}): {failures.pop(name)}",
        )
    if not failures:
        return
    if not production_mode(settings, transport_hosts):
        for message in failures.values():
            log("elasticsearch", f"bootstrap check failure ignored in development mode: {message}")
        return
    lines = [f"bootstrap check failure [{i}] of [{len(failures)}]: {m}" for i, m in enumerate(failures.values(), 1)]
    raise ConfigError(f"[{len(failures)}] bootstrap checks failed\n" + "\n".join(lines))


# --------------------------------------------------------------------------- cluster health


def time_value(text: str, setting: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", text.strip())
    if not match:
        raise ValueError(f"failed to parse setting [{setting}] with value [{text}] as a time value")
    return int(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2) or "ms"]


HEALTH_RANK = {"red": 0, "yellow": 1, "green": 2}


def elasticsearch(args: list[str]) -> None:
    conf = Path(os.environ.get("ES_PATH_CONF", "/etc/elasticsearch"))
    try:
        settings = load_yaml(conf / "elasticsearch.yml")
        check_settings(settings)
        check_cluster_settings(settings)
        keystore = keystore_load(conf)
        http_hosts = bind_addresses(settings.get("http.host", settings.get("network.host", "_local_")), "http.host")
        http_port = port_of(settings.get("http.port", 9200), "http.port")
        transport_hosts = bind_addresses(
            settings.get("transport.host", settings.get("network.host", "_local_")), "transport.host"
        )
        transport_port = port_of(settings.get("transport.port", 9300), "transport.port")
        bootstrap_checks(settings, conf, transport_hosts)
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
        masters = settings.get("cluster.initial_master_nodes") or []
        masters = masters if isinstance(masters, list) else str(masters).split(",")
        single = str(settings.get("discovery.type", "multi-node")) == "single-node"
        needed = 1 if single else max(1 + len(peers), len(masters))
        routes.handler = ElasticsearchApi(state, secure, bootstrap, about, needed)
        for host in http_hosts:
            serve(routes, host, http_port, context)
        for host in transport_hosts:
            listen_tcp("elasticsearch", host, transport_port, "transport", transport_server, state.handle)
    except ConfigError as exc:
        die("elasticsearch", str(exc))
    if "-p" in args:
        Path(args[args.index("-p") + 1]).write_text(f"{os.getpid()}\n")
    run_forever("elasticsearch")


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
