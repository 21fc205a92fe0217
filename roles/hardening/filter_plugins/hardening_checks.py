"""Checks the hardening role needs in Jinja: modes and capability sets (address lists: `alur.site.invalid_networks`)."""

from __future__ import annotations

from typing import Any


def hardening_tightened_mode(mode: str, most: str) -> str:
    """`mode` with every permission bit that `most` does not allow removed (never adds a bit)."""
    return f"{int(str(mode), 8) & int(str(most), 8):04o}"


def hardening_has_capability(capability_set: str, number: int) -> bool:
    """Whether a /proc/<pid>/status capability mask (hex, e.g. CapBnd) holds capability `number`."""
    return bool(int(str(capability_set).strip(), 16) >> int(number) & 1)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "hardening_tightened_mode": hardening_tightened_mode,
            "hardening_has_capability": hardening_has_capability,
        }
