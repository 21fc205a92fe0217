"""CI stand-in for kibana: NOT the vendor's program. See tests/standins/README.md."""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import urllib.error
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
    die,
    load_yaml,
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
