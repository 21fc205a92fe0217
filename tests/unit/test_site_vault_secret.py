"""Secrets generated once and kept vault-encrypted on the controller (alur.site module_utils/secrets.py) and the
lookup alur.site.vault_secret the jenkins and elasticstack roles read them through. The files are the ones the
roles' own lookups wrote before, so a deployed site keeps its secrets: these cases pin both shapes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible.plugins.filter.core import to_nice_yaml
from ansible_collections.alur.site.plugins.module_utils import secrets

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = str(Path(sys.executable).parent / "ansible")
PASSWORD = b"test-vault-password"
INVENTORY_VALUE = "from-the-inventory"


class Vault:
    """The play's vault as the lookup builds it, with a fixed password (or none)."""

    def __init__(self, password: bytes | None = PASSWORD) -> None:
        self._lib = VaultLib([("default", VaultSecret(password))] if password else [])
        self.available = password is not None

    def encrypt(self, text: str) -> bytes:
        return self._lib.encrypt(text)

    def decrypt(self, data: bytes) -> str:
        return self._lib.decrypt(data).decode()


def decrypt(path: Path) -> str:
    return Vault().decrypt(path.read_bytes())


# --- one value per file (Jenkins' admin password) -----------------------------------------------------------


def test_one_value_is_generated_once_and_stored_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "ci" / "jenkins_admin_password.vault"
    first = secrets.keep_one(str(path), Vault(), name="jenkins_admin_password")
    assert len(first) == 32 and first.isalnum()
    assert path.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    assert first not in path.read_text()
    assert decrypt(path) == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert secrets.keep_one(str(path), Vault()) == first, "a second run reads the stored value"
    assert not list(path.parent.glob("*.partial"))


def test_one_value_refuses_to_store_without_a_vault_password(tmp_path: Path) -> None:
    path = tmp_path / "secret.vault"
    with pytest.raises(secrets.SecretError, match="jenkins_admin_password is not set and cannot be generated"):
        secrets.keep_one(str(path), Vault(None), name="jenkins_admin_password")
    assert not path.exists()
    assert secrets.keep_one(str(path), Vault(None), length=12, write=False).isalnum(), "--check: a throw-away value"
    assert not path.exists()


def test_a_value_written_before_reads_back_without_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "admin.vault"
    path.write_bytes(Vault().encrypt("s3cret\n"))
    assert secrets.keep_one(str(path), Vault()) == "s3cret"


def test_a_plain_text_file_or_a_missing_password_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.vault"
    plain.write_text("s3cret\n")
    with pytest.raises(secrets.SecretError, match="holds jenkins_admin_password but is not vault-encrypted"):
        secrets.keep_one(str(plain), Vault(), name="jenkins_admin_password")
    sealed = tmp_path / "sealed.vault"
    sealed.write_bytes(Vault().encrypt("s3cret"))
    with pytest.raises(secrets.SecretError, match="give the vault password to read it"):
        secrets.keep_one(str(sealed), Vault(None))
    assert secrets.keep_one(str(sealed), Vault(), write=False) == "s3cret"


# --- a mapping of several values (the Elastic stack's secrets.vault.yml) ------------------------------------


NAMES = ["elasticstack_elastic_password", "elasticstack_kibana_encryption_key", "elasticstack_ca_passphrase"]


def test_given_wins_then_stored_then_generated() -> None:
    given = "given-value"
    values, generated = secrets.resolve(
        NAMES,
        given={"elasticstack_elastic_password": given, "elasticstack_ca_passphrase": ""},
        stored={"elasticstack_elastic_password": "stored", "elasticstack_kibana_encryption_key": "stored-key"},
        lengths={"elasticstack_ca_passphrase": 48},
    )
    assert values["elasticstack_elastic_password"] == given
    assert values["elasticstack_kibana_encryption_key"] == "stored-key"
    assert list(generated) == ["elasticstack_ca_passphrase"]
    assert len(values["elasticstack_ca_passphrase"]) == 48 and values["elasticstack_ca_passphrase"].isalnum()


def test_missing_values_are_added_to_the_file_given_ones_never(tmp_path: Path) -> None:
    path = tmp_path / ".secrets" / "elasticstack" / "secrets.vault.yml"
    path.parent.mkdir(parents=True)
    path.write_bytes(Vault().encrypt(to_nice_yaml({"elasticstack_kibana_encryption_key": "k" * 48, "retired": "x"})))
    given = "given-value"
    values = secrets.keep_many(str(path), Vault(), names=NAMES, given={"elasticstack_elastic_password": given})
    stored = yaml.safe_load(decrypt(path))
    assert stored == {
        "elasticstack_kibana_encryption_key": "k" * 48,
        "retired": "x",
        "elasticstack_ca_passphrase": values["elasticstack_ca_passphrase"],
    }
    assert values["elasticstack_elastic_password"] == given
    assert decrypt(path) == to_nice_yaml(stored), "written as the role's to_nice_yaml wrote it"
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_complete_file_is_read_and_left_alone(tmp_path: Path) -> None:
    """A lab deployed before: its file (to_nice_yaml, vault-encrypted, newline after) gives every value back."""
    path = tmp_path / "secrets.vault.yml"
    old = dict.fromkeys(NAMES, "v")
    path.write_bytes(Vault().encrypt(to_nice_yaml(old)) + b"\n")
    before = path.stat().st_mtime_ns
    assert secrets.keep_many(str(path), Vault(), names=NAMES) == old
    assert path.stat().st_mtime_ns == before


def test_a_mapping_to_generate_without_a_vault_password_names_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "secrets.vault.yml"
    missing = r"^elasticstack_elastic_password, elasticstack_ca_passphrase are not set"
    with pytest.raises(secrets.SecretError, match=missing):
        secrets.keep_many(str(path), Vault(None), names=NAMES, given={"elasticstack_kibana_encryption_key": "k"})
    assert not path.exists()
    values = secrets.keep_many(str(path), Vault(None), names=NAMES, write=False)
    assert sorted(values) == sorted(NAMES) and not path.exists(), "--check: throw-away values, nothing written"


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secrets.vault.yml"
    path.write_bytes(Vault().encrypt("- a\n- b\n"))
    with pytest.raises(secrets.SecretError, match="is not a mapping"):
        secrets.keep_many(str(path), Vault(), names=NAMES)


# --- the lookup, as the roles call it ---------------------------------------------------------------------------


def run_lookup(tmp_path: Path, expression: str, vault: bool = True) -> subprocess.CompletedProcess[str]:
    password = tmp_path / "vault-password"
    password.write_bytes(PASSWORD)
    encrypted = Vault().encrypt(INVENTORY_VALUE).decode()
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n    ci:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
        "      secret_names: [elasticstack_elastic_password, key]\n"
        "      elasticstack_elastic_password: !vault |\n"
        + "".join(f"        {line}\n" for line in encrypted.splitlines())
    )
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FACT_CACHING="memory")
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    command = [ANSIBLE, "ci", "-i", str(inventory), "-o", "-m", "ansible.builtin.debug", "-a", f"msg={expression}"]
    if vault:
        command += ["--vault-password-file", str(password)]
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=tmp_path, env=env, timeout=120)


def message(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(json.loads(result.stdout.split("=>", 1)[1])["msg"])


def test_the_roles_reach_it_as_alur_site_vault_secret(tmp_path: Path) -> None:
    """Both shapes through Ansible, configured as the project configures it, with names from the inventory (Ansible
    hands them over as its own str subclass); a given value from the inventory's vault wins and stays out of the
    file."""
    one = tmp_path / ".secrets" / "ci" / "jenkins_admin_password.vault"
    many = tmp_path / ".secrets" / "elasticstack" / "secrets.vault.yml"
    expression = (
        f"{{{{ {{'one': lookup('alur.site.vault_secret', '{one}', name='jenkins_admin_password'),"
        f" 'many': lookup('alur.site.vault_secret', '{many}', names=secret_names,"
        " lengths={'key': 48}, given={'elasticstack_elastic_password': elasticstack_elastic_password})} | to_json }}"
    )
    first = message(run_lookup(tmp_path, expression))
    assert isinstance(first, dict)
    assert len(first["one"]) == 32 and decrypt(one) == first["one"]
    assert first["many"]["elasticstack_elastic_password"] == INVENTORY_VALUE
    assert len(first["many"]["key"]) == 48
    assert yaml.safe_load(decrypt(many)) == {"key": first["many"]["key"]}
    assert message(run_lookup(tmp_path, expression)) == first, "a second run reads what the first stored"


def test_the_lookup_fails_with_the_rules_message(tmp_path: Path) -> None:
    path = tmp_path / ".secrets" / "ci" / "jenkins_admin_password.vault"
    expression = f"{{{{ lookup('alur.site.vault_secret', '{path}', name='jenkins_admin_password') }}}}"
    result = run_lookup(tmp_path, expression, vault=False)
    assert result.returncode != 0
    assert "jenkins_admin_password is not set and cannot be generated" in result.stdout + result.stderr
    assert not path.exists()
