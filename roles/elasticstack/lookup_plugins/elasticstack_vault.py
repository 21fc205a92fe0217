"""The stack's secrets file on the controller, read and written with the play's own vault password."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.errors import AnsibleError
from ansible.parsing.vault import VaultLib, is_encrypted, match_encrypt_secret
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = """
name: elasticstack_vault
short_description: Encrypt text, or read a vault-encrypted file, with the play's own vault password
description:
  - Uses the vault secret ansible-playbook was given (C(--vault-password-file), C(--vault-id),
    C(ANSIBLE_VAULT_PASSWORD_FILE) or ansible.cfg).
  - C(encrypt) returns each term encrypted, as ansible-vault writes it.
  - C(read) returns the decrypted content of each file named by a term; a file that is not vault-encrypted is
    an error (a secret must never sit in plain text on the controller).
  - C(available) returns whether the play has a vault secret at all.
options:
  _terms:
    description: Texts (encrypt) or file paths (read).
  action:
    description: What to do.
    type: str
    choices: [encrypt, read, available]
    default: encrypt
"""


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[Any]:
        self.set_options(var_options=variables, direct=kwargs)
        action = self.get_option("action")
        secrets = list(getattr(getattr(self._loader, "_vault", None), "secrets", None) or [])
        if action == "available":
            return [bool(secrets)]
        if action == "read":
            found = []
            for term in terms:
                data = Path(str(term)).read_bytes()
                if not is_encrypted(data):
                    raise AnsibleError(f"{term} is not vault-encrypted: encrypt it with ansible-vault encrypt")
                if not secrets:
                    raise AnsibleError(f"{term} is vault-encrypted; give the vault password to read it")
                found.append(VaultLib(secrets).decrypt(data).decode("utf-8"))
            return found
        if not secrets:
            raise AnsibleError("no vault password to encrypt with (--vault-password-file, ANSIBLE_VAULT_PASSWORD_FILE)")
        vault_id, secret = match_encrypt_secret(secrets)
        vault = VaultLib(secrets)
        return [vault.encrypt(str(term), secret, vault_id=vault_id).decode("utf-8") for term in terms]
