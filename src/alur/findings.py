"""A problem found by `alur check`: one line naming the host and the cause."""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("error", "warning", "note")


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning | note
    host: str | None  # None: about the inventory as a whole
    cause: str
    code: str = ""  # the rule that found it: schema, peers, secrets, unreachable, ...

    def line(self) -> str:
        return f"{self.host}: {self.cause}" if self.host else self.cause
