"""Checks the hardening role needs in Jinja: address lists, modes and capability sets."""

from __future__ import annotations

import ipaddress
from typing import Any


def hardening_invalid_networks(values: list[Any]) -> list[str]:
    """The entries that are neither an IP address nor a CIDR network."""
    bad = []
    for value in values or []:
        try:
            ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            bad.append(str(value))
    return bad


def hardening_tightened_mode(mode: str, most: str) -> str:
    """`mode` with every permission bit that `most` does not allow removed (never adds a bit)."""
    return f"{int(str(mode), 8) & int(str(most), 8):04o}"


def hardening_has_capability(capability_set: str, number: int) -> bool:
    """Whether a /proc/<pid>/status capability mask (hex, e.g. CapBnd) holds capability `number`."""
    return bool(int(str(capability_set).strip(), 16) >> int(number) & 1)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "hardening_invalid_networks": hardening_invalid_networks,
            "hardening_tightened_mode": hardening_tightened_mode,
            "hardening_has_capability": hardening_has_capability,
        }
