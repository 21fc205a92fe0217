"""A secret generated once on the controller and kept there vault-encrypted; thin over module_utils/secrets.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.errors import AnsibleError
from ansible.parsing.vault import VaultLib, match_encrypt_secret
from ansible.plugins.lookup import LookupBase
from ansible_collections.alur.site.plugins.module_utils import secrets

DOCUMENTATION = r"""
name: vault_secret
author: Alur
short_description: Read a secret kept vault-encrypted on the controller, generating and storing it on first use
description:
  - Uses the vault password the play was started with (C(--vault-password-file), C(--vault-id),
    C(ANSIBLE_VAULT_PASSWORD_FILE) or ansible.cfg) to read the file O(_terms[0]) and to write it.
  - Without O(names) the file holds one value (returned as a string). When it does not exist, a random value of
    O(length) letters and digits is generated, encrypted and written there (mode 0600, folders 0700).
  - With O(names) the file holds a YAML mapping of several values (returned as a dict of those names). A name
    with a non-empty value in O(given) takes that value (never stored); else the stored value; else a generated
    one, and the file is written again with the generated values added.
  - A file that is not vault-encrypted is an error, and so is a value to generate with no vault password to
    store it, since a generated secret is never kept in plain text.
options:
  _terms:
    description: Path of the vault-encrypted file on the controller.
    required: true
  name:
    description: What the one value is, for error messages (e.g. the variable that would otherwise hold it).
    type: str
    default: secret
  names:
    description: The names of a mapping file's values.
    type: list
    elements: str
  given:
    description: Values given in the inventory, by name (empty ones count as not given).
    type: dict
    default: {}
  length:
    description: Length of a generated value.
    type: int
    default: 32
  lengths:
    description: Length of a generated value, by name (others get O(length)).
    type: dict
    default: {}
  write:
    description: Store generated values; false (for --check) returns throw-away values and writes nothing.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Jenkins' admin password, one value in its own file
  ansible.builtin.set_fact:
    admin_password: >-
      {{ lookup('alur.site.vault_secret', inventory_dir ~ '/.secrets/ci/admin.vault', name='jenkins_admin_password') }}

- name: The Elastic stack's secrets, one mapping
  ansible.builtin.set_fact:
    stack_secrets: >-
      {{ lookup('alur.site.vault_secret', inventory_dir ~ '/.secrets/elasticstack/secrets.vault.yml',
                names=['elasticstack_elastic_password'], given={'elasticstack_elastic_password': ''},
                write=not ansible_check_mode) }}
"""

RETURN = r"""
_raw:
  description: The value (one-value file) or a dict of the named values (mapping file).
"""


class _PlayVault:
    """The vault secrets the play's loader holds, as module_utils/secrets.py's Vault."""

    def __init__(self, loader: Any) -> None:
        self._secrets = list(getattr(getattr(loader, "_vault", None), "secrets", None) or [])

    @property
    def available(self) -> bool:
        return bool(self._secrets)

    def encrypt(self, text: str) -> bytes:
        vault_id, secret = match_encrypt_secret(self._secrets)
        return VaultLib(self._secrets).encrypt(text, secret, vault_id=vault_id)

    def decrypt(self, data: bytes) -> str:
        return VaultLib(self._secrets).decrypt(data).decode("utf-8")


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[Any]:
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1:
            raise AnsibleError("alur.site.vault_secret takes one path")
        path = str(Path(str(terms[0])).expanduser())
        vault = _PlayVault(self._loader)
        write = self.get_option("write")
        try:
            names = self.get_option("names")
            if names is None:
                return [
                    secrets.keep_one(
                        path, vault, name=self.get_option("name"), length=self.get_option("length"), write=write
                    )
                ]
            lengths = {name: self.get_option("length") for name in names} | dict(self.get_option("lengths"))
            given = dict(self.get_option("given"))
            return [secrets.keep_many(path, vault, names=names, given=given, lengths=lengths, write=write)]
        except secrets.SecretError as error:
            raise AnsibleError(str(error)) from error
