"""A small alur project on disk for tests: site.yml, roles with argument_specs, an inventory.

Hosts use ansible_connection=local unless a test says otherwise, so a real ansible-playbook run of
such a project needs no container.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

WEB_SPEC = {
    "argument_specs": {
        "main": {
            "short_description": "A test role",
            "options": {
                "web_port": {"type": "int", "description": "Port."},
                "web_mode": {"type": "str", "choices": ["fast", "safe"], "description": "Mode."},
                "web_admin_password": {
                    "type": "str",
                    "no_log": True,
                    "description": "Admin password; empty means generated and stored vault-encrypted.",
                },
                "web_tls_key": {"type": "str", "no_log": True, "description": "TLS key (PEM); keep it in Vault."},
                "web_heap_size": {"type": "str", "description": "JVM heap, e.g. 512m."},
                "web_users": {
                    "type": "list",
                    "elements": "dict",
                    "description": "Users.",
                    "options": {"name": {"type": "str", "required": True, "description": "Login."}},
                },
            },
        }
    }
}
WEB_DEFAULTS = {
    "web_port": 8080,
    "web_mode": "fast",
    "web_admin_password": "",
    "web_heap_size": "256m",
    "web_users": [],
}


def write_yaml(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n" + yaml.safe_dump(data, sort_keys=False))
    return path


def make_project(
    root: Path,
    groups: dict[str, list[str]] | None = None,
    host_vars: dict[str, dict[str, Any]] | None = None,
    group_vars: dict[str, dict[str, Any]] | None = None,
    local: bool = True,
    plays: list[dict[str, Any]] | None = None,
) -> tuple[Path, Path]:
    """Write the project under root; returns (project dir, inventory dir)."""
    project = root / "project"
    write_yaml(project / "roles" / "web" / "meta" / "argument_specs.yml", WEB_SPEC)
    write_yaml(project / "roles" / "web" / "defaults" / "main.yml", WEB_DEFAULTS)
    write_yaml(
        project / "roles" / "web" / "tasks" / "main.yml",
        [{"name": "Say the port", "ansible.builtin.debug": {"msg": "port {{ web_port }}"}}],
    )
    write_yaml(
        project / "site.yml",
        plays or [{"name": "Web", "hosts": "all", "gather_facts": False, "roles": ["web"]}],
    )
    groups = groups if groups is not None else {"web": ["h1", "h2"]}
    children = {name: {"hosts": {h: None for h in hosts}} for name, hosts in groups.items()}
    inventory = root / "inventory"
    all_vars: dict[str, Any] = {}
    if local:
        all_vars = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    write_yaml(inventory / "hosts.yml", {"all": {"vars": all_vars, "children": children}})
    for host, values in (host_vars or {}).items():
        write_yaml(inventory / "host_vars" / f"{host}.yml", values)
    for group, values in (group_vars or {}).items():
        write_yaml(inventory / "group_vars" / f"{group}.yml", values)
    return project, inventory


def vault_encrypt(plaintext: str, password: str) -> str:
    """Ciphertext as ansible-vault writes it."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(password.encode()))])
    return vault.encrypt(plaintext).decode()
