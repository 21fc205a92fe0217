"""The inventories the project ships pass `alur check` (offline: the rules, the argument_specs, the secrets)."""

from __future__ import annotations

from pathlib import Path

from alur import check
from alur.inventory import Inventory, VaultOptions

ROOT = Path(__file__).resolve().parents[2]


def checked(inventory: Path, password_file: Path) -> check.CheckReport:
    loaded = Inventory(inventory, ROOT, VaultOptions(password_files=(str(password_file),)), ())
    return check.run_check(loaded, offline=True)


def test_the_example_passes_with_its_vault_and_every_secret_comes_from_it() -> None:
    inventory = ROOT / "inventory" / "example"
    report = checked(inventory, inventory / ".vault-password-EXAMPLE")
    assert report.errors == [] and report.of("warning") == [], [f.line() for f in report.findings]
    loaded = Inventory(inventory, ROOT, VaultOptions(password_files=(str(inventory / ".vault-password-EXAMPLE"),)), ())
    # Nothing is left for the roles to generate: the vault file holds every secret they would.
    for host in ("ci01", "es01", "ls01", "app01"):
        assert loaded.value(host, "elasticstack_elastic_password")
    assert len(loaded.value("ci01", "jenkins_admin_password")) >= 12
    assert len(loaded.value("ls01", "elasticstack_kibana_encryption_key")) >= 32


def test_the_example_documents_every_host_and_has_a_separate_elasticsearch_and_two_logstash() -> None:
    inventory = ROOT / "inventory" / "example"
    loaded = Inventory(inventory, ROOT, VaultOptions(password_files=(str(inventory / ".vault-password-EXAMPLE"),)), ())
    groups = {name: set(hosts) for name, hosts in loaded.groups().items()}
    assert len(groups["logstash"]) == 2 and not groups["elasticsearch"] & (groups["logstash"] | groups["kibana"])
    for host in loaded.hosts():
        assert (inventory / "host_vars" / f"{host}.yml").read_text().count("(replace)") >= 3, host


def test_the_lab_passes_with_a_vault_password_for_the_secrets_it_generates(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("any-password\n")
    report = checked(ROOT / "inventory" / "lab", password)
    assert report.errors == [] and report.of("warning") == [], [f.line() for f in report.findings]
