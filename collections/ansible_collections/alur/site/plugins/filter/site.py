"""Filters shared by Alur's roles; thin wrappers over plugins/module_utils (see there for the rules)."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.alur.site.plugins.module_utils import addresses, lockfile


def plugin_lockfile(text: str, origin: str = "plugins.lock") -> list[dict[str, str]]:
    try:
        return lockfile.parse(text, origin)
    except lockfile.LockfileError as error:
        raise AnsibleFilterError(str(error)) from error


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "peer_address": addresses.peer_address,
            "peer_addresses": addresses.peer_addresses,
            "url_host": addresses.url_host,
            "host_cidrs": addresses.host_cidrs,
            "subject_alt_names": addresses.subject_alt_names,
            "not_ip": addresses.not_ip,
            "invalid_networks": addresses.invalid_networks,
            "plugin_lockfile": plugin_lockfile,
        }
