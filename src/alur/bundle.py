"""Offline bundles of vendor software: `alur bundle create` on a connected machine, `alur bundle verify` anywhere.

A bundle is a folder:

    manifest.json               format, creation time, products -> packages, Jenkins plugins
    SHA256SUMS                  sha256sum(1) lines for every other file in the bundle
    apt/<product>/Packages      a flat apt repository per product (Filename relative to that folder)
    apt/<product>/*.deb         the product's package and the vendor packages it depends on
    jenkins-plugins/plugins.lock  id:version of every plugin, dependencies included
    jenkins-plugins/<id>.jpi    the plugin files

The `artifacts` role copies the folders a host needs, checks every file against SHA256SUMS on the host
and points apt at it. Everything a bundle holds was checked against the vendor's own checksums, and the
checksums against the vendor's signing key (fingerprint pinned in roles/artifacts/defaults/main.yml),
before it was written.
"""

from __future__ import annotations

import base64
import bz2
import contextlib
import gzip
import hashlib
import io
import json
import lzma
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click
import jinja2
import yaml

from alur import __version__
from alur.errors import AlurError
from alur.paths import project_root

FORMAT = 1
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
PLUGINS_DIR = "jenkins-plugins"
PLUGINS_LOCK = "plugins.lock"
STANDIN_MARK = "+standin"

ELASTIC_PRODUCTS = ("elasticsearch", "logstash", "kibana", "filebeat")
PRODUCTS = ("jenkins", "temurin", *ELASTIC_PRODUCTS)
# Inventory group -> products a bundle for that inventory must hold.
GROUP_PRODUCTS: dict[str, tuple[str, ...]] = {
    "jenkins": ("jenkins",),
    "elasticsearch": ("elasticsearch",),
    "logstash": ("logstash",),
    "kibana": ("kibana",),
    "filebeat": ("filebeat",),
}
JAVA_GROUPS = ("jenkins", "jenkins_agents")
# Path of each Elastic package under the vendor's download area (artifacts.elastic.co/downloads).
ELASTIC_DOWNLOAD_PATHS = {
    "elasticsearch": "elasticsearch/elasticsearch-{version}-{arch}.deb",
    "logstash": "logstash/logstash-{version}-{arch}.deb",
    "kibana": "kibana/kibana-{version}-{arch}.deb",
    "filebeat": "beats/filebeat/filebeat-{version}-{arch}.deb",
}
CHUNK = 1 << 20


class BundleError(AlurError):
    """A bundle could not be made, or does not hold what it claims."""

    exit_code = 4


# --------------------------------------------------------------------------- Debian versions and indexes


def _order(char: str) -> int:
    if char == "~":
        return -1
    if char.isdigit():
        return 0
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_part(a: str, b: str) -> int:
    while a or b:
        a_text = re.match(r"[^\d]*", a)
        b_text = re.match(r"[^\d]*", b)
        a_lead = a_text.group() if a_text else ""
        b_lead = b_text.group() if b_text else ""
        for i in range(max(len(a_lead), len(b_lead))):
            ca = _order(a_lead[i]) if i < len(a_lead) else 0
            cb = _order(b_lead[i]) if i < len(b_lead) else 0
            if ca != cb:
                return -1 if ca < cb else 1
        a, b = a[len(a_lead) :], b[len(b_lead) :]
        a_num = re.match(r"\d*", a)
        b_num = re.match(r"\d*", b)
        a_digits = a_num.group() if a_num else ""
        b_digits = b_num.group() if b_num else ""
        if int(a_digits or 0) != int(b_digits or 0):
            return -1 if int(a_digits or 0) < int(b_digits or 0) else 1
        a, b = a[len(a_digits) :], b[len(b_digits) :]
    return 0


def compare_versions(a: str, b: str) -> int:
    """dpkg's version ordering (epoch, upstream version, revision; `~` sorts before everything)."""

    def split(v: str) -> tuple[int, str, str]:
        epoch, _, rest = v.rpartition(":") if ":" in v else ("0", "", v)
        upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "0")
        return int(epoch or 0), upstream, revision

    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def parse_stanzas(text: str) -> list[dict[str, str]]:
    """Paragraphs of a Debian control-style file (Packages, Release, a .deb's control) as ordered dicts."""
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                stanzas.append(current)
            current, key = {}, ""
        elif line[0] in " \t" and key:
            current[key] += "\n" + line
        elif ":" in line:
            key, _, value = line.partition(":")
            current[key] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def format_stanza(stanza: dict[str, str]) -> str:
    return "".join(f"{k}: {v}\n" for k, v in stanza.items())


def depends_names(depends: str) -> list[list[str]]:
    """`a (>= 1) | b, c:any` -> [['a', 'b'], ['c']]: package names per alternative group."""
    groups = []
    for group in depends.split(","):
        names = [re.split(r"[\s(:\[]", alt.strip(), maxsplit=1)[0] for alt in group.split("|")]
        names = [n for n in names if n]
        if names:
            groups.append(names)
    return groups


def deb_control(path: Path) -> dict[str, str]:
    """The control stanza of a .deb, read with Python (ar + tar), or dpkg-deb for compressions it lacks."""
    with path.open("rb") as fh:
        if fh.read(8) != b"!<arch>\n":
            raise BundleError(f"{path.name} is not a Debian package (no ar header)")
        while header := fh.read(60):
            if len(header) < 60:
                break
            name = header[:16].decode().strip().rstrip("/")
            size = int(header[48:58].decode().strip())
            data = fh.read(size)
            if size % 2:
                fh.read(1)
            if not name.startswith("control.tar"):
                continue
            opener: dict[str, Callable[[bytes], bytes]] = {
                "control.tar": lambda b: b,
                "control.tar.gz": gzip.decompress,
                "control.tar.xz": lzma.decompress,
                "control.tar.bz2": bz2.decompress,
            }
            if name not in opener:
                return _dpkg_deb_control(path)
            with tarfile.open(fileobj=io.BytesIO(opener[name](data))) as tar:
                for member in tar.getmembers():
                    if member.name.lstrip("./") == "control":
                        extracted = tar.extractfile(member)
                        if extracted is None:
                            break
                        stanzas = parse_stanzas(extracted.read().decode())
                        if stanzas:
                            return stanzas[0]
            break
    raise BundleError(f"{path.name}: no control file found")


def _dpkg_deb_control(path: Path) -> dict[str, str]:
    try:
        out = subprocess.run(["dpkg-deb", "--field", str(path)], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BundleError(f"{path.name}: cannot read its control data (install dpkg): {exc}") from exc
    return parse_stanzas(out)[0]


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _normal_sha256(value: str) -> str:
    """Jenkins' update center gives SHA-256 in base64; apt and sha256sum in hex."""
    value = value.strip()
    if re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return value.lower()
    try:
        return base64.b64decode(value, validate=True).hex()
    except ValueError as exc:
        raise BundleError(f"not a SHA-256 checksum: {value!r}") from exc


# --------------------------------------------------------------------------- writing and verifying bundles


@dataclass(frozen=True)
class PluginFile:
    id: str
    version: str
    path: Path
    requested: bool = True
    source: str = ""


def write_bundle(
    out: Path,
    debs: dict[str, list[tuple[Path, str]]],
    plugins: Iterable[PluginFile] = (),
    *,
    standin: bool = False,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Lay out a bundle in `out` (which must not exist yet) from local files.

    `debs` maps product -> [(deb file, where it came from)]; `plugins` are Jenkins plugin files.
    The one writer for `alur bundle create` and the CI stand-in harness, so both make the same format.
    """
    if out.exists():
        raise BundleError(f"{out} exists already; remove it or choose another --out")
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        products: dict[str, Any] = {}
        for product, files in sorted(debs.items()):
            folder = work / "apt" / product
            folder.mkdir(parents=True)
            stanzas, entries = [], []
            for deb, source in files:
                control = deb_control(deb)
                target = (
                    folder / f"{control['Package']}_{control['Version'].split(':')[-1]}_{control['Architecture']}.deb"
                )
                shutil.copyfile(deb, target)
                sha256 = file_digest(target)
                stanza = {k: v for k, v in control.items() if k not in {"Filename", "Size", "SHA256", "MD5sum"}}
                stanza.update(Filename=target.name, Size=str(target.stat().st_size), SHA256=sha256)
                stanzas.append(stanza)
                entries.append(
                    {
                        "package": control["Package"],
                        "version": control["Version"],
                        "architecture": control["Architecture"],
                        "file": target.relative_to(work).as_posix(),
                        "sha256": sha256,
                        "size": target.stat().st_size,
                        "source": source,
                    }
                )
            (folder / "Packages").write_text("\n".join(format_stanza(s) for s in stanzas))
            products[product] = {"index": f"apt/{product}/Packages", "packages": entries}
        plugin_entries = []
        plugin_list = sorted(plugins, key=lambda p: p.id)
        if plugin_list:
            folder = work / PLUGINS_DIR
            folder.mkdir()
            for plugin in plugin_list:
                target = folder / f"{plugin.id}.jpi"
                shutil.copyfile(plugin.path, target)
                plugin_entries.append(
                    {
                        "id": plugin.id,
                        "version": plugin.version,
                        "file": target.relative_to(work).as_posix(),
                        "sha256": file_digest(target),
                        "requested": plugin.requested,
                        "source": plugin.source,
                    }
                )
            (folder / PLUGINS_LOCK).write_text("".join(f"{p.id}:{p.version}\n" for p in plugin_list))
        manifest = {
            "format": FORMAT,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "created_by": f"alur {__version__}",
            "standin": standin,
            "products": products,
            "jenkins_plugins": plugin_entries,
            **(extra or {}),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
        written = sorted(p for p in work.rglob("*") if p.is_file())
        (work / SUMS).write_text("".join(f"{file_digest(p)}  {p.relative_to(work).as_posix()}\n" for p in written))
        for path in [work, *work.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out


def read_sums(path: Path) -> dict[str, str]:
    sums: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = re.fullmatch(r"([0-9a-f]{64}) [ *](\S.*)", line)
        if not match:
            raise BundleError(f"{path}: line {number} is not a sha256sum line")
        name = match.group(2)
        if name.startswith("/") or ".." in Path(name).parts:
            raise BundleError(f"{path}: line {number} names a path outside the bundle: {name}")
        sums[name] = match.group(1)
    return sums


@dataclass
class VerifyReport:
    path: Path
    files: int
    standin: bool
    products: dict[str, list[str]] = field(default_factory=dict)
    plugins: int = 0


def verify(bundle: Path) -> VerifyReport:
    """Check a bundle completely: every file against SHA256SUMS, nothing missing or extra, indexes consistent."""
    if not (bundle / SUMS).is_file() or not (bundle / MANIFEST).is_file():
        raise BundleError(f"{bundle} is not a bundle (no {SUMS} or {MANIFEST})")
    sums = read_sums(bundle / SUMS)
    present = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - {SUMS}
    if missing := sorted(set(sums) - present):
        raise BundleError(f"{bundle}: listed in {SUMS} but missing: {', '.join(missing)}")
    if extra := sorted(present - set(sums)):
        raise BundleError(f"{bundle}: not listed in {SUMS}: {', '.join(extra)}")
    for name, expected in sorted(sums.items()):
        if file_digest(bundle / name) != expected:
            raise BundleError(f"{bundle}: {name} does not match its SHA-256 in {SUMS}")
    try:
        manifest = json.loads((bundle / MANIFEST).read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f"{bundle}/{MANIFEST} is not JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{bundle}: bundle format {manifest.get('format')!r}, this alur reads {FORMAT}")
    report = VerifyReport(bundle, len(sums), bool(manifest.get("standin")))
    for product, info in manifest.get("products", {}).items():
        index = parse_stanzas((bundle / info["index"]).read_text())
        folder = Path(info["index"]).parent
        by_file = {(folder / s["Filename"]).as_posix(): s for s in index}
        listed = {p["file"] for p in info["packages"]}
        if set(by_file) != listed:
            raise BundleError(f"{bundle}: {info['index']} and {MANIFEST} list different packages for {product}")
        for package in info["packages"]:
            stanza = by_file[package["file"]]
            if package["sha256"] != sums.get(package["file"]) or stanza.get("SHA256") != package["sha256"]:
                raise BundleError(f"{bundle}: checksums of {package['file']} disagree between the index and {SUMS}")
            if (stanza["Package"], stanza["Version"]) != (package["package"], package["version"]):
                raise BundleError(
                    f"{bundle}: {package['file']} is {stanza['Package']} {stanza['Version']} in the index"
                )
            if STANDIN_MARK in package["version"] and not report.standin:
                raise BundleError(f"{bundle}: {package['file']} is a stand-in in a bundle not marked as one")
        report.products[product] = [f"{p['package']} {p['version']}" for p in info["packages"]]
    for plugin in manifest.get("jenkins_plugins", []):
        if plugin["sha256"] != sums.get(plugin["file"]):
            raise BundleError(f"{bundle}: checksum of {plugin['file']} disagrees with {SUMS}")
    report.plugins = len(manifest.get("jenkins_plugins", []))
    return report


# --------------------------------------------------------------------------- settings: role defaults + inventory


def _unwrap(value: Any) -> Any:
    """ansible-inventory marks strings as {'__ansible_unsafe': ...}; take them back as plain values."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


@dataclass
class Inventory:
    groups: dict[str, list[str]]
    variables: dict[str, Any]


def read_inventory(inventory: Path) -> Inventory:
    """Groups and the `alur_*` variables of an Ansible inventory (every host must agree on them)."""
    try:
        proc = subprocess.run(
            ["ansible-inventory", "-i", str(inventory), "--list"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise BundleError(f"cannot read inventory {inventory}: {detail.strip().splitlines()[-1:]}") from exc
    data = json.loads(proc.stdout)
    hostvars = data.get("_meta", {}).get("hostvars", {})

    def hosts_of(group: str) -> list[str]:
        node = data.get(group, {})
        found = list(node.get("hosts", []))
        for child in node.get("children", []):
            found += hosts_of(child)
        return sorted(set(found))

    groups = {name: hosts_of(name) for name in data if name != "_meta"}
    variables: dict[str, Any] = {}
    owner: dict[str, str] = {}
    for host, hv in sorted(hostvars.items()):
        for key, value in _unwrap(hv).items():
            if not key.startswith("alur_"):
                continue
            if key in variables and variables[key] != value:
                raise BundleError(
                    f"inventory: {key} differs between {owner[key]} and {host}; one bundle needs one value"
                )
            variables[key], owner[key] = value, host
    return Inventory(groups, variables)


def settings(
    inventory_vars: dict[str, Any] | None = None,
    extra_vars: dict[str, Any] | None = None,
    facts: dict[str, Any] | None = None,
    defaults_file: Path | None = None,
) -> dict[str, Any]:
    """The artifacts role's defaults, overridden by the inventory and -e, rendered like Ansible would."""
    path = defaults_file or project_root() / "roles" / "artifacts" / "defaults" / "main.yml"
    merged: dict[str, Any] = dict(yaml.safe_load(path.read_text()) or {})
    merged.update(inventory_vars or {})
    merged.update(extra_vars or {})
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 - renders URLs, not HTML
    # Facts a bundle cannot know: the release is Debian 12's, the only one that needs Temurin.
    context = {**merged, "ansible_facts": facts or {"distribution_release": "bookworm"}}

    def render(value: Any) -> Any:
        if isinstance(value, str) and "{{" in value:
            for _ in range(5):
                value = env.from_string(value).render(context)
                if "{{" not in value:
                    break
            return value
        if isinstance(value, list):
            return [render(v) for v in value]
        return value

    try:
        return {key: render(value) for key, value in merged.items()}
    except jinja2.TemplateError as exc:
        raise BundleError(f"cannot render the artifacts defaults: {exc}") from exc


def package_version(product: str, cfg: dict[str, Any]) -> str:
    """The Debian version of a product's package for the pinned version (Logstash carries an epoch)."""
    if product == "jenkins":
        return str(cfg["alur_jenkins_version"])
    if product == "temurin":
        return str(cfg.get("alur_temurin_version") or "")
    version = str(cfg["alur_elastic_version"])
    return f"1:{version}-1" if product == "logstash" else version


# --------------------------------------------------------------------------- downloading, with signatures


class Fetcher:
    """HTTP(S) downloads. With a base URL, every vendor URL is served from it instead (a mirror or a test
    server): https://pkg.jenkins.io/x -> BASE/pkg.jenkins.io/x, and redirects may not leave BASE."""

    def __init__(self, base_url: str | None = None, timeout: float = 60.0, log: Callable[[str], None] = print):
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout
        self.log = log
        base = self.base_url

        class Guard(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
                if base and not newurl.startswith(base + "/"):
                    raise BundleError(f"refusing a redirect from {req.full_url} to {newurl} (outside {base})")
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        self.opener = urllib.request.build_opener(Guard())

    def url(self, url: str) -> str:
        if not self.base_url:
            return url
        parsed = urllib.parse.urlsplit(url)
        if not parsed.netloc:
            raise BundleError(f"not an absolute URL: {url}")
        return f"{self.base_url}/{parsed.netloc}{parsed.path}" + (f"?{parsed.query}" if parsed.query else "")

    @contextlib.contextmanager
    def _open(self, url: str) -> Iterator[IO[bytes]]:
        real = self.url(url)
        if not real.startswith(("https://", "http://")):
            raise BundleError(f"only http(s) URLs can be fetched: {real}")
        request = urllib.request.Request(real, headers={"User-Agent": f"alur/{__version__} bundle"})  # noqa: S310
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                yield response
        except urllib.error.HTTPError as exc:
            raise BundleError(f"GET {real}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise BundleError(f"GET {real}: {getattr(exc, 'reason', exc)}") from exc

    def get(self, url: str) -> bytes:
        with self._open(url) as response:
            return response.read()

    def try_get(self, url: str) -> bytes | None:
        try:
            return self.get(url)
        except BundleError as exc:
            if "HTTP 404" in str(exc):
                return None
            raise

    def download(self, url: str, dest: Path, algorithm: str = "sha256") -> str:
        """Stream `url` to `dest`; returns the file's hex digest."""
        digest = hashlib.new(algorithm)
        self.log(f"  get {self.url(url)}")
        with self._open(url) as response, dest.open("wb") as out:
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        return digest.hexdigest()


class Keyring:
    """A vendor's signing key, accepted only when its fingerprint is the pinned one; checks signatures with gpgv."""

    def __init__(self, key: bytes, fingerprint: str, workdir: Path, name: str):
        self.fingerprint = fingerprint.replace(" ", "").upper()
        self.name = name
        home = workdir / f"gnupg-{name}"
        home.mkdir(mode=0o700)
        self.path = workdir / f"{name}.gpg"
        keyfile = workdir / f"{name}.key"
        keyfile.write_bytes(key)
        gpg = ["gpg", "--batch", "--quiet", "--no-autostart", "--homedir", str(home)]
        try:
            subprocess.run([*gpg, "--import", str(keyfile)], capture_output=True, check=True)
            listed = subprocess.run(
                [*gpg, "--with-colons", "--fingerprint", "--list-keys"], capture_output=True, text=True, check=True
            ).stdout
        except OSError as exc:
            raise BundleError(f"gpg is needed to check {name}'s signing key (apt-get install gpg): {exc}") from exc
        except subprocess.CalledProcessError as exc:
            raise BundleError(
                f"{name}: the downloaded key is not an OpenPGP key: {exc.stderr.decode().strip()}"
            ) from exc
        primaries = [
            line.split(":")[9]
            for prev, line in zip(listed.splitlines(), listed.splitlines()[1:], strict=False)
            if prev.startswith("pub:") and line.startswith("fpr:")
        ]
        if self.fingerprint not in primaries:
            raise BundleError(
                f"{name}: the downloaded key has fingerprint(s) {', '.join(primaries) or 'none'}, "
                f"not the pinned {self.fingerprint} (check alur_{name}_key_fingerprint against the vendor's docs)"
            )
        exported = subprocess.run([*gpg, "--export", self.fingerprint], capture_output=True, check=True).stdout
        self.path.write_bytes(exported)

    def verify(self, data: Path, signature: Path | None = None) -> bytes:
        """gpgv over a detached signature, or over a clear-signed file (then returns the signed text)."""
        output = data.with_name(data.name + ".verified")
        args = ["gpgv", "--status-fd", "2", "--keyring", str(self.path)]
        args += [str(signature), str(data)] if signature else ["--output", str(output), str(data)]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise BundleError(f"gpgv is needed to check signatures (apt-get install gpgv): {exc}") from exc
        status = [
            line.split()[1]
            for line in proc.stderr.splitlines()
            if line.startswith("[GNUPG:] ") and len(line.split()) > 1
        ]
        if (
            proc.returncode != 0
            or "VALIDSIG" not in status
            or {"EXPKEYSIG", "REVKEYSIG", "BADSIG", "ERRSIG"} & set(status)
        ):
            human = "; ".join(line for line in proc.stderr.splitlines() if not line.startswith("[GNUPG:]"))
            raise BundleError(f"{data.name}: no valid signature by {self.name}'s key {self.fingerprint}: {human}")
        return output.read_bytes() if signature is None else b""


# --------------------------------------------------------------------------- vendor sources


def _open_index(name: str, data: bytes) -> str:
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    elif name.endswith(".xz"):
        data = lzma.decompress(data)
    elif name.endswith(".bz2"):
        data = bz2.decompress(data)
    return data.decode()


@dataclass
class AptRepo:
    """A vendor's apt repository: flat (`suite` ends with /) or with dists/; indexes checked through InRelease."""

    name: str
    url: str
    suite: str
    components: list[str]
    keyring: Keyring
    fetcher: Fetcher
    workdir: Path
    arch: str = "amd64"
    _index: list[dict[str, str]] | None = None

    @property
    def release_base(self) -> str:
        url = self.url.rstrip("/")
        return f"{url}/{self.suite}".rstrip("/") if self.suite.endswith("/") else f"{url}/dists/{self.suite}"

    def index(self) -> list[dict[str, str]]:
        if self._index is not None:
            return self._index
        base = self.release_base
        inrelease = self.fetcher.try_get(f"{base}/InRelease")
        release_file = self.workdir / f"{self.name}-Release"
        if inrelease is not None:
            release_file.write_bytes(inrelease)
            release = self.keyring.verify(release_file).decode()
        else:
            release_file.write_bytes(self.fetcher.get(f"{base}/Release"))
            signature = self.workdir / f"{self.name}-Release.gpg"
            signature.write_bytes(self.fetcher.get(f"{base}/Release.gpg"))
            self.keyring.verify(release_file, signature)
            release = release_file.read_text()
        fields = parse_stanzas(release)
        hashes: dict[str, tuple[str, int]] = {}
        for line in (fields[0].get("SHA256", "") if fields else "").splitlines():
            parts = line.split()
            if len(parts) == 3:
                hashes[parts[2]] = (parts[0], int(parts[1]))
        if not hashes:
            raise BundleError(f"{self.name}: {base}/InRelease lists no SHA256 checksums")
        wanted = (
            [""]
            if self.suite.endswith("/")
            else [f"{c}/binary-{a}/" for c in self.components for a in (self.arch, "all")]
        )
        stanzas: list[dict[str, str]] = []
        found_any = False
        for prefix in wanted:
            for name in (f"{prefix}Packages.xz", f"{prefix}Packages.gz", f"{prefix}Packages"):
                if name in hashes:
                    data = self.fetcher.get(f"{base}/{name}")
                    if hashlib.sha256(data).hexdigest() != hashes[name][0]:
                        raise BundleError(f"{self.name}: {base}/{name} does not match the signed Release file")
                    stanzas += parse_stanzas(_open_index(name, data))
                    found_any = True
                    break
        if not found_any:
            raise BundleError(f"{self.name}: the Release file at {base} lists no Packages index for {self.arch}")
        self._index = stanzas
        return stanzas

    def find(self, package: str, version: str = "") -> dict[str, str]:
        candidates = [
            s for s in self.index() if s.get("Package") == package and s.get("Architecture") in {self.arch, "all"}
        ]
        if version:
            candidates = [s for s in candidates if s.get("Version") == version]
        if not candidates:
            known = sorted({s["Version"] for s in self.index() if s.get("Package") == package}, key=_version_key)
            have = f" (the repository has: {', '.join(known[-5:])})" if known else ""
            raise BundleError(f"{self.name}: no package {package} {version or ''} for {self.arch} at {self.url}{have}")
        return max(candidates, key=lambda s: _version_key(s["Version"]))

    def closure(self, package: str, version: str) -> list[dict[str, str]]:
        """The package and every dependency this same repository provides (the rest comes from Debian)."""
        names = {s.get("Package") for s in self.index()}
        result: dict[str, dict[str, str]] = {}
        todo = [(package, version)]
        while todo:
            name, wanted = todo.pop()
            if name in result:
                continue
            stanza = self.find(name, wanted)
            result[name] = stanza
            for group in depends_names(stanza.get("Depends", "") + "," + stanza.get("Pre-Depends", "")):
                local = [n for n in group if n in names]
                if local and not any(n in result for n in group):
                    todo.append((local[0], ""))
        return list(result.values())

    def download(self, stanza: dict[str, str], dest_dir: Path) -> Path:
        url = f"{self.url.rstrip('/')}/{stanza['Filename']}"
        dest = dest_dir / Path(stanza["Filename"]).name
        digest = self.fetcher.download(url, dest)
        if digest != stanza.get("SHA256", "").lower():
            raise BundleError(f"{self.name}: {url} does not match the SHA256 in the signed index")
        if dest.stat().st_size != int(stanza.get("Size", dest.stat().st_size)):
            raise BundleError(f"{self.name}: {url} has the wrong size")
        return dest


class _VersionKey:
    def __init__(self, version: str):
        self.version = version

    def __lt__(self, other: _VersionKey) -> bool:
        return compare_versions(self.version, other.version) < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _VersionKey) and compare_versions(self.version, other.version) == 0

    def __hash__(self) -> int:
        return hash(self.version)


def _version_key(version: str) -> _VersionKey:
    return _VersionKey(version)


def elastic_download(
    product: str, version: str, cfg: dict[str, Any], keyring: Keyring, fetcher: Fetcher, dest_dir: Path, arch: str
) -> tuple[Path, str]:
    """One Elastic package from the download area, checked against its .sha512, whose .asc is checked too."""
    url = f"{str(cfg['alur_elastic_download_url']).rstrip('/')}/" + ELASTIC_DOWNLOAD_PATHS[product].format(
        version=version, arch=arch
    )
    name = url.rsplit("/", 1)[1]
    dest = dest_dir / name
    sha512_file = dest_dir / f"{name}.sha512"
    sha512_file.write_bytes(fetcher.get(f"{url}.sha512"))
    signature = fetcher.try_get(f"{url}.asc")
    if signature is None:
        raise BundleError(f"elastic: no signature {url}.asc beside the package")
    (dest_dir / f"{name}.asc").write_bytes(signature)
    digest = fetcher.download(url, dest, "sha512")
    keyring.verify(dest, dest_dir / f"{name}.asc")
    expected = sha512_file.read_text().split()
    if not expected or expected[0].lower() != digest:
        raise BundleError(f"elastic: {url} does not match {name}.sha512")
    control = deb_control(dest)
    if control.get("Package") != product:
        raise BundleError(f"elastic: {name} holds package {control.get('Package')}, not {product}")
    return dest, url


# --------------------------------------------------------------------------- Jenkins plugins


def read_lockfile(path: Path) -> dict[str, str]:
    """The plugin lockfile as {id: version}, read by the parser the jenkins role uses (alur.site)."""
    from ansible_collections.alur.site.plugins.module_utils import lockfile

    try:
        return lockfile.pins(path.read_text(), str(path))
    except lockfile.LockfileError as error:
        raise BundleError(str(error)) from error


def resolve_plugins(pins: dict[str, str], catalog: dict[str, Any], core: str) -> tuple[dict[str, str], list[str]]:
    """The lockfile plus every required dependency it misses (at the newest version the core runs).

    `catalog` is the update center's plugin-versions.json "plugins" object: id -> version -> metadata.
    Returns (id -> version, notes on what was added).
    """
    resolved = dict(pins)
    notes: list[str] = []
    todo = list(pins)
    while todo:
        plugin = todo.pop()
        meta = catalog.get(plugin, {}).get(resolved[plugin])
        if meta is None:
            raise BundleError(f"plugin {plugin}:{resolved[plugin]} is not in the update center")
        required_core = str(meta.get("requiredCore", "0"))
        if compare_versions(required_core, core) > 0:
            raise BundleError(f"plugin {plugin}:{resolved[plugin]} needs Jenkins {required_core}, the pin is {core}")
        for dep in meta.get("dependencies", []):
            if dep.get("optional"):
                continue
            name, minimum = dep["name"], str(dep.get("version", "0"))
            if name in resolved:
                if compare_versions(resolved[name], minimum) < 0:
                    raise BundleError(
                        f"{plugin}:{resolved[plugin]} needs {name} >= {minimum}; the lockfile pins {resolved[name]}"
                    )
                continue
            versions = [
                v
                for v, m in catalog.get(name, {}).items()
                if compare_versions(v, minimum) >= 0 and compare_versions(str(m.get("requiredCore", "0")), core) <= 0
            ]
            if not versions:
                raise BundleError(f"{plugin} needs {name} >= {minimum}; the update center has none for Jenkins {core}")
            resolved[name] = max(versions, key=_version_key)
            notes.append(f"added {name}:{resolved[name]} (needed by {plugin}); add it to the lockfile to pin it")
            todo.append(name)
    return resolved, notes


# --------------------------------------------------------------------------- create


@dataclass
class CreateRequest:
    out: Path
    products: list[str]
    cfg: dict[str, Any]
    plugins_lock: Path | None = None
    base_url: str | None = None
    arch: str = "amd64"
    temurin_release: str = "bookworm"


def products_for(inventory: Inventory, temurin: bool | None) -> list[str]:
    found: list[str] = []
    for group, products in GROUP_PRODUCTS.items():
        if inventory.groups.get(group):
            found += products
    if temurin is not False and any(inventory.groups.get(g) for g in JAVA_GROUPS):
        found.append("temurin")
    return [p for p in PRODUCTS if p in found]


def create(request: CreateRequest, log: Callable[[str], None] = print) -> VerifyReport:
    """Download, check and lay out everything `request.products` need; then verify the result as a whole."""
    cfg = request.cfg
    unknown = sorted(set(request.products) - set(PRODUCTS))
    if unknown:
        raise BundleError(f"unknown product(s) {', '.join(unknown)}; known: {', '.join(PRODUCTS)}")
    if not request.products:
        raise BundleError("no products to bundle: give --product, or an inventory with product groups")
    if request.out.exists():
        raise BundleError(f"{request.out} exists already; remove it or choose another --out")
    request.out.parent.mkdir(parents=True, exist_ok=True)
    fetcher = Fetcher(request.base_url, log=log)
    with tempfile.TemporaryDirectory(prefix="alur-bundle-") as tmp:
        work = Path(tmp)
        downloads = work / "downloads"
        downloads.mkdir()
        keyrings: dict[str, Keyring] = {}

        def keyring(vendor: str) -> Keyring:
            if vendor not in keyrings:
                url = str(cfg[f"alur_{vendor}_key_url"])
                log(f"{vendor}: signing key {fetcher.url(url)}")
                keyrings[vendor] = Keyring(fetcher.get(url), str(cfg[f"alur_{vendor}_key_fingerprint"]), work, vendor)
            return keyrings[vendor]

        def repo(vendor: str, suite: str | None = None) -> AptRepo:
            return AptRepo(
                name=vendor,
                url=str(cfg[f"alur_{vendor}_repo_url"]),
                suite=suite or str(cfg[f"alur_{vendor}_repo_suite"]),
                components=list(cfg.get(f"alur_{vendor}_repo_components") or []),
                keyring=keyring(vendor),
                fetcher=fetcher,
                workdir=work,
                arch=request.arch,
            )

        debs: dict[str, list[tuple[Path, str]]] = {}
        for product in request.products:
            version = package_version(product, cfg)
            log(f"{product}: {version or 'newest'}")
            if product in ELASTIC_PRODUCTS:
                dest, url = elastic_download(
                    product, str(cfg["alur_elastic_version"]), cfg, keyring("elastic"), fetcher, downloads, request.arch
                )
                control = deb_control(dest)
                if control.get("Version") != version:
                    raise BundleError(f"elastic: {dest.name} is version {control.get('Version')}, expected {version}")
                debs[product] = [(dest, url)]
                continue
            vendor_repo = repo(product, request.temurin_release if product == "temurin" else None)
            package = str(cfg["alur_temurin_package"]) if product == "temurin" else "jenkins"
            files = []
            for stanza in vendor_repo.closure(package, version):
                files.append((vendor_repo.download(stanza, downloads), f"{vendor_repo.url}/{stanza['Filename']}"))
            debs[product] = files

        plugins: list[PluginFile] = []
        if "jenkins" in request.products and request.plugins_lock:
            plugins = _download_plugins(request, fetcher, work, log)

        extra = {
            "versions": {p: package_version(p, cfg) for p in request.products},
            "architecture": request.arch,
            "sources": {
                "jenkins": cfg.get("alur_jenkins_repo_url"),
                "elastic": cfg.get("alur_elastic_download_url"),
                "temurin": cfg.get("alur_temurin_repo_url"),
                "jenkins_update_center": cfg.get("alur_jenkins_update_center_url"),
                "via": request.base_url,
            },
        }
        write_bundle(request.out, debs, plugins, extra=extra)
    return verify(request.out)


def _download_plugins(
    request: CreateRequest, fetcher: Fetcher, work: Path, log: Callable[[str], None]
) -> list[PluginFile]:
    if request.plugins_lock is None:
        return []
    pins = read_lockfile(request.plugins_lock)
    uc = str(request.cfg["alur_jenkins_update_center_url"]).rstrip("/")
    log(f"jenkins plugins: {len(pins)} pinned in {request.plugins_lock}; catalog at {fetcher.url(uc)}")
    try:
        catalog = json.loads(fetcher.get(f"{uc}/current/plugin-versions.json"))["plugins"]
    except (ValueError, KeyError) as exc:
        raise BundleError(f"the update center's plugin-versions.json is not what alur expects: {exc}") from exc
    resolved, notes = resolve_plugins(pins, catalog, str(request.cfg["alur_jenkins_version"]))
    for note in notes:
        log(f"  {note}")
    folder = work / "plugins"
    folder.mkdir()
    files = []
    for plugin, version in sorted(resolved.items()):
        meta = catalog[plugin][version]
        url = str(meta.get("url") or f"{uc}/download/plugins/{plugin}/{version}/{plugin}.hpi")
        if not meta.get("sha256"):
            raise BundleError(f"plugin {plugin}:{version} has no SHA-256 in the update center")
        dest = folder / f"{plugin}.jpi"
        if fetcher.download(url, dest) != _normal_sha256(str(meta["sha256"])):
            raise BundleError(f"plugin {plugin}:{version}: {url} does not match the update center's SHA-256")
        files.append(PluginFile(plugin, version, dest, requested=plugin in pins, source=url))
    return files


# --------------------------------------------------------------------------- command line


def _parse_extra_vars(values: tuple[str, ...]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for value in values:
        if value.startswith("@"):
            loaded = yaml.safe_load(Path(value[1:]).read_text()) or {}
            if not isinstance(loaded, dict):
                raise BundleError(f"{value[1:]}: expected a mapping of variables")
            result.update(loaded)
            continue
        key, sep, raw = value.partition("=")
        if not sep or not key:
            raise BundleError(f"-e {value!r}: expected KEY=VALUE or @file.yml")
        result[key] = yaml.safe_load(raw) if raw else ""
    return result


@click.group("bundle")
def bundle_group() -> None:
    """Offline bundles of the vendor packages and Jenkins plugins (for alur_artifact_source: bundle)."""


@bundle_group.command("create")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder to create (must not exist).")
@click.option("-i", "--inventory", type=click.Path(exists=True, path_type=Path), help="Take products and pins from it.")
@click.option("-p", "--product", "products", multiple=True, type=click.Choice(PRODUCTS), help="Bundle this product.")
@click.option("-e", "--extra-vars", multiple=True, help="Override a variable: KEY=VALUE or @vars.yml (like ansible).")
@click.option("--plugins", type=click.Path(exists=True, path_type=Path), help="Jenkins plugin lockfile (id:version).")
@click.option("--temurin/--no-temurin", default=None, help="Temurin 21 for Debian 12 Jenkins hosts (default: yes).")
@click.option("--temurin-release", default="bookworm", show_default=True, help="Debian release Temurin is for.")
@click.option("--arch", default="amd64", show_default=True, help="Debian architecture of the hosts.")
@click.option("--base-url", help="Fetch every vendor URL from BASE/<host>/<path> (an internal mirror, or a test).")
def create_command(
    out: Path,
    inventory: Path | None,
    products: tuple[str, ...],
    extra_vars: tuple[str, ...],
    plugins: Path | None,
    temurin: bool | None,
    temurin_release: str,
    arch: str,
    base_url: str | None,
) -> None:
    """Download the pinned packages (and plugins) for an inventory, checked against the vendors' checksums."""
    inv = read_inventory(inventory) if inventory else Inventory({}, {})
    cfg = settings(inv.variables, _parse_extra_vars(extra_vars), {"distribution_release": temurin_release})
    wanted = list(products) if products else products_for(inv, temurin)
    if temurin is False:
        wanted = [p for p in wanted if p != "temurin"]
    elif temurin and "temurin" not in wanted:
        wanted.append("temurin")
    default_lock = project_root() / "roles" / "jenkins" / "files" / PLUGINS_LOCK
    lock = plugins or (default_lock if default_lock.is_file() else None)
    report = create(CreateRequest(out, wanted, cfg, lock, base_url, arch, temurin_release))
    _print_report(report)


@bundle_group.command("verify")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
def verify_command(bundle: Path) -> None:
    """Check every file of a bundle against SHA256SUMS and its indexes against the manifest."""
    _print_report(verify(bundle))


def _print_report(report: VerifyReport) -> None:
    kind = " (CI stand-ins, not vendor packages)" if report.standin else ""
    print(f"bundle {report.path}: OK, {report.files} files{kind}")
    for product, packages in sorted(report.products.items()):
        print(f"  {product}: {', '.join(packages)}")
    if report.plugins:
        print(f"  jenkins plugins: {report.plugins}")
