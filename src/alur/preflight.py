"""Preflight over SSH (paramiko), every host in parallel: can Ansible work there, and is there room for
what the host's groups will run? Reachable, authenticated, become works, python3, Debian 12/13, memory
and disk for its groups, the groups' ports free (or held by the very service that will own them), and
a clock that agrees with this machine's.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from alur.findings import Finding
from alur.inventory import Connection
from alur.sshexec import Session, SshError

SUPPORTED_DEBIAN = ("12", "13")
MIN_PYTHON = (3, 8)  # ansible-core 2.19's oldest target Python
CLOCK_SKEW_WARN = 1.0
CLOCK_SKEW_ERROR = 5.0


@dataclass(frozen=True)
class Port:
    port: int
    service: str
    units: tuple[str, ...]  # systemd units allowed to hold it (the service itself, once deployed)


@dataclass(frozen=True)
class GroupNeeds:
    memory_mb: int
    disk_mb: int
    ports: tuple[Port, ...] = ()


# What a host in each group needs on top of the base system (vendor-facts.md: ~1.5 GB per ES or
# Kibana host, ~1 GB for Logstash; Jenkins wants a few GB of disk for its home and workspaces).
BASE_NEEDS = GroupNeeds(memory_mb=256, disk_mb=1024)
GROUP_NEEDS: dict[str, GroupNeeds] = {
    "jenkins": GroupNeeds(
        1024,
        4096,
        (
            Port(8080, "Jenkins", ("jenkins.service",)),
            Port(443, "HTTPS proxy", ("nginx.service",)),
            Port(80, "HTTP redirect", ("nginx.service",)),
        ),
    ),
    "jenkins_agents": GroupNeeds(512, 2048),
    "elasticsearch": GroupNeeds(
        1536,
        4096,
        (
            Port(9200, "Elasticsearch HTTP", ("elasticsearch.service",)),
            Port(9300, "Elasticsearch transport", ("elasticsearch.service",)),
        ),
    ),
    "logstash": GroupNeeds(
        1024,
        1024,
        (
            Port(5044, "Logstash Beats input", ("logstash.service",)),
            Port(9600, "Logstash API", ("logstash.service",)),
        ),
    ),
    "kibana": GroupNeeds(
        1024,
        1024,
        (
            Port(5601, "Kibana", ("kibana.service",)),
            Port(443, "HTTPS proxy", ("nginx.service",)),
        ),
    ),
    "filebeat": GroupNeeds(128, 512),
}


@dataclass(frozen=True)
class HostNeeds:
    memory_mb: int
    disk_mb: int
    ports: tuple[Port, ...]


def needs_for(groups: Iterable[str]) -> HostNeeds:
    memory, disk = BASE_NEEDS.memory_mb, BASE_NEEDS.disk_mb
    ports: dict[int, Port] = {}
    for group in sorted(set(groups)):
        needs = GROUP_NEEDS.get(group)
        if needs is None:
            continue
        memory += needs.memory_mb
        disk += needs.disk_mb
        for port in needs.ports:
            known = ports.get(port.port)
            units = tuple(sorted({*port.units, *(known.units if known else ())}))
            ports[port.port] = Port(port.port, known.service if known else port.service, units)
    return HostNeeds(memory, disk, tuple(ports[p] for p in sorted(ports)))


@dataclass(frozen=True)
class Listener:
    port: int
    address: str
    process: str
    pid: int | None
    unit: str | None
    # The account that owns the socket: what is left to know of a process whose /proc entries root may not
    # read (a container without CAP_SYS_PTRACE shows ss no process for another user's socket).
    owner: str | None = None


@dataclass
class HostProbe:
    """What the preflight found on one host (None: not checked or not known)."""

    host: str
    endpoint: str
    reachable: bool = False
    authenticated: bool = False
    error: str | None = None
    error_kind: str | None = None
    become: bool | None = None
    become_error: str | None = None
    python: str | None = None
    os_id: str | None = None
    os_version: str | None = None
    os_name: str | None = None
    memory_mb: int | None = None
    disk_free_mb: int | None = None
    disk_path: str | None = None
    listeners: list[Listener] = field(default_factory=list)
    clock_skew: float | None = None
    skipped: str | None = None  # why the host was not probed (e.g. a local connection)


# --- parsing what the host printed -------------------------------------------------------------


def parse_sections(text: str) -> dict[str, str]:
    """Split the probe script's output at its `==name` marker lines."""
    sections: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("==") and line[2:].strip().isidentifier():
            current = line[2:].strip()
            sections[current] = []
        elif current:
            sections[current].append(line)
    return {k: "\n".join(v).strip() for k, v in sections.items()}


def parse_os_release(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def parse_meminfo_mb(text: str) -> int | None:
    match = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.M)
    return int(match.group(1)) // 1024 if match else None


def parse_df_free_mb(text: str) -> tuple[int, str] | None:
    """`df -Pk PATH` output: free MB and mount point."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return None
    fields = lines[-1].split()
    if len(fields) < 6 or not fields[3].isdigit():
        return None
    return int(fields[3]) // 1024, fields[5]


_SS_LINE = re.compile(r"(?P<local>\S+):(?P<port>\d+)\s+\S+:(?:\*|\d+)(?:\s+(?P<users>users:\(.*\)))?\s*$")
_SS_USER = re.compile(r'\("(?P<name>[^"]+)",pid=(?P<pid>\d+)')


def parse_socket_owners(ss_extended: str, accounts: str) -> dict[tuple[str, int], str]:
    """(address, port) -> owning account, from `ss -Hltne` lines and `getent passwd` lines of their uids."""
    names = {}
    for line in accounts.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[2].isdigit():
            names[int(fields[2])] = fields[0]
    owners = {}
    for line in ss_extended.splitlines():
        local = re.search(r"^\S+\s+\d+\s+\d+\s+(?P<local>\S+):(?P<port>\d+)\s", line.strip())
        uid = re.search(r"\buid:(\d+)", line)
        if local and uid and int(uid.group(1)) in names:
            owners[(local.group("local").strip("[]"), int(local.group("port")))] = names[int(uid.group(1))]
    return owners


def parse_listeners(
    ss_output: str, cgroups: Mapping[int, str], owners: Mapping[tuple[str, int], str] | None = None
) -> list[Listener]:
    """`ss -Hltnp` lines, with each process's systemd unit from its cgroup (and the socket's owner)."""
    found: list[Listener] = []
    for line in ss_output.splitlines():
        match = _SS_LINE.search(line.strip())
        if not match:
            continue
        users = _SS_USER.search(match.group("users") or "")
        pid = int(users.group("pid")) if users else None
        found.append(
            Listener(
                port=int(match.group("port")),
                address=match.group("local").strip("[]"),
                process=users.group("name") if users else "?",
                pid=pid,
                unit=unit_of(cgroups.get(pid, "")) if pid is not None else None,
                owner=(owners or {}).get((match.group("local").strip("[]"), int(match.group("port")))),
            )
        )
    return found


def unit_of(cgroup: str) -> str | None:
    """The systemd unit in a /proc/PID/cgroup text (the last `.service` path component)."""
    units = re.findall(r"/([^/\s]+\.service)", cgroup)
    return units[-1] if units else None


def parse_cgroups(text: str) -> dict[int, str]:
    result: dict[int, str] = {}
    for line in text.splitlines():
        pid, _, rest = line.partition(" ")
        if pid.isdigit():
            result[int(pid)] = rest
    return result


def python_ok(version: str) -> bool:
    try:
        parts = tuple(int(p) for p in version.split(".")[:2])
    except ValueError:
        return False
    return parts >= MIN_PYTHON


# --- probing ---------------------------------------------------------------------------------

_FACTS_SCRIPT = """\
echo ==clock; date +%s.%N
echo ==python; {python} -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null || echo missing
echo ==os; cat /etc/os-release 2>/dev/null
echo ==mem; cat /proc/meminfo 2>/dev/null
echo ==disk; df -Pk /var 2>/dev/null || df -Pk / 2>/dev/null
"""

_PORTS_SCRIPT = """\
echo ==ss; ss -Hltnp 2>/dev/null
echo ==cgroup
for pid in $(ss -Hltnp 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
  printf '%s %s\\n' "$pid" "$(tr '\\n' ' ' < /proc/$pid/cgroup 2>/dev/null)"
done
echo ==ssext; ss -Hltne 2>/dev/null
echo ==accounts
for uid in $(ss -Hltne 2>/dev/null | grep -o 'uid:[0-9]*' | cut -d: -f2 | sort -u); do getent passwd "$uid"; done
"""


def probe(connection: Connection) -> HostProbe:
    """Everything the preflight wants to know of one host, over one SSH connection."""
    result = HostProbe(host=connection.host, endpoint=connection.endpoint)
    if connection.is_local:
        result.skipped = "local connection: nothing to reach over SSH"
        return result
    try:
        session = Session(connection)
    except SshError as exc:
        result.error, result.error_kind = str(exc), exc.kind
        result.reachable = exc.kind != "unreachable"
        return result
    result.reachable = result.authenticated = True
    with session:
        try:
            python = connection.python if connection.python and "{{" not in connection.python else "python3"
            facts = session.run(_FACTS_SCRIPT.format(python=python))
            sections = parse_sections(facts.stdout)
            remote = float(sections.get("clock", "nan") or "nan")
            # The remote clock was read about half-way between sending the command and its answer.
            result.clock_skew = remote - (facts.started + facts.ended) / 2 if remote == remote else None
            version = sections.get("python", "missing")
            result.python = None if version in ("", "missing") else version
            os_release = parse_os_release(sections.get("os", ""))
            result.os_id = os_release.get("ID")
            result.os_version = os_release.get("VERSION_ID")
            result.os_name = os_release.get("PRETTY_NAME")
            result.memory_mb = parse_meminfo_mb(sections.get("mem", ""))
            disk = parse_df_free_mb(sections.get("disk", ""))
            if disk:
                result.disk_free_mb, result.disk_path = disk
            if connection.become_method != "sudo":
                result.become_error = f"become method {connection.become_method} is not checked (only sudo)"
            else:
                become = session.run("true", sudo=True)
                result.become = become.rc == 0
                if not result.become:
                    result.become_error = " ".join(become.stderr.split()) or f"sudo exited {become.rc}"
                else:
                    ports = parse_sections(session.run(_PORTS_SCRIPT, sudo=True).stdout)
                    owners = parse_socket_owners(ports.get("ssext", ""), ports.get("accounts", ""))
                    cgroups = parse_cgroups(ports.get("cgroup", ""))
                    result.listeners = parse_listeners(ports.get("ss", ""), cgroups, owners)
        except SshError as exc:
            result.error, result.error_kind = str(exc), exc.kind
    return result


def run_all(
    connections: Mapping[str, Connection],
    probe_host: Callable[[Connection], HostProbe] = probe,
    workers: int = 16,
) -> dict[str, HostProbe]:
    """Probe every host at once (one thread per host, up to `workers`)."""
    if not connections:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(connections)))) as pool:
        futures = {host: pool.submit(probe_host, conn) for host, conn in connections.items()}
        return {host: future.result() for host, future in sorted(futures.items())}


# --- judging ---------------------------------------------------------------------------------


def evaluate(probe_result: HostProbe, needs: HostNeeds) -> list[Finding]:
    """The problems one host's probe shows, one finding per cause."""
    host = probe_result.host
    if probe_result.skipped:
        return [Finding("note", host, f"preflight skipped: {probe_result.skipped}", "preflight")]
    if probe_result.error and not probe_result.authenticated:
        code = "unreachable" if probe_result.error_kind == "unreachable" else "ssh"
        return [Finding("error", host, probe_result.error, code)]
    findings: list[Finding] = []
    if probe_result.error:
        findings.append(Finding("error", host, probe_result.error, "ssh"))
    if probe_result.become is False:
        findings.append(Finding("error", host, f"become (sudo) does not work: {probe_result.become_error}", "become"))
    elif probe_result.become is None and probe_result.become_error:
        findings.append(Finding("warning", host, probe_result.become_error, "become"))
    if probe_result.python is None:
        findings.append(Finding("error", host, "python3 not found (Ansible modules need it)", "python"))
    elif not python_ok(probe_result.python):
        want = ".".join(map(str, MIN_PYTHON))
        findings.append(Finding("error", host, f"python {probe_result.python} is older than {want}", "python"))
    if probe_result.os_id is not None or probe_result.os_version is not None:
        name = probe_result.os_name or f"{probe_result.os_id} {probe_result.os_version}"
        if probe_result.os_id == "ubuntu":
            findings.append(Finding("warning", host, f"{name} is untested (supported: Debian 12, 13)", "os"))
        elif probe_result.os_id != "debian" or probe_result.os_version not in SUPPORTED_DEBIAN:
            findings.append(Finding("error", host, f"{name} is not supported (Debian 12 or 13)", "os"))
    else:
        findings.append(Finding("error", host, "cannot read /etc/os-release", "os"))
    if probe_result.memory_mb is not None and probe_result.memory_mb < needs.memory_mb:
        findings.append(
            Finding(
                "error",
                host,
                f"{probe_result.memory_mb} MB memory, its groups need {needs.memory_mb} MB",
                "memory",
            )
        )
    if probe_result.disk_free_mb is not None and probe_result.disk_free_mb < needs.disk_mb:
        findings.append(
            Finding(
                "error",
                host,
                f"{probe_result.disk_free_mb} MB free on {probe_result.disk_path}, its groups need {needs.disk_mb} MB",
                "disk",
            )
        )
    findings += _port_findings(probe_result, needs)
    skew = probe_result.clock_skew
    if skew is not None and abs(skew) > CLOCK_SKEW_WARN:
        severity = "error" if abs(skew) > CLOCK_SKEW_ERROR else "warning"
        findings.append(Finding(severity, host, f"clock is {skew:+.1f}s off this machine's", "clock"))
    return findings


def _port_findings(probe_result: HostProbe, needs: HostNeeds) -> list[Finding]:
    if probe_result.become is not True:
        return []
    findings = []
    for port in needs.ports:
        holders = [
            listener
            for listener in probe_result.listeners
            if listener.port == port.port and listener.unit not in port.units and not _owned_by_service(listener, port)
        ]
        for listener in holders:
            who = listener.process + (f" ({listener.unit})" if listener.unit else "")
            who += f" (socket of {listener.owner})" if listener.owner and listener.process == "?" else ""
            findings.append(
                Finding(
                    "error",
                    probe_result.host,
                    f"port {port.port} ({port.service}) is already in use by {who} on {listener.address}",
                    "ports",
                )
            )
    return findings


def _owned_by_service(listener: Listener, port: Port) -> bool:
    """A listener ss could not name, on a socket of the account the service runs as: the vendors'
    packages run each service as a system user of its unit's name (elasticsearch.service as elasticsearch)."""
    return listener.process == "?" and listener.owner is not None and f"{listener.owner}.service" in port.units


def ports_state(probe_result: HostProbe, needs: HostNeeds) -> str:
    if probe_result.become is not True:
        return "-"
    if not needs.ports:
        return "none needed"
    busy = _port_findings(probe_result, needs)
    return "free" if not busy else f"{len(busy)} busy"


# --- package sources -----------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Source:
    """A repository a host downloads packages from; `alur check` tries it from that host."""

    host: str
    port: int
    what: str

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"


def source_of(url: str, what: str) -> Source | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return Source(parts.hostname, port, what)


# bash's /dev/tcp: a TCP connection without curl or nc, which a minimal Debian lacks.
_REACH_SCRIPT = """\
for target in {targets}; do
  if timeout 5 bash -c "</dev/tcp/${{target%:*}}/${{target##*:}}" 2>/dev/null
  then echo "ok $target"; else echo "no $target"; fi
done
"""


def reach(connection: Connection, sources: Sequence[Source]) -> dict[str, bool]:
    """Which sources the host opens a TCP connection to (5 s each); empty when the host cannot be asked."""
    targets = " ".join(shlex.quote(source.endpoint) for source in sources)
    try:
        session = Session(connection)
    except SshError:
        return {}
    with session:
        try:
            out = session.run(_REACH_SCRIPT.format(targets=targets)).stdout
        except SshError:
            return {}
    found = {}
    for line in out.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] in ("ok", "no"):
            found[words[1]] = words[0] == "ok"
    return found
