"""Filters of the Elastic roles that only they need. Addresses, firewall sources and certificate names come from
the project's collection (`alur.site.peer_address`, ...), the same rule every role and `alur` use."""

from __future__ import annotations

from typing import Any


def elasticstack_heap_mb(value: Any, memory_mb: Any, fraction: float, floor: int, ceiling: int) -> int:
    """A heap size in MB: the explicit value ('512m', '2g', 1024), else a fraction of the RAM within bounds."""
    text = str(value or "").strip().lower()
    if text:
        units = {"k": 1 / 1024, "m": 1, "g": 1024}
        if text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(float(text))
    return int(max(floor, min(ceiling, int(memory_mb or 0) * fraction)))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"elasticstack_heap_mb": elasticstack_heap_mb}
