"""Making and checking bundles: the one writer (`alur bundle create` and the CI stand-in harness use it),
the full verify, and the create flow from an inventory's pins to a verified folder."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alur import __version__
from alur.bundle.debian import AptRepo, deb_control, format_stanza, parse_stanzas
from alur.bundle.fetch import Fetcher, Keyring
from alur.bundle.layout import FORMAT, MANIFEST, PLUGINS_DIR, PLUGINS_LOCK, STANDIN_MARK, SUMS, BundleError, file_digest
from alur.bundle.plugins import PluginFile, download_plugins
from alur.bundle.vendors import ELASTIC_PRODUCTS, PRODUCTS, elastic_download, package_version, products_for

if TYPE_CHECKING:
    from alur.inventory import Inventory

# The settings a bundle's content depends on: every host of an inventory must agree on them. (Where a host
# installs from, and whether it takes stand-ins, may differ per host: the bundle does not depend on it.)
BUNDLE_SETTINGS = (
    "artifacts_jenkins_version",
    "artifacts_elastic_version",
    "artifacts_temurin_version",
    "artifacts_temurin_package",
    "artifacts_jenkins_repo_url",
    "artifacts_jenkins_repo_suite",
    "artifacts_jenkins_repo_components",
    "artifacts_jenkins_key_url",
    "artifacts_jenkins_key_fingerprint",
    "artifacts_jenkins_update_center_url",
    "artifacts_elastic_key_url",
    "artifacts_elastic_key_fingerprint",
    "artifacts_elastic_download_url",
    "artifacts_temurin_repo_url",
    "artifacts_temurin_repo_suite",
    "artifacts_temurin_repo_components",
    "artifacts_temurin_key_url",
    "artifacts_temurin_key_fingerprint",
)


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


# --------------------------------------------------------------------------- create


@dataclass
class CreateRequest:
    out: Path
    products: list[str]
    cfg: Mapping[str, Any]
    plugins_lock: Path | None = None
    base_url: str | None = None
    arch: str = "amd64"
    temurin_release: str = "bookworm"


def inventory_pins(inventory: Inventory, temurin_release: str) -> dict[str, Any]:
    """The artifacts settings a bundle for this inventory is made from: the role's defaults under the
    inventory's variables and -e (old alur_* names included), as Ansible resolves them. One bundle serves
    every host: where hosts set a setting the bundle depends on (group_vars of the Elastic hosts, say), they
    must set the same value; hosts that leave it at the default do not count."""
    facts = {"distribution_release": temurin_release}
    cfg = inventory.artifacts_settings(None, facts)
    baseline = dict(cfg)
    owner: dict[str, str] = {}
    for host in inventory.hosts():
        for key, value in inventory.artifacts_settings(host, facts).items():
            if key not in BUNDLE_SETTINGS or value == baseline.get(key):
                continue
            if key in owner and cfg[key] != value:
                raise BundleError(
                    f"inventory: {key} differs between {owner[key]} and {host}; one bundle needs one value"
                )
            cfg[key], owner[key] = value, host
    return cfg


def request_for(
    inventory: Inventory,
    out: Path,
    products: Sequence[str] = (),
    plugins_lock: Path | None = None,
    temurin: bool | None = None,
    temurin_release: str = "bookworm",
    arch: str = "amd64",
    base_url: str | None = None,
) -> CreateRequest:
    """What `alur bundle create` makes for an inventory: the products named, else those its groups install
    (Temurin for Java hosts, unless `temurin` is False), at the inventory's pins."""
    cfg = inventory_pins(inventory, temurin_release)
    wanted = list(products) if products else products_for(inventory.groups(), temurin)
    if temurin is False:
        wanted = [p for p in wanted if p != "temurin"]
    elif temurin and "temurin" not in wanted:
        wanted.append("temurin")
    return CreateRequest(out, wanted, cfg, plugins_lock, base_url, arch, temurin_release)


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
                url = str(cfg[f"artifacts_{vendor}_key_url"])
                log(f"{vendor}: signing key {fetcher.url(url)}")
                keyrings[vendor] = Keyring(
                    fetcher.get(url), str(cfg[f"artifacts_{vendor}_key_fingerprint"]), work, vendor
                )
            return keyrings[vendor]

        def repo(vendor: str, suite: str | None = None) -> AptRepo:
            return AptRepo(
                name=vendor,
                url=str(cfg[f"artifacts_{vendor}_repo_url"]),
                suite=suite or str(cfg[f"artifacts_{vendor}_repo_suite"]),
                components=list(cfg.get(f"artifacts_{vendor}_repo_components") or []),
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
                    product,
                    str(cfg["artifacts_elastic_version"]),
                    cfg,
                    keyring("elastic"),
                    fetcher,
                    downloads,
                    request.arch,
                )
                control = deb_control(dest)
                if control.get("Version") != version:
                    raise BundleError(f"elastic: {dest.name} is version {control.get('Version')}, expected {version}")
                debs[product] = [(dest, url)]
                continue
            vendor_repo = repo(product, request.temurin_release if product == "temurin" else None)
            package = str(cfg["artifacts_temurin_package"]) if product == "temurin" else "jenkins"
            files = []
            for stanza in vendor_repo.closure(package, version):
                files.append((vendor_repo.download(stanza, downloads), f"{vendor_repo.url}/{stanza['Filename']}"))
            debs[product] = files

        plugins: list[PluginFile] = []
        if "jenkins" in request.products and request.plugins_lock:
            core = str(cfg["artifacts_jenkins_version"])
            update_center = str(cfg["artifacts_jenkins_update_center_url"])
            plugins = download_plugins(request.plugins_lock, update_center, core, fetcher, work, log)

        extra = {
            "versions": {p: package_version(p, cfg) for p in request.products},
            "architecture": request.arch,
            "sources": {
                "jenkins": cfg.get("artifacts_jenkins_repo_url"),
                "elastic": cfg.get("artifacts_elastic_download_url"),
                "temurin": cfg.get("artifacts_temurin_repo_url"),
                "jenkins_update_center": cfg.get("artifacts_jenkins_update_center_url"),
                "via": request.base_url,
            },
        }
        write_bundle(request.out, debs, plugins, extra=extra)
    return verify(request.out)
