"""Two fresh lab hosts for an integration test module: a (Debian 13) and b (Debian 12), made by `alur lab up` and
removed when the module is done. tests/integration/conftest.py's `two_hosts` fixture brings them up; this module
holds what the tests import by name (pytest does not let a test import its conftest)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLATFORMS = [{"name": "a", "release": "13"}, {"name": "b", "release": "12"}]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A command run from the project, as an operator would: output kept, never raising."""
    return subprocess.run(list(args), capture_output=True, text=True, check=False, cwd=ROOT, env=env)


@dataclass
class TwoHosts:
    instance: str
    addresses: dict[str, str]  # a/b -> management address (eth0), which `alur lab up` reported

    @property
    def state(self) -> Path:
        """Where alur keeps the instance's SSH key and known_hosts."""
        return ROOT / ".alur" / "labs" / self.instance

    def container(self, host: str) -> str:
        return f"alur-{self.instance}-{host}"

    def host_keys(self) -> dict[str, str]:
        """a/b -> "<type> <key>" of its sshd, as `alur lab up` recorded it."""
        lines = (self.state / "known_hosts").read_text().splitlines()
        by_address = {line.split()[0]: " ".join(line.split()[1:3]) for line in lines if line.strip()}
        return {host: by_address[address] for host, address in self.addresses.items()}

    def connection(self) -> dict[str, Any]:
        """Inventory variables that reach the hosts as the lab does: user alur, its key, host keys checked."""
        return {
            "ansible_user": "alur",
            "ansible_ssh_private_key_file": str(self.state / "id_ed25519"),
            "ansible_ssh_common_args": f"-o UserKnownHostsFile={self.state / 'known_hosts'} "
            "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes",
        }

    def write_inventory(self, folder: Path, **variables: Any) -> Path:
        """folder/hosts.yml with both hosts at their management address, and these variables for all."""
        hosts = {
            "all": {
                "vars": {**self.connection(), **variables},
                "hosts": {host: {"ansible_host": address} for host, address in self.addresses.items()},
            }
        }
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "hosts.yml").write_text(yaml.safe_dump(hosts))
        return folder


# What the `two_hosts` fixture gives: called with a prefix for the instance's name (unique per module, the run id
# is appended) and, optionally, lan_bridge (this machine's address on the lab network, e.g. "192.168.80.1/24").
LabUp = Callable[..., TwoHosts]
