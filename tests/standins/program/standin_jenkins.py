"""CI stand-in for jenkins: NOT the vendor's program. See tests/standins/README.md.

What it imitates is listed, with its source, in tests/standins/contract/jenkins.yml: plugins loaded from
$JENKINS_HOME/plugins with their manifest's dependencies and minimum core, JCasC root elements known only when a
loaded plugin provides them, the boot failure JCasC causes (every URL 503, never ready), the token reload endpoint,
CSRF refusal of POSTs without a crumb, and the local security realm's users on the endpoints that need them.
"""

# ruff: noqa: S104
from __future__ import annotations

import hmac
import os
import re
import shlex
import signal
import threading
import time
import urllib.parse
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from standin_common import VERSION, ConfigError, Request, Routes, contract, die, log, notify_ready, serve

# --------------------------------------------------------------------------- versions


QUALIFIERS = {"alpha": 0, "a": 0, "beta": 1, "b": 1, "milestone": 2, "m": 2, "rc": 3, "cr": 3, "snapshot": 4}


def version_items(version: str) -> list[int | str]:
    """A version split the way Maven's ComparableVersion (Jenkins' VersionNumber) splits it: at '.', '-', '_'
    and where digits meet letters; numbers compare as numbers."""
    items: list[int | str] = []
    for token in re.findall(r"\d+|[a-zA-Z]+", version):
        items.append(int(token) if token.isdigit() else token.lower())
    return items


def _item_order(item: int | str | None) -> tuple[int, int, str]:
    if item is None:
        return (2, 0, "")  # a release sorts after its pre-releases and before anything longer
    if isinstance(item, int):
        return (4, item, "")
    if item in QUALIFIERS:
        return (1, QUALIFIERS[item], "")
    return (3, 0, item)


def is_older(version: str, than: str) -> bool:
    mine, theirs = version_items(version), version_items(than)
    for index in range(max(len(mine), len(theirs))):
        a = mine[index] if index < len(mine) else None
        b = theirs[index] if index < len(theirs) else None
        # A missing number is 0 ("1" == "1.0"); a missing item against a word is a release against a qualifier.
        a = 0 if a is None and isinstance(b, int) else a
        b = 0 if b is None and isinstance(a, int) else b
        if _item_order(a) != _item_order(b):
            return _item_order(a) < _item_order(b)
    return False


# --------------------------------------------------------------------------- plugins


def read_manifest(archive: Path) -> dict[str, str]:
    """Main attributes of a plugin's META-INF/MANIFEST.MF (lines of at most 72 bytes; a line starting with one
    space continues the one before)."""
    with zipfile.ZipFile(archive) as jar:
        text = jar.read("META-INF/MANIFEST.MF").decode("utf-8")
    attributes: dict[str, str] = {}
    name = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line:
            if attributes:
                break  # the main section ends at the first empty line
            continue
        if line.startswith(" ") and name:
            attributes[name] += line[1:]
            continue
        name, sep, value = line.partition(": ")
        if not sep:
            raise ValueError(f"{archive}: manifest line {line!r} is not 'Name: value'")
        attributes[name] = value
    return attributes


@dataclass
class Dependency:
    plugin: str
    version: str
    optional: bool


def parse_dependencies(spec: str) -> list[Dependency]:
    """Plugin-Dependencies: comma-separated id:version, ';resolution:=optional' after an optional one."""
    found = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        plugin, sep, rest = item.partition(":")
        if not sep:
            raise ValueError(f"illegal dependency specifier {item!r}")
        version, *properties = rest.split(";")
        optional = any(p.strip().lower() == "resolution:=optional" for p in properties)
        found.append(Dependency(plugin, version if optional else rest, optional))
    return found


@dataclass
class Plugin:
    name: str
    version: str
    path: Path
    core: str | None
    dependencies: list[Dependency]
    enabled: bool = True
    errors: list[str] = field(default_factory=list)
    resolved: bool = False

    @property
    def active(self) -> bool:
        return self.enabled and self.resolved and not self.errors


def find_plugins(folder: Path) -> dict[str, Plugin]:
    plugins: dict[str, Plugin] = {}
    for path in sorted([*folder.glob("*.jpi"), *folder.glob("*.hpi")]) if folder.is_dir() else []:
        try:
            manifest = read_manifest(path)
            dependencies = parse_dependencies(manifest.get("Plugin-Dependencies", ""))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            log("jenkins", f"SEVERE: failed to read plugin {path.name}: {exc}")
            continue
        name = manifest.get("Short-Name") or path.stem
        if name in plugins:
            continue  # a .jpi wins over an .hpi of the same plugin (sorted: .hpi comes first only by name)
        plugins[name] = Plugin(
            name=name,
            version=manifest.get("Plugin-Version", "0"),
            path=path,
            core=manifest.get("Jenkins-Version") or manifest.get("Hudson-Version"),
            dependencies=dependencies,
            enabled=not Path(f"{path}.disabled").exists(),
        )
    return plugins


def resolve_plugin(
    plugin: Plugin, plugins: dict[str, Plugin], core: str, visiting: frozenset[str] = frozenset()
) -> None:
    """Whether a plugin loads, as PluginWrapper.resolvePluginDependencies decides: its minimum core, then each
    required dependency (present, enabled, loaded, not older than asked), then each optional one that is there."""
    if plugin.resolved:
        return
    plugin.resolved = True
    errors = plugin.errors
    if plugin.core and is_older(core, plugin.core):
        errors.append(f"Jenkins ({core}) or higher required: {plugin.core}")
    for dep in plugin.dependencies:
        other = plugins.get(dep.plugin)
        if other is None:
            if not dep.optional:
                errors.append(f"Plugin is missing: {dep.plugin} ({dep.version})")
            continue
        if dep.plugin in visiting:
            errors.append(f"Dependency cycle with {dep.plugin}")
            continue
        resolve_plugin(other, plugins, core, visiting | {plugin.name})
        if dep.optional and not other.active:
            continue
        if is_older(other.version, dep.version):
            errors.append(f"Update required: {dep.plugin} ({other.version}) to be updated to {dep.version} or higher")
        elif not other.enabled:
            errors.append(f"Plugin {dep.plugin} is disabled")
        elif other.errors:
            errors.append(f"Failed to load: {dep.plugin} ({other.version})")


def load_plugins(folder: Path, core: str) -> dict[str, Plugin]:
    plugins = find_plugins(folder)
    for plugin in plugins.values():
        resolve_plugin(plugin, plugins, core)
        if plugin.errors:
            reasons = "\n - ".join(plugin.errors)
            log("jenkins", f"SEVERE: Failed to load: {plugin.name} ({plugin.version})\n - {reasons}")
    return plugins


# --------------------------------------------------------------------------- JCasC


class CascError(Exception):
    """JCasC cannot apply the configuration: at start-up Jenkins fails to boot; on a reload, the reload fails."""


class CascYamlError(CascError):
    """A file that is not YAML: snakeyaml's YAMLException, which JCasC does not turn into a ConfiguratorException
    (at start-up still a boot failure; on a token reload it escapes as an HTTP 500)."""


def casc_sources(env: dict[str, str], home: Path) -> list[Path]:
    casc = Path(env.get("CASC_JENKINS_CONFIG") or str(home / "jenkins.yaml"))
    if casc.is_dir():
        return sorted(p for p in casc.rglob("*") if p.suffix in {".yml", ".yaml"} and p.is_file())
    return [casc] if casc.is_file() else []


def merge(into: dict, extra: dict, where: str = "") -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value, f"{where}{key}.")
        elif isinstance(value, list) and isinstance(into.get(key), list):
            into[key] = into[key] + value
        else:
            into[key] = value


def read_casc(files: list[Path]) -> dict:
    merged: dict = {}
    for path in files:
        try:
            text = path.read_text()
        except OSError as exc:
            raise CascError(f"Failed to read {path}: {exc}") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CascYamlError(f"{path} does not parse: {exc}") from exc
        if data is None:
            continue
        if not isinstance(data, dict):
            raise CascError(f"{path}: the configuration must be a mapping of root elements")
        merge(merged, data)
    return merged


def casc_root_providers() -> dict[str, str]:
    """Root element -> the plugin whose configurator provides it ('core': Jenkins core, read through JCasC)."""
    return {str(k).lower(): str(v) for k, v in (contract("jenkins").get("data", {}).get("casc_roots") or {}).items()}


def check_casc_roots(config: dict, plugins: dict[str, Plugin]) -> None:
    """JCasC matches each root key (case-insensitively) to a root configurator of a loaded plugin; keys starting
    with 'x-' are YAML anchors' homes and ignored; any other key left over fails the whole configuration."""
    providers = casc_root_providers()
    unknown = []
    for key in config:
        name = str(key).lower()
        if name.startswith("x-"):
            continue
        provider = providers.get(name)
        if provider is None or (provider != "core" and not (provider in plugins and plugins[provider].active)):
            unknown.append(str(key))
    if unknown:
        raise CascError(
            f"No configurator found for the following root element{'s' if len(unknown) > 1 else ''}: "
            f"{', '.join(unknown)}. The plugin that provides it is not installed or failed to load."
        )


def check_crumb_issuer(config: dict) -> None:
    """Since 2.543 DefaultCrumbIssuer (symbol 'standard') has a no-argument constructor and no
    excludeClientIPFromCrumb attribute: JCasC refuses the attribute as an invalid configuration element."""
    jenkins = config.get("jenkins")
    issuer = jenkins.get("crumbIssuer") if isinstance(jenkins, dict) else None
    standard = issuer.get("standard") if isinstance(issuer, dict) else None
    if isinstance(standard, dict) and standard:
        raise CascError(
            "Invalid configuration elements for type: class hudson.security.csrf.DefaultCrumbIssuer : "
            f"{', '.join(map(str, standard))}. Available attributes: (none)"
        )


SECRET = re.compile(r"\$\{([^}:]+)(?::-([^}]*))?\}")


def resolve_secret(value: object, env: dict[str, str]) -> str:
    """${name} from the environment or a file named `name` in $SECRETS (default /run/secrets), as JCasC's
    secret sources do; unresolved without a default it is empty."""
    secrets = Path(env.get("SECRETS") or "/run/secrets")

    def lookup(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        path = secrets / name
        if path.is_file():
            return path.read_text().strip()
        return default or ""

    return SECRET.sub(lookup, str(value))


@dataclass
class Security:
    """What the local security realm and the authorization strategy of a JCasC configuration allow."""

    enabled: bool = False
    users: dict[str, str] = field(default_factory=dict)  # id -> password
    admins: set[str] = field(default_factory=set)
    anyone_logged_in_admin: bool = False

    def is_admin(self, user: str | None) -> bool:
        if not self.enabled:
            return True
        if user is None:
            return False
        return self.anyone_logged_in_admin or user in self.admins


def security_of(config: dict, env: dict[str, str]) -> Security:
    jenkins = config.get("jenkins") if isinstance(config.get("jenkins"), dict) else {}
    realm = jenkins.get("securityRealm")
    local = realm.get("local") if isinstance(realm, dict) else None
    if not isinstance(local, dict):
        return Security()
    users = {
        str(u["id"]): resolve_secret(u.get("password", ""), env)
        for u in local.get("users") or []
        if isinstance(u, dict) and "id" in u
    }
    security = Security(enabled=True, users=users)
    strategy = jenkins.get("authorizationStrategy")
    if isinstance(strategy, dict):
        if "loggedInUsersCanDoAnything" in strategy:
            security.anyone_logged_in_admin = True
        matrix = strategy.get("globalMatrix") or {}
        for entry in (matrix.get("entries") or []) if isinstance(matrix, dict) else []:
            user = entry.get("user") if isinstance(entry, dict) else None
            if isinstance(user, dict) and "Overall/Administer" in (user.get("permissions") or []):
                security.admins.add(str(user.get("name")))
        if "unsecured" in strategy:
            security.enabled = False
    return security


# --------------------------------------------------------------------------- the controller


class Controller:
    """One Jenkins process: booting (every URL 503), running, or failed to boot (every URL 503, never ready)."""

    def __init__(self, env: dict[str, str], home: Path, prefix: str):
        self.env, self.home, self.prefix = env, home, prefix
        self.state = "booting"
        self.failure = ""
        self.plugins: dict[str, Plugin] = {}
        self.config: dict = {}
        self.security = Security()
        self.lock = threading.Lock()

    @property
    def casc_loaded(self) -> bool:
        plugin = self.plugins.get("configuration-as-code")
        return bool(plugin and plugin.active)

    def reload_token(self) -> str:
        token = self.env.get("CASC_RELOAD_TOKEN", "")
        if not token:
            for option in shlex.split(self.env.get("JAVA_OPTS", "")):
                if option.startswith("-Dcasc.reload.token="):
                    token = option.split("=", 1)[1]
        return token

    def configure(self) -> None:
        """What ConfigurationAsCode.configure does with the files: all or nothing."""
        config = read_casc(casc_sources(self.env, self.home))
        check_casc_roots(config, self.plugins)
        check_crumb_issuer(config)
        with self.lock:
            self.config, self.security = config, security_of(config, self.env)

    def boot(self) -> None:
        self.plugins = load_plugins(self.home / "plugins", VERSION)
        try:
            if self.casc_loaded:
                self.configure()
        except CascError as exc:
            self.failure = f"ConfigurationAsCodeBootFailure: {exc}"
            self.state = "failed"
            log("jenkins", f"SEVERE: Jenkins failed to boot: {self.failure}")
            return
        self.state = "running"
        notify_ready()
        log("jenkins", f"stand-in for Jenkins {VERSION} is up; this is NOT Jenkins")

    # ------------------------------------------------------------------ HTTP

    def user_of(self, request: Request) -> tuple[str | None, bool]:
        """(user, credentials_valid): Basic credentials are checked against the local realm's users."""
        credentials = request.basic_auth()
        if credentials is None:
            return None, True
        user, password = credentials
        known = self.security.users.get(user)
        if known is not None and known and hmac.compare_digest(known.encode(), password.encode()):
            return user, True
        return None, False

    def answer(self, request: Request) -> tuple[int, dict, dict | str] | None:
        if self.prefix and not (request.path == self.prefix or request.path.startswith(self.prefix + "/")):
            return 404, {}, "<html><body>Not found</body></html>"
        path = request.path[len(self.prefix) :] or "/"
        if self.state == "booting":
            return 503, {}, "<html><body>Please wait while Jenkins is getting ready to work...</body></html>"
        if self.state == "failed":
            return 503, {}, f"<html><body><h1>Jenkins failed to start</h1><pre>{self.failure}</pre></body></html>"
        user, valid = self.user_of(request)
        if not valid:  # BasicHeaderProcessor: before any other filter, on every method
            return 401, {"WWW-Authenticate": 'Basic realm="Jenkins"'}, "<html><body>Invalid password/token</body>"
        if request.method == "POST":
            return self.post(request, path)
        return self.get(path, user)

    def post(self, request: Request, path: str) -> tuple[int, dict, dict | str]:
        token = self.reload_token()
        if path == "/reload-configuration-as-code/" and self.casc_loaded and token:
            return reload_by_token(self, request, token)
        return 403, {}, "<html><body>Error 403 No valid crumb was included in the request</body></html>"

    def get(self, path: str, user: str | None) -> tuple[int, dict, dict | str]:
        headers = {"X-Jenkins": VERSION}
        if path == "/login":
            page = f"<html><body><h1>Sign in: alur CI stand-in for Jenkins {VERSION}</h1><p>Not Jenkins.</p></body>"
            return 200, headers, page
        if path == "/whoAmI/api/json":
            return 200, headers, {"name": user or "anonymous", "anonymous": user is None, "authenticated": True}
        if path in {"/reload-configuration-as-code/", "/configuration-as-code/reload"}:
            return 405, {**headers, "Allow": "POST"}, "<html><body>This URL requires POST</body></html>"
        if not self.security.is_admin(user):
            return 403, headers, "<html><body>Authentication required</body></html>"
        if path == "/api/json":
            jenkins = self.config.get("jenkins") if isinstance(self.config.get("jenkins"), dict) else {}
            location = (self.config.get("unclassified") or {}).get("location") or {}
            return (
                200,
                headers,
                {
                    "description": jenkins.get("systemMessage"),
                    "numExecutors": int(jenkins.get("numExecutors", 2)),
                    "useSecurity": self.security.enabled,
                    "url": location.get("url") if isinstance(location, dict) else None,
                },
            )
        if path == "/pluginManager/api/json":
            plugins = [
                {"shortName": p.name, "version": p.version, "active": p.active, "enabled": p.enabled}
                for p in self.plugins.values()
            ]
            return 200, headers, {"plugins": plugins}
        return 501, headers, {"error": "not implemented by the alur CI stand-in for jenkins", "path": path}


def reload_by_token(controller: Controller, request: Request, token: str) -> tuple[int, dict, dict | str]:
    """POST /reload-configuration-as-code/ (TokenReloadAction): 401 on a wrong token; 200 with an empty body once
    applied; 200 with {"status": "error", "message": ...} when JCasC refuses the configuration (nothing applied)."""
    fields = urllib.parse.parse_qs(request.query)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        fields.update(urllib.parse.parse_qs(request.body.decode(errors="replace")))
    given = (fields.get("casc-reload-token") or [""])[0]
    if not given or not hmac.compare_digest(given.encode(), token.encode()):
        log("jenkins", "WARNING: Invalid token received, not reloading configuration")
        return 401, {}, "<html><body>Error 401 Unauthorized</body></html>"
    try:
        controller.configure()
    except CascYamlError as exc:
        log("jenkins", f"SEVERE: Error while serving /reload-configuration-as-code/: {exc}")
        return 500, {}, "<html><body>Oops! A problem occurred while processing the request.</body></html>"
    except CascError as exc:
        log("jenkins", f"SEVERE: Failed to reload Jenkins Configuration as Code via token: {exc}")
        return 200, {}, {"status": "error", "message": f"Failed to reload configuration: {exc}"}
    log("jenkins", "Configuration reload triggered via token")
    return 200, {}, ""


# --------------------------------------------------------------------------- the program


def java_major(command: str) -> int | None:
    import subprocess

    try:
        proc = subprocess.run([command, "-version"], capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)', proc.stderr + proc.stdout)
    return int(match.group(1)) if match else None


def stay_up() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):  # wakes now and then so that a signal landing on another thread is seen
        pass


def jenkins() -> None:
    env = dict(os.environ)
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
    try:
        port = int(env.get("JENKINS_PORT", "8080"))
    except ValueError as exc:
        die("jenkins", f"JENKINS_PORT does not parse: {exc}")
    prefix = env.get("JENKINS_PREFIX", "").rstrip("/")
    if prefix and not prefix.startswith("/"):
        die("jenkins", f"JENKINS_PREFIX {prefix!r} must start with /")
    controller = Controller(env, home, prefix)
    if port != -1:
        routes = Routes("jenkins", prefix)
        routes.handler = controller.answer
        try:
            serve(routes, env.get("JENKINS_LISTEN_ADDRESS") or "0.0.0.0", port)
        except ConfigError as exc:
            die("jenkins", str(exc))
    # Jenkins answers 503 while it loads its plugins and configuration (a test may lengthen that moment).
    time.sleep(float(env.get("ALUR_STANDIN_BOOT_SECONDS", "0")))
    controller.boot()
    stay_up()
