"""Secrets generated once on the controller and kept there vault-encrypted, read back on every later run.

Two file shapes, both written by earlier releases and kept as they are so that a deployed site keeps its secrets:

- one value per file (Jenkins' admin password: ``inventory/<env>/.secrets/jenkins/...``), the vault text of
  the value alone;
- a YAML mapping of several named values (the Elastic stack's ``secrets.vault.yml``), vault-encrypted whole.

The rules: a value given in the inventory wins and is never stored; else the stored one; else a new random one
(letters and digits only: values travel through JCasC variables, shells and URLs unquoted), stored before it is
used. A file that is not vault-encrypted is refused (a secret never sits in plain text on the controller), and
nothing is generated when there is no vault password to store it with. Without ``write`` (``--check``) missing
values are throw-away and nothing is written.

The vault itself (Ansible's VaultLib with the play's password) stays in the lookup plugin: this module only needs
something that encrypts and decrypts. It runs on the controller only (no module ships it to a host), so beside
the standard library it uses PyYAML, which Ansible itself depends on.
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Protocol

import yaml

ALPHABET = string.ascii_letters + string.digits
DEFAULT_LENGTH = 32
_VAULT_HEADER = b"$ANSIBLE_VAULT;"
_NO_VAULT = "no vault password to store {them} encrypted (--vault-password-file or ANSIBLE_VAULT_PASSWORD_FILE)"


class SecretError(Exception):
    """A secret file that cannot be read or written as the rules demand; the message is for the user."""


class Vault(Protocol):
    """The play's vault: whether it has a password, and text in and out of vault format."""

    @property
    def available(self) -> bool: ...

    def encrypt(self, text: str) -> bytes: ...

    def decrypt(self, data: bytes) -> str: ...


def generate(length: int = DEFAULT_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(int(length)))


def read(path: str, vault: Vault, what: str) -> str | None:
    """The decrypted content of ``path``, or None when there is no such file."""
    if not Path(path).exists():
        return None
    data = Path(path).read_bytes()
    if not data.lstrip().startswith(_VAULT_HEADER):
        raise SecretError(f"{path} holds {what} but is not vault-encrypted; encrypt it with ansible-vault encrypt")
    if not vault.available:
        raise SecretError(f"{path} holds {what}, vault-encrypted; give the vault password to read it")
    return vault.decrypt(data)


def write_private(path: str, data: bytes) -> None:
    """Replace ``path`` at once (a reader never sees half a file), mode 0600 in folders made 0700."""
    Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = Path(f"{path}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    partial.replace(path)


def keep_one(path: str, vault: Vault, *, name: str = "secret", length: int = DEFAULT_LENGTH, write: bool = True) -> str:
    """The value stored alone in ``path``; generated and stored when the file does not exist."""
    stored = read(path, vault, name)
    if stored is not None:
        return stored.strip()
    value = generate(length)
    if write:
        if not vault.available:
            raise SecretError(f"{name} is not set and cannot be generated: " + _NO_VAULT.format(them="it"))
        write_private(path, vault.encrypt(value))
    return value


def resolve(
    names: Iterable[str],
    given: Mapping[str, object],
    stored: Mapping[str, object],
    lengths: Mapping[str, int] | None = None,
    make: Callable[[int], str] = generate,
) -> tuple[dict[str, str], dict[str, str]]:
    """Every name's value (given, else stored, else generated) and the generated ones alone."""
    values: dict[str, str] = {}
    generated: dict[str, str] = {}
    # Plain str: Ansible hands names over as its own str subclass, which YAML's safe dumper cannot write.
    for name in map(str, names):
        if given.get(name):
            values[name] = str(given[name])
        elif stored.get(name):
            values[name] = str(stored[name])
        else:
            generated[name] = values[name] = make(int((lengths or {}).get(name, DEFAULT_LENGTH)))
    return values, generated


def dump_mapping(mapping: Mapping[str, str]) -> str:
    """YAML as Ansible's to_nice_yaml wrote the file before: sorted keys, block style, indent 4."""
    return yaml.safe_dump(dict(mapping), indent=4, allow_unicode=True, default_flow_style=False, sort_keys=True)


def keep_many(
    path: str,
    vault: Vault,
    *,
    names: Iterable[str],
    given: Mapping[str, object] | None = None,
    lengths: Mapping[str, int] | None = None,
    write: bool = True,
) -> dict[str, str]:
    """Every name's value from a vault-encrypted YAML mapping in ``path``; missing ones generated and stored.

    Stored values of names no longer asked for stay in the file."""
    names = list(names)
    text = read(path, vault, "secrets")
    stored = yaml.safe_load(text) if text else {}
    if not isinstance(stored, dict):
        raise SecretError(f"{path} is not a mapping of secret names to values")
    values, generated = resolve(names, given or {}, stored, lengths)
    if generated and write:
        if not vault.available:
            missing = ", ".join(generated)
            verb = "is" if len(generated) == 1 else "are"
            them = "it" if len(generated) == 1 else "them"
            raise SecretError(
                f"{missing} {verb} not set and cannot be generated: {_NO_VAULT.format(them=them)} in {path}; "
                "or give the values from Ansible Vault"
            )
        write_private(path, vault.encrypt(dump_mapping({**stored, **generated})))
    return values
