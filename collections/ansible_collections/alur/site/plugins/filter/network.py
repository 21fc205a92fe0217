"""The network role's filters; thin wrappers over plugins/module_utils/network (see there for the rules)."""

from __future__ import annotations

from typing import Any

from ansible_collections.alur.site.plugins.module_utils.network import render, validate


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "network_inventory_errors": validate.inventory_errors,
            "network_stanzas": render.stanzas,
            "network_resolver": render.resolver,
            "network_packages": render.packages,
        }
