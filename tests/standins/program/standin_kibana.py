"""CI stand-in for kibana: NOT the vendor's program. See tests/standins/README.md."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import socket
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
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
    load_yaml,
    log,
    port_of,
    run_forever,
    serve,
    tls_context,
)

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
        return es_login(self.settings, request.headers.get("authorization", "")) == 200


# --------------------------------------------------------------------------- start-up checks (contract/kibana.yml)

DEFAULT_HOSTS = ["http://localhost:9200"]  # elasticsearch.hosts' default in the product's schema


def keystore_settings(conf: Path) -> dict:
    """kibana.keystore's entries, which Kibana merges into its settings (values stored base64 of their JSON)."""
    path = conf / "kibana.keystore"
    if not path.exists():
        return {}
    try:
        entries = json.loads(path.read_text())["entries"]
        return {k: json.loads(base64.b64decode(v)) for k, v in entries.items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is not a keystore this stand-in wrote: {exc}") from exc


def check_settings(settings: dict) -> None:
    """Every key of kibana.yml and the keystore must be defined by a config schema (names read from the source)."""
    known = set(contract_data("kibana", "settings"))
    records = tuple(contract_data("kibana", "setting_prefixes"))
    unknown = sorted(k for k in settings if k not in known and not k.startswith(records))
    if unknown:
        keys = ", ".join(f'"{k}"' for k in unknown)
        raise ConfigError(
            f"Unknown configuration key(s): {keys}. Check for spelling errors and ensure that expected "
            "plugins are installed."
        )


def check_elasticsearch_settings(settings: dict) -> None:
    """The elasticsearch.* schema's own validations."""
    if settings.get("elasticsearch.username") == "elastic":
        raise ConfigError(
            '[config validation of [elasticsearch].username]: value of "elastic" is forbidden. This is a superuser '
            "account that cannot write to system indices that Kibana needs to function."
        )
    if "elasticsearch.username" in settings and "elasticsearch.serviceAccountToken" in settings:
        raise ConfigError(
            "[config validation of [elasticsearch].serviceAccountToken]: serviceAccountToken cannot be specified "
            'when "username" is also set.'
        )
    for url in es_hosts(settings):
        if urllib.parse.urlsplit(url).scheme not in {"http", "https"} or not urllib.parse.urlsplit(url).hostname:
            raise ConfigError(
                f"[config validation of [elasticsearch].hosts]: expected URI with scheme [http|https] but got [{url}]"
            )


def check_encryption_keys(settings: dict) -> None:
    """xpack.encryptedSavedObjects.encryptionKey and xpack.security.encryptionKey: at least 32 characters."""
    for key in ("xpack.encryptedSavedObjects.encryptionKey", "xpack.security.encryptionKey"):
        value = settings.get(key)
        if value is not None and len(str(value)) < 32:
            namespace, _, leaf = key.rpartition(".")
            raise ConfigError(
                f"[config validation of [{namespace}].{leaf}]: value has length [{len(str(value))}] but it must "
                "have a minimum length of [32]."
            )


def check_server_settings(settings: dict) -> None:
    """The server.* schema's validations of basePath, rewriteBasePath, publicBaseUrl and ssl."""
    base_path = settings.get("server.basePath")
    if base_path is not None and not re.fullmatch(r"/.*[^/]", str(base_path)):
        raise ConfigError("[config validation of [server].basePath]: must start with a slash, don't end with one")
    if as_bool(settings.get("server.rewriteBasePath", False), "server.rewriteBasePath") and not base_path:
        raise ConfigError(
            "[config validation of [server]]: cannot use [rewriteBasePath] when [basePath] is not specified"
        )
    public = settings.get("server.publicBaseUrl")
    if public is not None:
        parts = urllib.parse.urlsplit(str(public))
        if parts.scheme not in {"http", "https"}:
            raise ConfigError("[config validation of [server].publicBaseUrl]: expected URI with scheme [http|https]")
        if parts.query or parts.fragment or parts.username:
            raise ConfigError(
                "[config validation of [server]]: [publicBaseUrl] may only contain a protocol, host, port, and pathname"
            )
        if (parts.path or "/") != (base_path or "/"):
            raise ConfigError(
                f"[config validation of [server]]: [publicBaseUrl] must contain the [basePath]: "
                f"{parts.path or '/'} !== {base_path}"
            )
    ssl_on = as_bool(settings.get("server.ssl.enabled", False), "server.ssl.enabled")
    pem = settings.get("server.ssl.certificate") and settings.get("server.ssl.key")
    if ssl_on and not pem and not settings.get("server.ssl.keystore.path"):
        raise ConfigError(
            "[config validation of [server].ssl]: must specify [certificate] and [key] -- or "
            "[keystore.path] -- when ssl is enabled"
        )


# --------------------------------------------------------------------------- Kibana's own connection, /api/status


def es_hosts(settings: dict) -> list[str]:
    hosts = settings.get("elasticsearch.hosts", DEFAULT_HOSTS)
    return [str(h) for h in (hosts if isinstance(hosts, list) else [hosts])]


def es_context(settings: dict) -> ssl.SSLContext | None:
    """TLS to Elasticsearch as elasticsearch.ssl.* says (verificationMode full, certificate or none)."""
    mode = str(settings.get("elasticsearch.ssl.verificationMode", "full"))
    cas = settings.get("elasticsearch.ssl.certificateAuthorities")
    if mode == "none":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return context
    context = client_context(cas) if cas else ssl.create_default_context()
    context.check_hostname = mode == "full"
    return context


def es_login(settings: dict, authorization: str) -> int:
    """HTTP status of elasticsearch.hosts' _security/_authenticate with these credentials (0: no host answered)."""
    context = es_context(settings)
    for url in es_hosts(settings):
        headers = {"Authorization": authorization} if authorization else {}
        check = urllib.request.Request(f"{url.rstrip('/')}/_security/_authenticate", headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(check, timeout=10, context=context) as answer:  # noqa: S310
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except OSError:
            continue
    return 0


class ElasticsearchConnection:
    """Kibana's own connection: it logs in to elasticsearch.hosts with elasticsearch.username/password (kibana.yml
    or keystore) or serviceAccountToken, every 2.5 s as the product's health check does; Kibana is available only
    while that succeeds."""

    def __init__(self, settings: dict):
        self.settings = settings
        user, password = settings.get("elasticsearch.username"), settings.get("elasticsearch.password")
        token = settings.get("elasticsearch.serviceAccountToken")
        if token:
            self.authorization = f"Bearer {token}"
        elif user:
            self.authorization = "Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        else:
            self.authorization = ""
        self.summary = "Waiting for Elasticsearch"
        self.available = threading.Event()
        threading.Thread(target=self.poll, daemon=True).start()

    def poll(self) -> None:
        while True:
            status = es_login(self.settings, self.authorization)
            if status == 200:
                self.summary = "Elasticsearch is available"
                self.available.set()
            else:
                self.available.clear()
                self.summary = f"Unable to log in to Elasticsearch ({status or 'no answer'})"
            threading.Event().wait(2.5)


class KibanaStatus:
    """GET /api/status as the product answers it: 503 and level unavailable until Kibana's own Elasticsearch login
    works; once available, callers without credentials get only the overall level unless status.allowAnonymous,
    callers with credentials are checked against Elasticsearch (401 when refused) and get the full status."""

    def __init__(self, prefix: str, settings: dict, connection: ElasticsearchConnection, then: KibanaDataViews):
        self.prefix, self.settings, self.connection, self.then = prefix, settings, connection, then
        self.anonymous = as_bool(settings.get("status.allowAnonymous", False), "status.allowAnonymous")

    def __call__(self, request: Request) -> Answer | None:
        if request.path.rstrip("/") != f"{self.prefix}/api/status":
            return self.then(request)
        if not self.connection.available.is_set():
            return 503, {}, {"status": {"overall": {"level": "unavailable"}}}
        authorization = request.headers.get("authorization", "")
        if authorization and es_login(self.settings, authorization) != 200:
            return 401, {}, {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"}
        if not authorization and not self.anonymous:
            return 200, {}, {"status": {"overall": {"level": "available"}}}
        summary = self.connection.summary
        return (
            200,
            {},
            {
                "name": str(self.settings.get("server.name", socket.gethostname())),
                "version": {"number": VERSION, "build_flavor": "traditional"},
                "status": {
                    "overall": {"level": "available", "summary": "alur CI stand-in, not Kibana"},
                    "core": {"elasticsearch": {"level": "available", "summary": summary}},
                },
            },
        )


def kibana() -> None:
    conf = Path(os.environ.get("KBN_PATH_CONF", "/etc/kibana"))
    try:
        settings = {**load_yaml(conf / "kibana.yml"), **keystore_settings(conf)}
        check_settings(settings)
        check_elasticsearch_settings(settings)
        check_encryption_keys(settings)
        check_server_settings(settings)
        node_options = conf / "node.options"
        if node_options.exists():
            for number, raw in enumerate(node_options.read_text().splitlines(), 1):
                line = raw.strip()
                if line and not line.startswith("#") and not line.startswith("--"):
                    raise ConfigError(f"{node_options}:{number}: {raw!r} is not a node option")
        host = bind_addresses(settings.get("server.host", "localhost"), "server.host")[0]
        port = port_of(settings.get("server.port", 5601), "server.port")
        base_path = str(settings.get("server.basePath", "")).rstrip("/")
        rewrite = as_bool(settings.get("server.rewriteBasePath", False), "server.rewriteBasePath")
        context = tls_context(
            settings.get("server.ssl.enabled", False),
            settings.get("server.ssl.certificate"),
            settings.get("server.ssl.key"),
            "server.ssl.enabled",
        )
        routes = Routes("kibana", base_path if rewrite else "")
        data_dir = Path(str(settings.get("path.data", "/var/lib/kibana")))
        views = KibanaDataViews(routes.prefix, data_dir / "alur-standin-data-views.json", settings)
        connection = ElasticsearchConnection(settings)
        routes.handler = KibanaStatus(routes.prefix, settings, connection, views)
        serve(routes, host, port, context)
        log("kibana", f"logging in to Elasticsearch at {', '.join(es_hosts(settings))}")
    except ConfigError as exc:
        die("kibana", str(exc))
    run_forever("kibana")
