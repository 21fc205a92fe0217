"""alur.bundle: versions, indexes, lockfiles, settings, and bundle verification (no network)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from alur_project import make_project

from alur import bundle
from alur.inventory import Inventory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("2.580.2", "2.580.10", -1),
        ("1:9.5.6-1", "9.9.9", 1),
        ("9.5.6", "9.5.6+standin", -1),
        ("9.5.6~rc1", "9.5.6", -1),
        ("21.0.9.0.0+10-0", "21.0.10.0.0+7-0", -1),
        ("1.0-1", "1.0-1", 0),
        ("2.217.va_6b_de84cc74b_", "2.200", 1),
    ],
)
def test_dpkg_version_order(a: str, b: str, expected: int) -> None:
    assert bundle.compare_versions(a, b) == expected
    assert bundle.compare_versions(b, a) == -expected


def test_stanzas_and_depends() -> None:
    text = "Package: a\nDescription: one\n two\n\nPackage: b\nDepends: c (>= 1), d:any | e [amd64]\n"
    stanzas = bundle.parse_stanzas(text)
    assert stanzas == [
        {"Package": "a", "Description": "one\n two"},
        {"Package": "b", "Depends": "c (>= 1), d:any | e [amd64]"},
    ]
    assert bundle.depends_names(stanzas[1]["Depends"]) == [["c"], ["d", "e"]]
    assert bundle.parse_stanzas(bundle.format_stanza(stanzas[0])) == [stanzas[0]]


def test_lockfile_format(tmp_path: Path) -> None:
    lock = tmp_path / "plugins.lock"
    lock.write_text("# comment\n\ngit:5.7.0  # why\nmailer:534.v1b_36f5864073\n")
    assert bundle.read_lockfile(lock) == {"git": "5.7.0", "mailer": "534.v1b_36f5864073"}
    lock.write_text("git 5.7.0\n")
    with pytest.raises(bundle.BundleError, match="expected id:version"):
        bundle.read_lockfile(lock)
    lock.write_text("git:1\ngit:2\n")
    with pytest.raises(bundle.BundleError, match="listed twice"):
        bundle.read_lockfile(lock)


CATALOG = {
    "a": {"1.0": {"requiredCore": "2.500", "dependencies": [{"name": "b", "version": "2.0", "optional": False}]}},
    "b": {
        "1.5": {"requiredCore": "2.400"},
        "2.1": {"requiredCore": "2.500"},
        "3.0": {"requiredCore": "2.700"},
    },
    "c": {"1.0": {"requiredCore": "2.900"}},
}


def test_plugins_resolve_missing_dependencies_for_the_core() -> None:
    resolved, notes = bundle.resolve_plugins({"a": "1.0"}, CATALOG, "2.580.2")
    assert resolved == {"a": "1.0", "b": "2.1"}
    assert notes == ["added b:2.1 (needed by a); add it to the lockfile to pin it"]


@pytest.mark.parametrize(
    ("pins", "message"),
    [
        ({"a": "1.0", "b": "1.5"}, "a:1.0 needs b >= 2.0; the lockfile pins 1.5"),
        ({"c": "1.0"}, "needs Jenkins 2.900"),
        ({"z": "1"}, "plugin z:1 is not in the update center"),
    ],
)
def test_plugins_refuse_what_cannot_work(pins: dict[str, str], message: str) -> None:
    with pytest.raises(bundle.BundleError, match=message):
        bundle.resolve_plugins(pins, CATALOG, "2.580.2")


def test_base_url_maps_every_vendor_url_under_it() -> None:
    fetcher = bundle.Fetcher("http://127.0.0.1:8000/mirror/")
    assert fetcher.url("https://pkg.jenkins.io/debian-stable/binary/Packages") == (
        "http://127.0.0.1:8000/mirror/pkg.jenkins.io/debian-stable/binary/Packages"
    )
    assert bundle.Fetcher().url("https://x.invalid/a?b=1") == "https://x.invalid/a?b=1"


def test_pins_are_the_role_defaults_and_follow_the_elastic_major() -> None:
    cfg = bundle.inventory_pins(Inventory(None, ROOT), "bookworm")
    assert cfg["artifacts_elastic_repo_url"] == "https://artifacts.elastic.co/packages/9.x/apt"
    assert cfg["artifacts_temurin_repo_suite"] == "bookworm"
    eight = bundle.inventory_pins(
        Inventory(None, ROOT, extra_vars=("artifacts_elastic_version=8.19.15", "alur_jenkins_version=2.568.3")),
        "trixie",
    )
    assert eight["artifacts_elastic_repo_url"] == "https://artifacts.elastic.co/packages/8.x/apt"
    assert eight["artifacts_temurin_repo_suite"] == "trixie"
    assert bundle.package_version("logstash", eight) == "1:8.19.15-1"
    assert bundle.package_version("jenkins", eight) == "2.568.3"  # the deprecated name still pins


def test_one_bundle_needs_the_hosts_to_agree_on_its_pins(tmp_path: Path) -> None:
    project, inventory = make_project(
        tmp_path,
        groups={"jenkins": ["ci"], "filebeat": ["app1", "app2"]},
        host_vars={
            # ci leaves the Elastic pin at the default (it installs no Elastic product); its source is its own.
            "ci": {"artifacts_source": "bundle"},
            "app1": {"alur_elastic_version": "8.19.15"},
            "app2": {"artifacts_elastic_version": "8.19.15"},
        },
    )
    cfg = bundle.inventory_pins(Inventory(inventory, project), "bookworm")
    assert cfg["artifacts_elastic_version"] == "8.19.15"
    (inventory / "host_vars" / "app2.yml").write_text("artifacts_elastic_version: 8.18.8\n")
    with pytest.raises(bundle.BundleError, match="artifacts_elastic_version differs between app1 and app2"):
        bundle.inventory_pins(Inventory(inventory, project), "bookworm")


def test_products_follow_the_inventory_groups() -> None:
    groups = {"jenkins_agents": ["app1"], "filebeat": ["app1"], "kibana": []}
    assert bundle.products_for(groups, None) == ["temurin", "filebeat"]
    assert bundle.products_for(groups, False) == ["filebeat"]


def _deb(tmp_path: Path, name: str, version: str) -> Path:
    root = tmp_path / f"tree-{name}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@alur.invalid>\nDescription: t\n"
    )
    out = tmp_path / f"{name}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture
def small_bundle(tmp_path: Path) -> Path:
    plugin = tmp_path / "mailer.hpi"
    plugin.write_bytes(b"plugin")
    return bundle.write_bundle(
        tmp_path / "b",
        {"jenkins": [(_deb(tmp_path, "jenkins", "2.580.2"), "test")]},
        [bundle.PluginFile("mailer", "1.0", plugin)],
    )


def test_written_bundles_verify_and_read_their_own_control_data(small_bundle: Path) -> None:
    report = bundle.verify(small_bundle)
    assert report.products == {"jenkins": ["jenkins 2.580.2"]} and report.plugins == 1
    deb = small_bundle / "apt" / "jenkins" / "jenkins_2.580.2_all.deb"
    assert bundle.deb_control(deb)["Version"] == "2.580.2"
    assert (small_bundle / "jenkins-plugins" / "plugins.lock").read_text() == "mailer:1.0\n"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: (b / "apt/jenkins/jenkins_2.580.2_all.deb").write_bytes(b"x"), "does not match its SHA-256"),
        (lambda b: (b / "extra.deb").write_bytes(b"x"), "not listed in SHA256SUMS: extra.deb"),
        (lambda b: (b / "jenkins-plugins/mailer.jpi").unlink(), "missing: jenkins-plugins/mailer.jpi"),
        (lambda b: (b / "SHA256SUMS").write_text("0" * 64 + "  ../etc/passwd\n"), "outside the bundle"),
    ],
    ids=["changed-deb", "extra-file", "missing-plugin", "path-escape"],
)
def test_verify_rejects_damage(small_bundle: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    damage(small_bundle)
    with pytest.raises(bundle.BundleError, match=message):
        bundle.verify(small_bundle)


def test_verify_rejects_an_index_that_disagrees_with_the_manifest(small_bundle: Path) -> None:
    index = small_bundle / "apt" / "jenkins" / "Packages"
    index.write_text(index.read_text().replace("Version: 2.580.2", "Version: 2.580.3"))
    sums = (small_bundle / "SHA256SUMS").read_text().splitlines()
    digest = bundle.file_digest(index)
    fixed = [f"{digest}  apt/jenkins/Packages" if line.endswith("apt/jenkins/Packages") else line for line in sums]
    (small_bundle / "SHA256SUMS").write_text("\n".join(fixed) + "\n")
    with pytest.raises(bundle.BundleError, match=r"is jenkins 2\.580\.3 in the index"):
        bundle.verify(small_bundle)


def test_write_refuses_an_existing_folder(small_bundle: Path) -> None:
    with pytest.raises(bundle.BundleError, match="exists already"):
        bundle.write_bundle(small_bundle, {})


def test_role_filters_pick_what_a_host_needs(small_bundle: Path) -> None:
    import artifacts_bundle as filters  # roles/artifacts/filter_plugins (pyproject's pytest pythonpath)

    manifest = json.loads((small_bundle / "manifest.json").read_text())
    files = [f["file"] for f in filters.bundle_files(manifest, ["jenkins", "kibana"])]
    assert files == [
        "apt/jenkins/Packages",
        "apt/jenkins/jenkins_2.580.2_all.deb",
        "jenkins-plugins/mailer.jpi",
        "jenkins-plugins/plugins.lock",
    ]
    sums = filters.sha256sums((small_bundle / "SHA256SUMS").read_text())
    assert set(files) <= set(sums)
    on_host = filters.sha256sums(f"{sums[files[0]]}  /var/lib/alur/artifacts/{files[0]}\n", "/var/lib/alur/artifacts")
    assert on_host == {files[0]: sums[files[0]]}
    assert filters.bundle_version(manifest, "jenkins", "jenkins") == "2.580.2"
    assert filters.source_url("https://pkg.jenkins.io/debian-stable", "mirror", "http://m/") == (
        "http://m/pkg.jenkins.io/debian-stable"
    )
    assert filters.source_url("https://pkg.jenkins.io/debian-stable", "upstream", "http://m") == (
        "https://pkg.jenkins.io/debian-stable"
    )
    import artifacts_tests as tests  # roles/artifacts/test_plugins

    assert tests.matches("a", {"a": "1"}, {"a": "1"}) and not tests.matches("a", {}, {"a": "1"})


def test_standin_marker_helper() -> None:
    import standin_skip as skip  # tests/testinfra

    versions = {"jenkins": "2.580.2+standin", "kibana": "9.5.6"}
    assert skip.standins(versions) == ["jenkins"]
    assert skip.standins(versions, ("kibana",)) == []
    assert skip.REASON == "stand-in"


def test_the_cli_group_offers_create_and_verify() -> None:
    from click.testing import CliRunner

    from alur.cli import cli

    result = CliRunner().invoke(cli, ["bundle", "--help"])
    assert result.exit_code == 0 and "create" in result.output and "verify" in result.output


def test_standin_bundle_fingerprint_covers_its_inputs() -> None:
    import build  # tests/standins/build.py: pythonpath in pyproject

    assert build.inputs_fingerprint(("2.580.2", "9.5.6")) != build.inputs_fingerprint(("2.580.3", "9.5.6"))
    names = [p.name for p in build.packages("2.580.2", "9.5.6")]
    assert names == ["jenkins", "elasticsearch", "logstash", "kibana", "filebeat"]
    assert all(p.version.endswith("+standin") for p in build.packages("2.580.2", "9.5.6"))
    assert shutil.which("dpkg-deb")
