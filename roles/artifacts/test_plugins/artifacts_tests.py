"""Jinja tests for the artifacts role."""

from __future__ import annotations

from typing import Any


def matches(path: str, actual: dict[str, str], expected: dict[str, str]) -> bool:
    """True when a bundle file's digest on the host is known and equals the one in SHA256SUMS."""
    return path in actual and path in expected and actual[path] == expected[path]


class TestModule:
    def tests(self) -> dict[str, Any]:
        return {"artifacts_matches": matches}
