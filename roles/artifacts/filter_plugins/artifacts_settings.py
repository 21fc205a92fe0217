"""The artifacts role's deprecated setting names (alur_*), and the one warning an inventory using them gets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def deprecated_names(defined: Iterable[str], aliases: Mapping[str, str]) -> list[str]:
    """Warn about the deprecated names among `defined` (variable names set for this host), once per run:
    Ansible shows a given warning only once, and every host of an inventory mostly sets the same names.
    Returns them, `old -> new`, sorted."""
    found = sorted(f"{old} -> {aliases[old]}" for old in set(defined) if old in aliases)
    if found:
        from ansible.utils.display import Display

        Display().warning(
            "the artifacts settings " + ", ".join(found) + " use deprecated names: they are still read, "
            "but rename them (roles/artifacts/README.md, Deprecated names)"
        )
    return found


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"artifacts_deprecated_names": deprecated_names}
