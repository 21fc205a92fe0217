"""Everything alur prints: check results, live deploy progress, recaps, runs, status. rich renders
tables; on a terminal the deploy progress is a live view, otherwise one plain line per event."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from alur import preflight
from alur.check import CheckReport
from alur.runner import Event
from alur.runs import Censor, Summary
from alur.status import StatusReport

STATE_STYLE = {
    "ok": "green",
    "changed": "yellow",
    "failed": "bold red",
    "unreachable": "bold magenta",
    "skipped": "cyan",
    "running": "blue",
    "waiting": "dim",
    "done": "green",
}
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "note": "dim"}


def _mark(ok: bool | None, text: str = "") -> Text:
    if ok is None:
        return Text(text or "-", style="dim")
    return Text(text or ("ok" if ok else "FAIL"), style="green" if ok else "bold red")


# --- check -----------------------------------------------------------------------------------


def print_check(console: Console, report: CheckReport, censor: Censor) -> None:
    console.print(
        f"inventory {report.inventory}: {len(report.hosts)} hosts, {len(report.groups)} groups; "
        f"roles {', '.join(report.roles) or '-'}; {report.validated} host/role variable sets checked "
        "against argument_specs"
    )
    if report.probes:
        table = Table(title="preflight (SSH)", title_justify="left")
        for column in ("host", "endpoint", "ssh", "become", "python", "OS", "memory", "disk", "ports", "clock"):
            table.add_column(column)
        for host, probe in report.probes.items():
            table.add_row(*_probe_row(host, probe, report.needs[host]))
        console.print(table)
    for finding in report.findings:
        console.print(
            Text(f"{finding.severity:7} ", style=SEVERITY_STYLE.get(finding.severity, ""))
            + Text(censor.text(finding.line())),
            soft_wrap=True,
        )
    errors, warnings = len(report.errors), len(report.of("warning"))
    verdict = "ok" if not errors else "FAILED"
    style = "bold green" if not errors else "bold red"
    scope = "offline" if report.offline else "with preflight"
    console.print(Text(f"check {verdict} ({scope}): {errors} error(s), {warnings} warning(s)", style=style))


def _probe_row(host: str, probe: preflight.HostProbe, needs: preflight.HostNeeds) -> list[Text | str]:
    if probe.skipped:
        return [host, probe.endpoint, Text("skipped", style="dim"), *[""] * 7]
    if not probe.authenticated:
        state = "unreachable" if probe.error_kind == "unreachable" else probe.error_kind or "error"
        return [host, probe.endpoint, _mark(False, state), *[Text("-", style="dim")] * 7]
    python_ok = probe.python is not None and preflight.python_ok(probe.python)
    os_ok = probe.os_id == "debian" and probe.os_version in preflight.SUPPORTED_DEBIAN
    os_text = f"{(probe.os_id or '?').capitalize()} {probe.os_version or '?'}"
    memory_ok = None if probe.memory_mb is None else probe.memory_mb >= needs.memory_mb
    disk_ok = None if probe.disk_free_mb is None else probe.disk_free_mb >= needs.disk_mb
    ports = preflight.ports_state(probe, needs)
    clock = "-" if probe.clock_skew is None else f"{probe.clock_skew:+.2f}s"
    clock_ok = None if probe.clock_skew is None else abs(probe.clock_skew) <= preflight.CLOCK_SKEW_WARN
    return [
        host,
        probe.endpoint,
        _mark(True),
        _mark(probe.become, "sudo" if probe.become else ("FAIL" if probe.become is False else "-")),
        _mark(python_ok, probe.python or "missing"),
        _mark(os_ok, os_text),
        _mark(memory_ok, f"{_gib(probe.memory_mb)} ≥ {_gib(needs.memory_mb)}"),
        _mark(disk_ok, f"{_gib(probe.disk_free_mb)} ≥ {_gib(needs.disk_mb)}"),
        _mark(None if ports == "-" else "busy" not in ports, ports),
        _mark(clock_ok, clock),
    ]


def _gib(mb: int | None) -> str:
    return "?" if mb is None else f"{mb / 1024:.1f}G"


# --- live progress ---------------------------------------------------------------------------


@dataclass
class _HostLine:
    state: str = "waiting"
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0


class RunProgress:
    """Follows a run's events: a live view on a terminal, plain lines elsewhere."""

    def __init__(self, console: Console, hosts: Sequence[str], censor: Censor, live: bool | None = None) -> None:
        self.console = console
        self.censor = censor
        self.live_mode = console.is_terminal if live is None else live
        self.hosts = {h: _HostLine() for h in hosts}
        self.play = ""
        self.task = ""
        self.task_number = 0
        self.done: set[str] = set()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self._bar_task = self._bar.add_task("hosts", total=max(1, len(hosts)))
        self._live: Live | None = None

    def __enter__(self) -> RunProgress:
        if self.live_mode:
            self._live = Live(self._render(), console=self.console, refresh_per_second=8, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def _active(self) -> list[str]:
        return [h for h, line in self.hosts.items() if line.state not in {"failed", "unreachable"}]

    def handle(self, event: Event) -> None:
        with self._lock:
            self._apply(event)
            if self._live is not None:
                self._live.update(self._render())

    def _apply(self, event: Event) -> None:
        if event.kind == "playbook_on_play_start":
            self.play = event.play or ""
            self._plain(f"PLAY [{self.play}]", "bold")
        elif event.kind in {"playbook_on_task_start", "playbook_on_handler_task_start"}:
            self.task = self.censor.text(event.task_label)
            self.task_number += 1
            self.done = set()
            self._bar.update(self._bar_task, completed=0, total=max(1, len(self._active())))
            self._plain(f"TASK [{self.task}]", "bold")
        elif event.kind == "runner_on_start" and event.host:
            line = self.hosts.setdefault(event.host, _HostLine())
            if line.state not in {"failed", "unreachable"}:
                line.state = "running"
        elif event.host and event.status in {"ok", "failed", "unreachable", "skipped"}:
            line = self.hosts.setdefault(event.host, _HostLine())
            status = event.status
            if status == "failed" and event.ignore_errors:
                status = "ok"
            if status == "ok" and event.changed:
                line.changed += 1
                state = "changed"
            else:
                state = status
            if status == "ok":
                line.ok += 1
            elif status == "failed":
                line.failed += 1
            elif status == "unreachable":
                line.unreachable += 1
            else:
                line.skipped += 1
            line.state = state if status in {"failed", "unreachable"} else "done"
            self.done.add(event.host)
            self._bar.update(self._bar_task, completed=len(self.done))
            if status != "skipped":
                took = f" ({event.duration:.1f}s)" if event.duration is not None else ""
                failed = event.msg and status in {"failed", "unreachable"}
                message = f": {self.censor.text(event.msg or '')}" if failed else ""
                self._plain(f"  {event.host}: {state}{took}{message}", STATE_STYLE.get(state, ""))
        elif event.kind == "playbook_on_stats":
            for line in self.hosts.values():
                if line.state in {"done", "running", "waiting"}:
                    line.state = "done"

    def _plain(self, text: str, style: str = "") -> None:
        if self._live is None:
            self.console.print(Text(text, style=style), highlight=False)

    def _render(self) -> Group:
        table = Table("host", "state", "ok", "changed", "failed", "unreachable", "skipped", box=None, pad_edge=False)
        for host, line in sorted(self.hosts.items()):
            table.add_row(
                host,
                Text(line.state, style=STATE_STYLE.get(line.state, "")),
                str(line.ok),
                str(line.changed),
                str(line.failed),
                str(line.unreachable),
                str(line.skipped),
            )
        header = Text.assemble(
            ("PLAY ", "bold"), self.play, "\n", ("TASK ", "bold"), f"#{self.task_number} {self.task}"
        )
        return Group(header, self._bar, table)


# --- recaps ----------------------------------------------------------------------------------


def recap_table(summary: Summary) -> Table:
    table = Table(title=f"recap ({summary.kind} {summary.id})", title_justify="left")
    for column in ("host", "ok", "changed", "failed", "unreachable", "skipped", "time"):
        table.add_column(column, justify="left" if column == "host" else "right")
    for host, stats in summary.hosts.items():
        style = "bold red" if stats.get("failed") else ("magenta" if stats.get("unreachable") else "")
        table.add_row(
            Text(host, style=style),
            str(stats.get("ok", 0)),
            Text(str(stats.get("changed", 0)), style="yellow" if stats.get("changed") else ""),
            Text(str(stats.get("failed", 0)), style="bold red" if stats.get("failed") else ""),
            Text(str(stats.get("unreachable", 0)), style="magenta" if stats.get("unreachable") else ""),
            str(stats.get("skipped", 0)),
            f"{stats.get('time', 0):.1f}s",
        )
    return table


def print_recap(console: Console, summary: Summary, exit_code: int) -> None:
    console.print(recap_table(summary))
    if summary.slowest_tasks:
        slow = Table(title="slowest tasks", title_justify="left")
        slow.add_column("task")
        slow.add_column("host")
        slow.add_column("time", justify="right")
        for item in summary.slowest_tasks[:5]:
            slow.add_row(item["task"], item["host"], f"{item['duration']:.1f}s")
        console.print(slow)
    print_failures(console, summary)
    console.print(Text("same run by hand: ", style="dim") + Text(summary.command), soft_wrap=True)
    duration = f"{summary.duration:.1f}s" if summary.duration is not None else "?"
    style = "bold green" if exit_code == 0 else "bold red"
    verdict = f"{summary.kind} {summary.status} in {duration} (exit {exit_code})"
    console.print(Text(f"{verdict}; record: alur runs show {summary.id}", style=style))


def print_failures(console: Console, summary: Summary) -> None:
    for error in summary.errors:
        console.print(Text("ansible-playbook: ", style="bold red") + Text(error), soft_wrap=True)
    for failure in summary.failures:
        console.print(
            Text(f"{failure['status']:11} ", style="bold red")
            + Text(f"{failure['host']}: {failure['task']}: {failure['msg']}".rstrip(": "))
        )
    if summary.unreachable_hosts or summary.failed_hosts:
        console.print(Text("retry only those hosts: alur deploy -i INVENTORY --retry-failed", style="dim"))


def print_plan(console: Console, summary: Summary) -> None:
    table = Table(title=f"plan (check mode, {summary.id}): what a deploy would change", title_justify="left")
    table.add_column("host")
    table.add_column("changes", justify="right")
    table.add_column("tasks that would change")
    for host, stats in summary.hosts.items():
        tasks = summary.changes.get(host, [])
        state = "unreachable" if stats.get("unreachable") else ("failed" if stats.get("failed") else "")
        table.add_row(host, str(len(tasks)), "\n".join(tasks) or Text(state or "nothing", style="dim"))
    console.print(table)
    changing = [h for h in summary.hosts if summary.changes.get(h)]
    print_failures(console, summary)
    console.print(Text("same run by hand: ", style="dim") + Text(summary.command), soft_wrap=True)
    console.print(
        f"{len(changing)} of {len(summary.hosts)} host(s) would change"
        + (f": {', '.join(changing)}" if changing else "")
    )


# --- runs ------------------------------------------------------------------------------------


def print_runs(console: Console, summaries: Iterable[Summary]) -> None:
    table = Table("id", "kind", "started", "took", "result", "hosts", "failed/unreachable", "inventory")
    for s in summaries:
        took = f"{s.duration:.0f}s" if s.duration is not None else "-"
        bad = ", ".join([*s.failed_hosts, *s.unreachable_hosts]) or "-"
        style = STATE_STYLE.get("ok" if s.status == "successful" else "failed", "")
        table.add_row(s.id, s.kind, s.started, took, Text(s.status, style=style), str(len(s.hosts)), bad, s.inventory)
    console.print(table)


def print_run(console: Console, summary: Summary, events: Sequence[dict[str, Any]] | None) -> None:
    console.print(f"run {summary.id}: {summary.kind} of {summary.inventory}")
    console.print(
        f"started {summary.started}, finished {summary.finished or '-'}, status {summary.status}, "
        f"exit {summary.exit_code}"
    )
    if summary.limit or summary.tags:
        console.print(f"limit {summary.limit or '-'}, tags {summary.tags or '-'}")
    if summary.accelerator:
        console.print(f"ran with {summary.accelerator}")
    box = summary.execution_environment
    if box:
        console.print(f"inside {box['image']} (ansible-core {box['ansible_core']}, Python {box['python']})")
    console.print(recap_table(summary))
    if summary.kind == "plan":
        for host, tasks in summary.changes.items():
            console.print(f"{host} would change: {'; '.join(tasks)}")
    print_failures(console, summary)
    console.print(Text("command: ", style="dim") + Text(summary.command), soft_wrap=True)
    if events is not None:
        for event in events:
            text = event.get("stdout")
            if text:
                console.print(Text(text.replace("\r\n", "\n")), highlight=False)


# --- status ----------------------------------------------------------------------------------


def print_status(console: Console, report: StatusReport) -> None:
    hosts = Table(title="hosts", title_justify="left")
    for column in ("host", "reachable", "groups", "addresses"):
        hosts.add_column(column)
    for host in report.hosts:
        hosts.add_row(
            host.name,
            _mark(host.reachable, "yes" if host.reachable else f"no: {host.error}"),
            ", ".join(host.groups) or "-",
            "\n".join(f"{a.interface} {a.cidr}" for a in host.addresses) or "-",
        )
    console.print(hosts)
    services = Table(title="services", title_justify="left")
    for column in ("host", "service", "up", "version", "URL", "detail"):
        services.add_column(column)
    for host in report.hosts:
        for service in host.services:
            services.add_row(
                host.name,
                service.name,
                _mark(service.up, "up" if service.up else ("?" if service.up is None else "DOWN")),
                service.version or "-",
                service.url or "-",
                service.detail or "",
            )
    console.print(services)
    verdict = "healthy" if report.healthy else "NOT healthy"
    console.print(Text(f"status: {verdict}", style="bold green" if report.healthy else "bold red"))
