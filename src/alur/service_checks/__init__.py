"""Service checks for `alur status`, one module per service family; each registers its checks with
`alur.status.service_check(group, name)`. `alur status` imports every module of this package.

The helpers here are what several families need: a unit's state, a product's version from its package (with the
CI stand-in label; a stand-in is named, never treated differently), and the static address services bind to."""

from __future__ import annotations

from ansible_collections.alur.site.plugins.module_utils import addresses
from ansible_collections.alur.site.plugins.module_utils.addresses import url_host

from alur.status import ServiceContext

__all__ = ["STANDIN_LABEL", "active", "package_version", "static_address", "url_host"]

STANDIN_LABEL = " (CI stand-in)"


def active(context: ServiceContext, unit: str) -> tuple[bool, str]:
    """Whether a systemd unit is active, and its state word."""
    state = context.run(f"systemctl is-active {unit}").stdout.strip() or "unknown"
    return state == "active", state


def package_version(context: ServiceContext, name: str) -> tuple[str | None, str]:
    """(upstream version, STANDIN_LABEL or "") of an installed Debian package; (None, "") when it is not."""
    raw = context.run(f"dpkg-query -W -f='${{Version}}' {name}").stdout.strip()
    if not raw:
        return None, ""
    version = raw.split(":", 1)[-1].split("-", 1)[0].replace("+standin", "")
    return version, STANDIN_LABEL if "+standin" in raw else ""


def static_address(context: ServiceContext, override: str | None = None) -> str:
    """The address the roles bind services to: the roles' own rule (`alur.site.peer_address`) on this host's
    variables, with the variable `override` names as the per-host override, and the address Alur reaches the
    host on as the fallback."""
    names = [name for name in (override, "network_interfaces") if name]
    host_vars = {name: context.variables(name, None) for name in names}
    host_vars["ansible_host"] = context.connection.address
    return addresses.peer_address(host_vars, override)
