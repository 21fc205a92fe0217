"""`alur status`: the health of what is deployed, per host: reachable, its addresses (`ip -o addr`
on the host), and each service's check (up, version, URL).

Service checks plug in through a small registry keyed by inventory group: a module under
`alur.service_checks` decorates a function with `@service_check("group", "name")`; every host in that
group ("all" for every host) gets the check. The function receives a ServiceContext (the host's SSH
session, its connection and variables) and returns a ServiceHealth.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from alur.inventory import Connection, Inventory, Undetermined
from alur.sshexec import CommandResult, Session, SshError


@dataclass
class ServiceHealth:
    name: str
    up: bool | None  # None: could not tell
    version: str | None = None
    url: str | None = None
    detail: str | None = None
    group: str = "all"


@dataclass
class Address:
    interface: str
    family: str  # inet | inet6
    cidr: str
    scope: str


@dataclass
class HostStatus:
    name: str
    groups: list[str]
    endpoint: str
    reachable: bool
    error: str | None = None
    addresses: list[Address] = field(default_factory=list)
    services: list[ServiceHealth] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.reachable and all(s.up is not False for s in self.services)


@dataclass
class StatusReport:
    inventory: str
    generated: str
    hosts: list[HostStatus]
    groups: dict[str, list[str]]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for host, status in zip(data["hosts"], self.hosts, strict=True):
            host["healthy"] = status.healthy
        return data

    @property
    def healthy(self) -> bool:
        return all(h.healthy for h in self.hosts)


@dataclass
class ServiceContext:
    """What a service check may use."""

    host: str
    groups: list[str]
    connection: Connection
    session: Session
    variables: Callable[[str, Any], Any]  # (name, default) -> the host's templated variable

    def run(self, command: str, sudo: bool = False) -> CommandResult:
        return self.session.run(command, sudo=sudo, timeout=20)


CheckFunction = Callable[[ServiceContext], ServiceHealth]
_REGISTRY: dict[str, list[tuple[str, CheckFunction]]] = {}


def service_check(group: str, name: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register `function` as the check of service `name` for every host in `group`."""

    def register(function: CheckFunction) -> CheckFunction:
        entries = _REGISTRY.setdefault(group, [])
        entries[:] = [(n, f) for n, f in entries if n != name]
        entries.append((name, function))
        return function

    return register


def load_plugins() -> None:
    """Import every module of alur.service_checks, which registers their checks."""
    from alur import service_checks

    for module in pkgutil.iter_modules(service_checks.__path__):
        importlib.import_module(f"{service_checks.__name__}.{module.name}")


def checks_for(groups: Iterable[str]) -> list[tuple[str, str, CheckFunction]]:
    """(group, service, check) for a host in these groups, "all" first."""
    selected = []
    for group in ["all", *sorted(set(groups))]:
        for name, function in _REGISTRY.get(group, []):
            selected.append((group, name, function))
    return selected


def parse_ip_addr(text: str) -> list[Address]:
    """`ip -o addr` lines: `2: eth0    inet 10.89.0.2/24 brd ... scope global eth0 ...`."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[2] not in {"inet", "inet6"}:
            continue
        scope = fields[fields.index("scope") + 1] if "scope" in fields[:-1] else ""
        found.append(Address(interface=fields[1].split("@")[0], family=fields[2], cidr=fields[3], scope=scope))
    return found


def host_status(
    inventory_values: Mapping[str, Any], host: str, groups: list[str], connection: Connection
) -> HostStatus:
    status = HostStatus(name=host, groups=groups, endpoint=connection.endpoint, reachable=False)
    if connection.is_local:
        status.error = "local connection: not checked"
        return status
    try:
        session = Session(connection)
    except SshError as exc:
        status.error = str(exc)
        return status
    status.reachable = True
    with session:
        try:
            addresses = session.run("ip -o addr show", timeout=15)
            status.addresses = [a for a in parse_ip_addr(addresses.stdout) if a.interface != "lo" and a.scope != "link"]
        except SshError as exc:
            status.error = str(exc)

        def variable(name: str, default: Any = None) -> Any:
            getter = inventory_values.get(host)
            return getter(name, default) if callable(getter) else default

        context = ServiceContext(host=host, groups=groups, connection=connection, session=session, variables=variable)
        for group, name, function in checks_for(groups):
            try:
                health = function(context)
            except SshError as exc:
                health = ServiceHealth(name=name, up=None, detail=str(exc))
            except Exception as exc:  # a broken check must not hide the other services
                health = ServiceHealth(name=name, up=None, detail=f"check failed: {exc}")
            health.group = group
            status.services.append(health)
    return status


def collect(inventory: Inventory, limit: str | None = None, workers: int = 16) -> StatusReport:
    """Every selected host's status, all hosts at once."""
    load_plugins()
    hosts = inventory.resolve(limit)
    connections = {host: inventory.connection(host) for host in hosts}

    lock = threading.Lock()  # Ansible's templating is not meant to be shared between threads

    def getter(host: str) -> Callable[[str, Any], Any]:
        def get(name: str, default: Any = None) -> Any:
            with lock:
                try:
                    return inventory.value(host, name, default)
                except Undetermined:
                    return default

        return get

    values = {host: getter(host) for host in hosts}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(hosts) or 1))) as pool:
        futures = [
            pool.submit(host_status, values, host, inventory.groups_of(host), connections[host]) for host in hosts
        ]
        results = [f.result() for f in futures]
    return StatusReport(
        inventory=str(inventory.path),
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        hosts=results,
        groups=inventory.groups(),
    )
