"""Input checks for the common role that argument_specs cannot express."""

from __future__ import annotations

import ipaddress
from typing import Any


def invalid_networks(values: Any) -> list[str]:
    """The items of `values` that are not an IPv4/IPv6 address or network in CIDR form."""
    bad = []
    for value in values or []:
        try:
            ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            bad.append(str(value))
    return bad


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"common_invalid_networks": invalid_networks}
