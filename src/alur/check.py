"""`alur check`: validate an inventory before anything runs.

Offline rules (no host contacted):
- every role's variables against its meta/argument_specs.yml, with Ansible's own validator, for each
  host and each role site.yml gives it, on the variables as the play would merge and template them;
- every role's own rules (ranges, relations: each role's tasks/validate.yml): the validate play that
  site.yml runs first (playbooks/validate.yml), run here offline (alur_validate_offline, connection
  local), so alur check and ansible-playbook site.yml refuse the same inputs with the same messages;
- cross-host rules: duplicate SSH endpoints and addresses, the network model's rules (gateway inside
  its subnet, ...) from the alur.site collection's network model (the rules the network role runs),
  groups whose peer group is empty (Filebeat without Logstash, ...);
- secrets: present, or generatable (a vault password to store the generated value encrypted);
- sizes: JVM heaps against the host's memory (from the preflight, else from Ansible's fact cache);
- a bundle source: the bundle is there, and holds stand-ins only where artifacts_allow_standins says so.
Then, unless offline, the preflight over SSH (preflight.py), and from each host a TCP connection to
the repositories it will install from (vendor or mirror).
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ansible_collections.alur.site.plugins.module_utils.network import validate as network_model

from alur import preflight
from alur.exitcodes import ExitCode
from alur.findings import Finding
from alur.inventory import Inventory, InventoryError, Undetermined

if TYPE_CHECKING:
    from alur.ee import ImageInfo

VALIDATE_PLAY = "playbooks/validate.yml"
# Its last task fails the hosts that passed when another did not: the cause is already reported.
VALIDATE_STOP_TASK = "Stop every host when any host failed its checks"
# Ansible's errors about a value that is not there yet (offline), as opposed to a rule's verdict.
_UNKNOWN_OFFLINE = re.compile(r"is undefined|has no attribute")

# The vendor products each role installs from the artifact source. Java comes from Debian except on
# Debian 12, which lacks openjdk-21: there the java role (and so Jenkins and its agents) takes Temurin.
ROLE_PRODUCTS: dict[str, tuple[str, ...]] = {
    "jenkins": ("jenkins",),
    "elasticsearch": ("elastic",),
    "logstash": ("elastic",),
    "kibana": ("elastic",),
    "filebeat": ("elastic",),
}
JAVA_ROLES = {"java", "jenkins"}
REPOSITORIES: dict[str, tuple[str, str]] = {
    "jenkins": ("artifacts_jenkins_repo_url", "the Jenkins apt repository"),
    "elastic": ("artifacts_elastic_repo_url", "the Elastic apt repository"),
    "temurin": ("artifacts_temurin_repo_url", "the Adoptium (Temurin) apt repository"),
}

# A host in the key group needs at least one host in the value group somewhere in the inventory.
PEER_GROUPS: dict[str, tuple[str, str]] = {
    "filebeat": ("logstash", "Filebeat ships to Logstash"),
    "logstash": ("elasticsearch", "Logstash writes to Elasticsearch"),
    "kibana": ("elasticsearch", "Kibana reads from Elasticsearch"),
    "jenkins_agents": ("jenkins", "agents need a Jenkins controller"),
}

_HEAP_VAR = re.compile(r"_heap(_size)?$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.I)
_UNIT_MB = {"": 1, "k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}


@dataclass
class CheckReport:
    inventory: str
    hosts: list[str]
    groups: dict[str, list[str]]
    roles: list[str]
    findings: list[Finding] = field(default_factory=list)
    probes: dict[str, preflight.HostProbe] = field(default_factory=dict)
    needs: dict[str, preflight.HostNeeds] = field(default_factory=dict)
    validated: int = 0  # (host, role) pairs validated against argument_specs
    offline: bool = True

    def of(self, severity: str) -> list[Finding]:
        return [f for f in self.findings if f.severity == severity]

    @property
    def errors(self) -> list[Finding]:
        return self.of("error")

    def exit_code(self) -> ExitCode:
        errors = self.errors
        if not errors:
            return ExitCode.OK
        if all(f.code == "unreachable" for f in errors):
            return ExitCode.HOSTS_UNREACHABLE
        return ExitCode.INVALID_INPUT


# --- schema ----------------------------------------------------------------------------------


def validate_roles(inventory: Inventory, hosts: Iterable[str]) -> tuple[list[Finding], int]:
    """Each host's variables for each of its roles, against the role's argument_specs."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    findings: list[Finding] = []
    undetermined: dict[tuple[str, str], list[str]] = {}
    validated = 0
    for host in hosts:
        for use in inventory.roles_for(host):
            options = use.role.options
            if not options:
                continue
            params: dict[str, Any] = {}
            for name in options:
                if name in use.params:
                    value: Any = use.params[name]
                    try:
                        params[name] = inventory.template(host, value, use.play_index)
                    except Undetermined:
                        undetermined.setdefault((use.role.name, name), []).append(host)
                elif inventory.has(host, name, use.play_index):
                    try:
                        params[name] = inventory.value(host, name, play_index=use.play_index)
                    except Undetermined:
                        undetermined.setdefault((use.role.name, name), []).append(host)
            result = ArgumentSpecValidator(copy.deepcopy(options)).validate(params)
            validated += 1
            for message in result.error_messages:
                findings.append(Finding("error", host, f"role {use.role.name}: {message}", "schema"))
    for (role, name), hosts_of in sorted(undetermined.items()):
        findings.append(
            Finding(
                "note",
                None,
                f"role {role}: {name} depends on facts or lookups on {len(hosts_of)} host(s); "
                "its role validates it at run time",
                "schema",
            )
        )
    return findings, validated


# --- the roles' own rules (the validate play) ------------------------------------------------


def _play_finding(host: str, action: str | None, msg: str) -> list[Finding]:
    if msg.startswith("Task failed:") and _UNKNOWN_OFFLINE.search(msg):
        # Ansible's own error, not a rule's verdict: mostly a value only the run can know (a fact, another
        # host's ansible_host written at `alur lab up`), as validate_roles notes for the argument_specs.
        cause = " ".join(msg.removeprefix("Task failed:").split())
        return [
            Finding(
                "note",
                host,
                f"the roles' rules could not be evaluated offline ({cause}); the run checks them",
                "validate",
            )
        ]
    if action and action.endswith("validate_argument_spec"):
        # "Validation of arguments failed:\n<one line per argument>": the same lines as the schema rule's.
        causes = [line.strip() for line in msg.splitlines()[1:] if line.strip()] or [msg]
        return [Finding("error", host, f"argument_specs: {cause}", "validate") for cause in causes]
    cause = " ".join(msg.split())
    cause = cause.removeprefix(f"{host}: ")
    return [Finding("error", host, cause, "validate")]


def validate_play(
    inventory: Inventory,
    limit: str | None,
    run: Callable[[Any, Callable[[Any], None]], Any] | None = None,
    image: ImageInfo | None = None,
) -> list[Finding]:
    """Run site.yml's validate play against the inventory without contacting a host; its failures as findings.
    With `image` the play runs inside that execution environment.

    The play stops a host at its first failure. Its argument_specs failures say again what validate_roles
    says (in Ansible's words): run_check drops them for the hosts validate_roles already faulted."""
    from alur import runner

    if not (inventory.project / VALIDATE_PLAY).is_file():
        return [Finding("note", None, f"the roles' own rules were not checked: {VALIDATE_PLAY} not found", "validate")]
    from alur.deploy import _fact_cache_env, _runner_dir, in_image

    request = runner.PlaybookRequest(
        project_dir=inventory.project,
        inventory=inventory.path,
        private_data_dir=_runner_dir() / f"check-{time.time_ns()}",
        playbook=VALIDATE_PLAY,
        limit=limit,
        extra_vars=(*inventory.extra_var_args, "alur_validate_offline=true", "ansible_connection=local"),
        vault_args=tuple(inventory.vault.absolute().cli_args()),
        envvars=_fact_cache_env(inventory.project, inventory.path),
    )
    if image is not None:
        request = in_image(image, request)
    failures: list[runner.Event] = []

    def on_event(event: runner.Event) -> None:
        if event.status in {"failed", "item_failed", "unreachable"} and not event.ignore_errors and event.host:
            failures.append(event)

    result = (run or runner.run_playbook)(request, on_event)
    findings: list[Finding] = []
    itemised = {(e.host, e.task) for e in failures if e.status == "item_failed"}
    for event in failures:
        if event.task == VALIDATE_STOP_TASK or event.host is None:
            continue
        if event.status == "failed" and (event.host, event.task) in itemised:
            continue  # "One or more items failed": each item's own message is reported
        findings += _play_finding(event.host, event.action, event.msg or f"task {event.task_label} failed")
    if result.rc != 0 and not findings:
        findings.append(
            Finding(
                "error",
                None,
                f"{VALIDATE_PLAY} failed (rc {result.rc}) without a host failing a check: run `ansible-playbook "
                f"-i {inventory.path} {VALIDATE_PLAY} -e alur_validate_offline=true -e ansible_connection=local` "
                "to see why",
                "validate",
            )
        )
    return findings


# --- cross-host rules ------------------------------------------------------------------------


def _value(inventory: Inventory, host: str, name: str, default: Any = None) -> Any:
    try:
        return inventory.value(host, name, default)
    except Undetermined:
        return default


def duplicate_endpoints(inventory: Inventory) -> list[Finding]:
    """Two inventory hosts reaching the same SSH endpoint: one of them is a copy-paste mistake."""
    seen: dict[str, list[str]] = {}
    for host in inventory.hosts():
        conn = inventory.connection(host)
        if conn.is_local:
            continue
        seen.setdefault(conn.endpoint, []).append(host)
    findings = []
    for endpoint, hosts in sorted(seen.items()):
        if len(hosts) > 1:
            for host in hosts:
                others = ", ".join(h for h in hosts if h != host)
                findings.append(
                    Finding("error", host, f"ansible_host {endpoint} is also the address of {others}", "duplicates")
                )
    return findings


def interfaces_by_host(inventory: Inventory) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = {}
    for host in inventory.hosts():
        value = _value(inventory, host, "network_interfaces")
        if isinstance(value, list):
            result[host] = [item for item in value if isinstance(item, dict)]
    return result


def network_rules(inventory: Inventory) -> list[Finding]:
    """The network model's rules over the whole inventory (the role checks only the hosts of its play)."""
    interfaces = interfaces_by_host(inventory)
    if not interfaces:
        return []
    findings = []
    for line in network_model.validate_inventory(interfaces):
        host, sep, rest = str(line).partition(": ")
        findings.append(Finding("error", host if sep else None, rest if sep else str(line), "network"))
    return findings


def peer_rules(inventory: Inventory) -> list[Finding]:
    groups = inventory.groups()
    findings = []
    for group, (peer, why) in PEER_GROUPS.items():
        if groups.get(group) and not groups.get(peer):
            for host in groups[group]:
                findings.append(
                    Finding("error", host, f"in group {group} but no host is in group {peer} ({why})", "peers")
                )
    return findings


# --- secrets ---------------------------------------------------------------------------------


def secret_rules(inventory: Inventory, hosts: Iterable[str]) -> list[Finding]:
    """Secrets the roles declare (no_log options): a secret a role generates when it is empty (its
    description says "generated") needs a vault password, to be stored encrypted on the controller
    (and read back on the next run); a secret written in plain text in the inventory is a warning."""
    findings = []
    for host in hosts:
        seen: set[tuple[str, str]] = set()
        for use in inventory.roles_for(host):
            missing: list[str] = []
            for name in use.role.secret_options:
                if (use.role.name, name) in seen:
                    continue  # a role applied by several plays (or as a dependency) is checked once
                seen.add((use.role.name, name))
                raw = use.params.get(name, inventory.raw(host, name, use.play_index))
                try:
                    value = inventory.template(host, raw, use.play_index) if raw is not None else None
                except Undetermined:
                    continue  # a lookup (e.g. the password plugin) makes it at run time
                if value in (None, "", [], {}):
                    if name in use.role.generated_secret_options and not inventory.has_vault_secret:
                        missing.append(name)
                    continue
                inventory_raw = inventory.raw(host, name)
                if (
                    inventory.has(host, name)
                    and isinstance(inventory_raw, str)
                    and not inventory.is_vaulted(inventory_raw)
                    and "{{" not in inventory_raw
                ):
                    findings.append(
                        Finding(
                            "warning",
                            host,
                            f"role {use.role.name}: secret {name} is stored in plain text "
                            "(encrypt it with ansible-vault encrypt_string)",
                            "secrets",
                        )
                    )
            if missing:
                findings.append(
                    Finding(
                        "error",
                        host,
                        f"role {use.role.name}: {', '.join(missing)} not set and cannot be generated: no vault "
                        "password to store them encrypted (--vault-password-file or ANSIBLE_VAULT_PASSWORD_FILE)",
                        "secrets",
                    )
                )
    return findings


# --- sizes -----------------------------------------------------------------------------------


def size_mb(value: Any) -> float | None:
    """'512m', '1g' -> megabytes; a number without a unit counts as megabytes; None when not a size."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = _SIZE.match(str(value))
    if not match:
        return None
    return float(match.group(1)) * _UNIT_MB[match.group(2).lower()]


def heap_rules(inventory: Inventory, hosts: Iterable[str], memory_mb: Mapping[str, int | None]) -> list[Finding]:
    findings = []
    for host in hosts:
        heaps: dict[str, float] = {}
        for use in inventory.roles_for(host):
            for name in use.role.options:
                if not _HEAP_VAR.search(name) or name in heaps:
                    continue
                try:
                    size = size_mb(inventory.value(host, name, play_index=use.play_index))
                except Undetermined:
                    continue
                if size:
                    heaps[name] = size
        if not heaps:
            continue
        memory = memory_mb.get(host)
        if memory is None:
            findings.append(
                Finding("note", host, "heap sizes not checked: memory unknown (run without --offline)", "sizes")
            )
            continue
        for name, size in sorted(heaps.items()):
            if size > memory / 2:
                findings.append(
                    Finding(
                        "error",
                        host,
                        f"{name} {size:.0f} MB is over half the host's {memory} MB memory",
                        "sizes",
                    )
                )
        total = sum(heaps.values())
        if len(heaps) > 1 and total > memory * 0.75:
            findings.append(
                Finding(
                    "error",
                    host,
                    f"heaps together ({', '.join(sorted(heaps))}: {total:.0f} MB) leave under a quarter "
                    f"of the {memory} MB memory to the system",
                    "sizes",
                )
            )
    return findings


# --- package sources -------------------------------------------------------------------------


def _artifacts(inventory: Inventory, host: str) -> dict[str, Any]:
    """The host's artifacts settings (artifacts_*, old alur_* names resolved), as its plays will see them."""
    try:
        return inventory.artifacts_settings(host)
    except InventoryError:
        return {}


def host_products(inventory: Inventory, host: str, os_version: str | None) -> set[str]:
    """What the host installs from the artifact source, by the roles site.yml gives it."""
    roles = {use.role.name for use in inventory.roles_for(host)}
    products = {product for role in roles for product in ROLE_PRODUCTS.get(role, ())}
    # Agents are prepared by the jenkins role's tasks (include_role), not listed among a play's roles.
    agent = "jenkins_agents" in inventory.groups_of(host) and "jenkins" in inventory.role_names()
    if (roles & JAVA_ROLES or agent) and os_version == "12":
        products.add("temurin")
    return products


def host_sources(inventory: Inventory, host: str, os_version: str | None) -> list[preflight.Source]:
    """The repositories the host will download from (none for a bundle: the controller copies it)."""
    products = host_products(inventory, host, os_version)
    settings = _artifacts(inventory, host)
    source = settings.get("artifacts_source", "upstream")
    if not products or source not in ("upstream", "mirror"):
        return []
    if source == "mirror":
        url = settings.get("artifacts_mirror_url")
        mirror = preflight.source_of(str(url or ""), "the internal mirror (artifacts_mirror_url)")
        return [mirror] if mirror else []
    found: list[preflight.Source] = []
    for product in sorted(products):
        name, what = REPOSITORIES[product]
        repo = preflight.source_of(str(settings.get(name) or ""), what)
        if repo and repo not in found:
            found.append(repo)
    return found


def bundle_rules(inventory: Inventory, hosts: Iterable[str], project: Path) -> list[Finding]:
    """Hosts installing from a bundle: it exists, and its stand-ins are allowed (tests only)."""
    findings = []
    for host in hosts:
        settings = _artifacts(inventory, host)
        if settings.get("artifacts_source", "upstream") != "bundle" or not host_products(inventory, host, None):
            continue
        folder = str(settings.get("artifacts_bundle_dir") or "")
        manifest = Path(folder) / "manifest.json" if folder else None
        if manifest is None or not manifest.is_file():
            where = f"{folder} holds no manifest.json" if folder else "artifacts_bundle_dir is not set"
            message = f"artifacts_source is bundle but {where}: make one with `alur bundle create`"
            findings.append(Finding("error", host, message, "bundle"))
            continue
        standin = bool(json.loads(manifest.read_text()).get("standin"))
        if standin and not settings.get("artifacts_allow_standins", False):
            message = (
                f"bundle {folder} holds CI stand-in packages, not the vendors' products; "
                "set artifacts_allow_standins: true only to test the roles with them"
            )
            findings.append(Finding("error", host, message, "bundle"))
    return findings


def source_rules(
    inventory: Inventory,
    probes: Mapping[str, preflight.HostProbe],
    project: Path,
    reach_host: Callable[[Any, Sequence[preflight.Source]], dict[str, bool]],
) -> list[Finding]:
    """One line when hosts cannot reach the repositories they would install from, and what to do."""
    wanted = {
        host: host_sources(inventory, host, probe.os_version)
        for host, probe in probes.items()
        if probe.authenticated and not probe.error
    }
    wanted = {host: sources for host, sources in wanted.items() if sources}
    if not wanted:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(wanted))) as pool:
        futures = {host: pool.submit(reach_host, inventory.connection(host), wanted[host]) for host in wanted}
        reached = {host: future.result() for host, future in futures.items()}
    cut: dict[preflight.Source, list[str]] = {}
    for host, sources in wanted.items():
        for source in sources:
            if reached[host].get(source.endpoint) is False:
                cut.setdefault(source, []).append(host)
    if not cut:
        return []
    where = "; ".join(f"{s.endpoint} ({s.what}) from {', '.join(sorted(hosts))}" for s, hosts in sorted(cut.items()))
    message = (
        f"package repositories unreachable: {where}. Deploy from a bundle: `alur bundle create --out DIR -i INVENTORY` "
        "on a machine that reaches them, then `alur lab up --bundle DIR` (the lab) or set "
        "artifacts_source: bundle and artifacts_bundle_dir: DIR"
    )
    return [Finding("error", None, message, "sources")]


# --- the whole check -------------------------------------------------------------------------


def run_check(
    inventory: Inventory,
    offline: bool = False,
    limit: str | None = None,
    probe_host: Callable[[Any], preflight.HostProbe] = preflight.probe,
    reach_host: Callable[[Any, Sequence[preflight.Source]], dict[str, bool]] = preflight.reach,
    run_validate_play: bool = True,
    run_playbook: Callable[[Any, Callable[[Any], None]], Any] | None = None,
    image: ImageInfo | None = None,
) -> CheckReport:
    """Every rule; the preflight only for the hosts `limit` selects (all when None)."""
    targets = inventory.resolve(limit)
    report = CheckReport(
        inventory=str(inventory.path),
        hosts=inventory.hosts(),
        groups=inventory.groups(),
        roles=inventory.role_names(),
        offline=offline,
    )
    if limit and not targets:
        report.findings.append(Finding("error", None, f"--limit {limit} matches no host of the inventory", "limit"))
        return report
    schema, report.validated = validate_roles(inventory, targets)
    report.findings += schema
    if run_validate_play:
        faulted = {f.host for f in schema if f.severity == "error"}
        report.findings += [
            f
            for f in validate_play(inventory, limit, run_playbook, image)
            # An argument_specs failure of a host the schema rule faulted is the same problem, said twice.
            if not (f.host in faulted and f.cause.startswith("argument_specs: "))
        ]
    report.findings += duplicate_endpoints(inventory)
    report.findings += network_rules(inventory)
    report.findings += peer_rules(inventory)
    report.findings += secret_rules(inventory, targets)
    report.findings += bundle_rules(inventory, targets, inventory.project)
    report.needs = {host: preflight.needs_for(inventory.groups_of(host)) for host in targets}
    memory: dict[str, int | None] = {}
    if not offline:
        connections = {host: inventory.connection(host) for host in targets}
        report.probes = preflight.run_all(connections, probe_host)
        for host, probe in report.probes.items():
            report.findings += preflight.evaluate(probe, report.needs[host])
            memory[host] = probe.memory_mb
        report.findings += source_rules(inventory, report.probes, inventory.project, reach_host)
    for host in targets:
        if memory.get(host) is None:
            cached = inventory.facts(host).get("memtotal_mb")
            memory[host] = int(cached) if isinstance(cached, (int, float)) else None
    report.findings += heap_rules(inventory, targets, memory)
    order = {"error": 0, "warning": 1, "note": 2}
    report.findings.sort(key=lambda f: (order.get(f.severity, 3), f.host or "", f.code))
    return report
