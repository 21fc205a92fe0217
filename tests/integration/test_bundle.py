"""`alur bundle create` against a fake vendor server on 127.0.0.1, and `alur bundle verify` on the stand-in bundle.

The fake server lays files out as a mirror would (BASE/<vendor host>/<path>), signs its apt Release files and
Elastic packages with a throw-away OpenPGP key, and serves an update-center plugin-versions.json. Nothing here
leaves 127.0.0.1: every URL bundle create builds goes through --base-url, and a request for anything the fake
server was not told about fails the test.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import build as standins  # tests/standins/build.py: pythonpath in pyproject
import pytest
from click.testing import CliRunner

from alur import bundle
from alur.cli import cli

ROOT = Path(__file__).resolve().parents[2]

VENDOR_HOSTS = ("pkg.jenkins.io", "packages.adoptium.net", "artifacts.elastic.co", "updates.jenkins.io")


def run(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kwargs)


def make_deb(out: Path, package: str, version: str, arch: str = "all", depends: str = "") -> Path:
    root = out.parent / f"tree-{package}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr" / "share" / "doc" / package).mkdir(parents=True)
    (root / "usr" / "share" / "doc" / package / "fake").write_text(f"fake {package} {version} for a bundle test\n")
    control = f"Package: {package}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: Test <t@alur.invalid>\n"
    control += f"Depends: {depends}\n" if depends else ""
    control += f"Description: fake {package} for alur's bundle test\n"
    (root / "DEBIAN" / "control").write_text(control)
    run("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(out))
    shutil.rmtree(root)
    return out


@dataclass
class FakeVendors:
    root: Path
    url: str
    fingerprint: str
    gnupg: Path
    requests: list[str] = field(default_factory=list)

    def sign_clear(self, path: Path, out: Path) -> None:
        run("gpg", "--batch", "--homedir", str(self.gnupg), "--yes", "--clearsign", "-o", str(out), str(path))

    def sign_detached(self, path: Path) -> None:
        out = path.with_name(path.name + ".asc")
        run(
            "gpg",
            "--batch",
            "--homedir",
            str(self.gnupg),
            "--yes",
            "--armor",
            "--detach-sign",
            "-o",
            str(out),
            str(path),
        )

    def path(self, url_path: str) -> Path:
        return self.root / url_path.lstrip("/")


def apt_release(folder: Path, files: list[str], vendors: FakeVendors) -> None:
    lines = ["Origin: fake", "Suite: stable", "SHA256:"]
    for name in files:
        data = (folder / name).read_bytes()
        lines.append(f" {hashlib.sha256(data).hexdigest()} {len(data)} {name}")
    (folder / "Release").write_text("\n".join(lines) + "\n")
    vendors.sign_clear(folder / "Release", folder / "InRelease")


def packages_stanza(deb: Path, filename: str) -> str:
    control = bundle.deb_control(deb)
    data = deb.read_bytes()
    fields = {**control, "Filename": filename, "Size": str(len(data)), "SHA256": hashlib.sha256(data).hexdigest()}
    return bundle.format_stanza(fields)


@pytest.fixture(scope="module")
def gnupg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, bytes]]:
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    run("gpg", "--batch", "--homedir", str(home), "--passphrase", "", "--quick-gen-key", "Fake Vendor <v@alur.invalid>")
    listed = run("gpg", "--batch", "--homedir", str(home), "--with-colons", "--fingerprint").stdout.splitlines()
    fingerprint = next(line.split(":")[9] for line in listed if line.startswith("fpr:"))
    key = run("gpg", "--batch", "--homedir", str(home), "--armor", "--export", fingerprint).stdout.encode()
    yield home, fingerprint, key
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False, capture_output=True)


@pytest.fixture
def vendors(tmp_path: Path, gnupg: tuple[Path, str, bytes]) -> Iterator[FakeVendors]:
    home, fingerprint, key = gnupg
    root = tmp_path / "www"
    fake = FakeVendors(root, "", fingerprint, home)

    # Jenkins: a flat repository, like pkg.jenkins.io/debian-stable binary/.
    jenkins = root / "pkg.jenkins.io" / "debian-stable"
    (jenkins / "binary").mkdir(parents=True)
    (jenkins / "jenkins.io-2026.key").write_bytes(key)
    stanzas = []
    for version in ("2.568.3", "2.580.2"):
        deb = make_deb(jenkins / "binary" / f"jenkins_{version}_all.deb", "jenkins", version)
        stanzas.append(packages_stanza(deb, f"binary/{deb.name}"))
    (jenkins / "binary" / "Packages").write_text("\n".join(stanzas))
    (jenkins / "binary" / "Packages.gz").write_bytes(gzip.compress((jenkins / "binary" / "Packages").read_bytes()))
    apt_release(jenkins / "binary", ["Packages", "Packages.gz"], fake)

    # Adoptium: a dists/ repository; temurin depends on a package only the vendor has, and on Debian's libc6.
    adoptium = root / "packages.adoptium.net" / "artifactory"
    (adoptium / "api" / "gpg" / "key").mkdir(parents=True)
    (adoptium / "api" / "gpg" / "key" / "public").write_bytes(key)
    pool = adoptium / "deb" / "pool" / "main" / "t"
    pool.mkdir(parents=True)
    temurin_debs = [
        (make_deb(pool / "temurin-21-jdk_21.0.8.0.0+9-0_amd64.deb", "temurin-21-jdk", "21.0.8.0.0+9-0", "amd64"), ""),
        (
            make_deb(
                pool / "temurin-21-jdk_21.0.9.0.0+10-0_amd64.deb",
                "temurin-21-jdk",
                "21.0.9.0.0+10-0",
                "amd64",
                "adoptium-ca-certificates, libc6 (>= 2.34) | libc6-udeb",
            ),
            "",
        ),
        (make_deb(pool / "adoptium-ca-certificates_1.0.4-1_all.deb", "adoptium-ca-certificates", "1.0.4-1"), ""),
    ]
    dist = adoptium / "deb" / "dists" / "bookworm"
    (dist / "main" / "binary-amd64").mkdir(parents=True)
    index = "\n".join(packages_stanza(deb, f"pool/main/t/{deb.name}") for deb, _ in temurin_debs)
    (dist / "main" / "binary-amd64" / "Packages.gz").write_bytes(gzip.compress(index.encode()))
    apt_release(dist, ["main/binary-amd64/Packages.gz"], fake)

    # Elastic: per-package downloads with .sha512 and .asc beside them.
    elastic = root / "artifacts.elastic.co"
    elastic.mkdir()
    (elastic / "GPG-KEY-elasticsearch").write_bytes(key)
    for product, path, version in (
        ("elasticsearch", "elasticsearch/elasticsearch-9.5.6-amd64.deb", "9.5.6"),
        ("logstash", "logstash/logstash-9.5.6-amd64.deb", "1:9.5.6-1"),
        ("kibana", "kibana/kibana-9.5.6-amd64.deb", "9.5.6"),
        ("filebeat", "beats/filebeat/filebeat-9.5.6-amd64.deb", "9.5.6"),
    ):
        target = elastic / "downloads" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        deb = make_deb(target, product, version, "amd64")
        (deb.parent / f"{deb.name}.sha512").write_text(f"{hashlib.sha512(deb.read_bytes()).hexdigest()}  {deb.name}\n")
        fake.sign_detached(deb)

    # The update center: plugin-versions.json with dependencies, and the plugin files.
    updates = root / "updates.jenkins.io"
    catalog: dict[str, dict[str, dict[str, object]]] = {}

    def plugin(pid: str, version: str, deps: list[dict[str, object]], core: str = "2.479.1") -> None:
        target = updates / "download" / "plugins" / pid / version / f"{pid}.hpi"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f"fake plugin {pid} {version}\n".encode())
        digest = base64.b64encode(hashlib.sha256(target.read_bytes()).digest()).decode()
        catalog.setdefault(pid, {})[version] = {
            "dependencies": deps,
            "requiredCore": core,
            "sha256": digest,
            "url": f"https://updates.jenkins.io/download/plugins/{pid}/{version}/{pid}.hpi",
            "version": version,
        }

    plugin("mailer", "534.v1b_36f5864073", [{"name": "display-url-api", "optional": False, "version": "2.200"}])
    plugin("display-url-api", "2.190.v1", [])
    plugin("display-url-api", "2.217.va_6b_de84cc74b_", [])
    plugin("display-url-api", "2.300.vfuture", [], core="2.600.1")
    plugin("matrix-auth", "3.3", [{"name": "ionicons-api", "optional": True, "version": "1"}])
    plugin("ionicons-api", "94.vcc3065403257", [])
    (updates / "current").mkdir(parents=True)
    (updates / "current" / "plugin-versions.json").write_text(json.dumps({"plugins": catalog}))

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            fake.requests.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def inventory(tmp_path: Path, vendors: FakeVendors) -> Path:
    inv = tmp_path / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(
        "all:\n  children:\n"
        + "".join(
            f"    {group}:\n      hosts:\n        {host}:\n"
            for group, host in (
                ("jenkins", "ci"),
                ("jenkins_agents", "app1"),
                ("elasticsearch", "logs"),
                ("logstash", "logs"),
                ("kibana", "logs"),
                ("filebeat", "app1"),
            )
        )
    )
    # The fake vendors' key, under the deprecated names: an inventory not yet renamed makes the same bundle.
    (inv / "group_vars" / "all.yml").write_text(
        "".join(f"alur_{v}_key_fingerprint: {vendors.fingerprint}\n" for v in ("jenkins", "elastic", "temurin"))
    )
    return inv


@pytest.fixture
def lockfile(tmp_path: Path) -> Path:
    path = tmp_path / "plugins.lock"
    path.write_text("# pinned\nmailer:534.v1b_36f5864073\nmatrix-auth:3.3  # optional dependency not pinned\n")
    return path


def create(vendors: FakeVendors, inventory: Path, lockfile: Path, out: Path, *extra: str) -> object:
    args = ["create", "--out", str(out), "-i", str(inventory), "--plugins", str(lockfile), "--base-url", vendors.url]
    return CliRunner().invoke(cli, ["bundle", *args, *extra])


def refused(result: Any, message: str) -> bool:
    """`alur` refused with one line naming the cause and the bundle error's exit code, no traceback."""
    return (
        result.exit_code == bundle.BundleError.exit_code
        and "alur: error: " in result.output
        and (message in " ".join(result.output.split()))
    )


def test_create_downloads_checks_and_lays_out_a_bundle(tmp_path, vendors, inventory, lockfile):
    out = tmp_path / "bundle"
    result = create(vendors, inventory, lockfile, out)
    assert result.exit_code == 0, (result.output, result.exception)
    manifest = json.loads((out / "manifest.json").read_text())
    versions = {
        p: [f"{x['package']}={x['version']}" for x in info["packages"]] for p, info in manifest["products"].items()
    }
    assert versions == {
        "jenkins": ["jenkins=2.580.2"],
        "temurin": ["temurin-21-jdk=21.0.9.0.0+10-0", "adoptium-ca-certificates=1.0.4-1"],
        "elasticsearch": ["elasticsearch=9.5.6"],
        "logstash": ["logstash=1:9.5.6-1"],
        "kibana": ["kibana=9.5.6"],
        "filebeat": ["filebeat=9.5.6"],
    }
    plugins = {p["id"]: (p["version"], p["requested"]) for p in manifest["jenkins_plugins"]}
    # The missing required dependency is added at the newest version the pinned core runs; optional ones are not.
    assert plugins == {
        "mailer": ("534.v1b_36f5864073", True),
        "matrix-auth": ("3.3", True),
        "display-url-api": ("2.217.va_6b_de84cc74b_", False),
    }
    assert "added display-url-api:2.217.va_6b_de84cc74b_ (needed by mailer)" in result.output
    assert (out / "jenkins-plugins" / "plugins.lock").read_text().splitlines() == [
        "display-url-api:2.217.va_6b_de84cc74b_",
        "mailer:534.v1b_36f5864073",
        "matrix-auth:3.3",
    ]
    report = bundle.verify(out)
    assert report.files == len((out / "SHA256SUMS").read_text().splitlines()) and not report.standin
    index = bundle.parse_stanzas((out / "apt" / "temurin" / "Packages").read_text())
    assert {s["Filename"] for s in index} == {Path(p["file"]).name for p in manifest["products"]["temurin"]["packages"]}
    # Everything came from the fake server, under the vendors' host names.
    assert vendors.requests and all(r.split("/")[1] in VENDOR_HOSTS for r in vendors.requests)


def _tamper_jenkins_deb(v: FakeVendors) -> None:
    deb = v.path("pkg.jenkins.io/debian-stable/binary/jenkins_2.580.2_all.deb")
    deb.write_bytes(deb.read_bytes() + b"x")


def _tamper_jenkins_index(v: FakeVendors) -> None:
    packages = v.path("pkg.jenkins.io/debian-stable/binary/Packages.gz")
    packages.write_bytes(gzip.compress(gzip.decompress(packages.read_bytes()).replace(b"2.568.3", b"2.568.4")))


def _tamper_elastic_deb(v: FakeVendors) -> None:
    deb = v.path("artifacts.elastic.co/downloads/kibana/kibana-9.5.6-amd64.deb")
    deb.write_bytes(deb.read_bytes() + b"x")


def _tamper_elastic_sha512(v: FakeVendors) -> None:
    # A checksum file replaced along with the package: the signature still gives it away.
    deb = v.path("artifacts.elastic.co/downloads/kibana/kibana-9.5.6-amd64.deb")
    deb.write_bytes(deb.read_bytes() + b"x")
    (deb.parent / f"{deb.name}.sha512").write_text(f"{hashlib.sha512(deb.read_bytes()).hexdigest()}  {deb.name}\n")


def _tamper_plugin(v: FakeVendors) -> None:
    v.path("updates.jenkins.io/download/plugins/mailer/534.v1b_36f5864073/mailer.hpi").write_bytes(b"evil")


def _tamper_temurin_dependency(v: FakeVendors) -> None:
    deb = v.path("packages.adoptium.net/artifactory/deb/pool/main/t/adoptium-ca-certificates_1.0.4-1_all.deb")
    deb.write_bytes(deb.read_bytes() + b"x")


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_tamper_jenkins_deb, "does not match the SHA256 in the signed index"),
        (_tamper_jenkins_index, "does not match the signed Release file"),
        (_tamper_elastic_deb, "kibana-9.5.6-amd64.deb: no valid signature by elastic's key"),
        (_tamper_elastic_sha512, "kibana-9.5.6-amd64.deb: no valid signature by elastic's key"),
        (_tamper_plugin, "plugin mailer:534.v1b_36f5864073"),
        (_tamper_temurin_dependency, "adoptium-ca-certificates_1.0.4-1_all.deb does not match the SHA256"),
    ],
    ids=["jenkins-deb", "jenkins-index", "elastic-deb", "elastic-deb-and-sha512", "plugin", "temurin-dependency"],
)
def test_create_rejects_a_tampered_file_and_leaves_no_bundle(tmp_path, vendors, inventory, lockfile, tamper, message):
    tamper(vendors)
    out = tmp_path / "bundle"
    result = create(vendors, inventory, lockfile, out)
    assert refused(result, message), result.output
    assert not out.exists()
    assert not list(tmp_path.glob(".bundle.partial-*"))


def test_create_rejects_a_key_with_another_fingerprint(tmp_path, vendors, inventory, lockfile):
    # -e under the new name wins over the inventory's old alur_* name.
    wrong = f"artifacts_jenkins_key_fingerprint={'A' * 40}"
    result = create(vendors, inventory, lockfile, tmp_path / "b", "-e", wrong)
    assert refused(result, f"not the pinned {'A' * 40}"), result.output


def test_create_refuses_a_pin_the_repository_lacks(tmp_path, vendors, inventory, lockfile):
    # The deprecated name pins all the same.
    result = create(vendors, inventory, lockfile, tmp_path / "b", "-e", "alur_jenkins_version=2.999.1")
    assert refused(result, "no package jenkins 2.999.1") and "2.580.2" in result.output, result.output


def test_create_takes_only_the_inventorys_products(tmp_path, vendors, inventory, lockfile):
    (inventory / "hosts.yml").write_text("all:\n  children:\n    filebeat:\n      hosts:\n        app1:\n")
    result = create(vendors, inventory, lockfile, tmp_path / "b")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert list(manifest["products"]) == ["filebeat"] and manifest["jenkins_plugins"] == []
    assert all(r.split("/")[1] == "artifacts.elastic.co" for r in vendors.requests)


def test_verify_passes_on_the_standin_bundle_and_fails_once_tampered(tmp_path):
    built = standins.ensure_bundle()
    ok = CliRunner().invoke(cli, ["bundle", "verify", str(built)])
    assert ok.exit_code == 0, ok.output
    assert "CI stand-ins" in ok.output and "logstash: logstash 1:9.5.6-1+standin" in ok.output

    copy = tmp_path / "standin-bundle"
    shutil.copytree(built, copy)
    deb = next((copy / "apt" / "jenkins").glob("*.deb"))
    deb.write_bytes(deb.read_bytes()[:-1] + b"\0")
    bad = CliRunner().invoke(cli, ["bundle", "verify", str(copy)])
    assert refused(bad, f"apt/jenkins/{deb.name} does not match its SHA-256"), bad.output
