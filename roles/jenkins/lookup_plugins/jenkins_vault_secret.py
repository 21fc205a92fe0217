"""A secret kept vault-encrypted on the controller: read when the file exists, else generated and written."""

from __future__ import annotations

DOCUMENTATION = r"""
name: jenkins_vault_secret
short_description: Read a vault-encrypted secret file on the controller, generating it on first use
description:
  - Returns the decrypted content of O(_terms[0]), a file encrypted with ansible-vault.
  - When the file does not exist, generates a random password, encrypts it with the vault password
    the play was started with (C(--vault-password-file), C(--vault-id) or C(ANSIBLE_VAULT_PASSWORD_FILE))
    and writes it there (mode 0600, folders 0700), so every later run gets the same value.
  - Fails with a clear message when no vault password is available: a generated secret is never stored in plain text.
options:
  _terms:
    description: Path of the vault-encrypted file on the controller.
    required: true
  length:
    description: Length of a generated password.
    type: int
    default: 32
  write:
    description: Write a generated value; false (for --check) returns a throw-away value and writes nothing.
    type: bool
    default: true
  name:
    description: What the secret is, for error messages (e.g. the variable that would otherwise hold it).
    type: str
    default: secret
"""

import os
import secrets
import string

from ansible.errors import AnsibleError
from ansible.parsing.vault import VaultLib, is_encrypted, match_encrypt_secret
from ansible.plugins.lookup import LookupBase

# Letters and digits only: the value travels through JCasC variables, shells and URLs unquoted.
_ALPHABET = string.ascii_letters + string.digits


class LookupModule(LookupBase):
    def run(self, terms, variables=None, length=32, write=True, name="secret", **kwargs):
        if len(terms) != 1 or kwargs:
            raise AnsibleError("jenkins_vault_secret takes one path and the options length, write and name")
        path = os.path.expanduser(str(terms[0]))
        vault_secrets = list(getattr(getattr(self._loader, "_vault", None), "secrets", None) or [])
        if os.path.exists(path):
            with open(path, "rb") as handle:
                data = handle.read()
            if not is_encrypted(data):
                raise AnsibleError(f"{path} holds {name} but is not vault-encrypted; encrypt it with ansible-vault encrypt")
            if not vault_secrets:
                raise AnsibleError(f"{path} holds {name}, vault-encrypted; give the vault password to read it")
            return [VaultLib(vault_secrets).decrypt(data).decode("utf-8").strip()]
        value = "".join(secrets.choice(_ALPHABET) for _ in range(int(length)))
        if not write:
            return [value]
        if not vault_secrets:
            raise AnsibleError(
                f"{name} is not set and cannot be generated: no vault password to store it encrypted "
                "(--vault-password-file or ANSIBLE_VAULT_PASSWORD_FILE)"
            )
        vault_id, secret = match_encrypt_secret(vault_secrets)
        ciphertext = VaultLib(vault_secrets).encrypt(value, secret=secret, vault_id=vault_id)
        folder = os.path.dirname(path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        partial = f"{path}.partial"
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(ciphertext)
        os.replace(partial, path)
        return [value]
