"""Run records under the state directory: .alur/runs/<id>/ with

- command.txt   the exact ansible-playbook command line and where to run it, to reproduce the run by hand
- events.jsonl  every event of the run, one JSON object a line (censored)
- summary.json  outcome, per-host recap, slowest tasks, failed and unreachable hosts

Nothing secret goes in: every string is passed through a Censor holding the secret values alur knows
(vaulted values, no_log options, connection passwords) before it is written.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from alur.errors import AlurError
from alur.paths import state_dir
from alur.runner import Event, HostStats

CENSORED = "********"
_ID = re.compile(r"^\d{8}T\d{9}-[0-9a-f]{4}$")


class Censor:
    """Replaces known secret values in text and in JSON-like data."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, CENSORED)
        return value

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value


def runs_dir() -> Path:
    path = state_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def new_run_id() -> str:
    """Sortable by time to the millisecond, unique by its random tail: 20250101T120000123-ab12."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")[:-3] + "-" + os.urandom(2).hex()


@dataclass
class TaskTiming:
    task: str
    host: str
    duration: float


@dataclass
class Summary:
    id: str
    kind: str  # deploy | plan
    inventory: str
    playbook: str
    limit: str | None
    tags: str | None
    check: bool
    started: str
    command: str
    cwd: str
    accelerator: str = ""  # e.g. "Mitogen 0.3.54 (mitogen_linear)" or why the plain strategy ran
    # The execution environment the run went through (image, image_id, ansible_core, python); None: this host.
    execution_environment: dict[str, str] | None = None
    finished: str | None = None
    duration: float | None = None
    status: str = "running"  # running | successful | failed | canceled | timeout
    rc: int | None = None
    exit_code: int | None = None
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed_hosts: list[str] = field(default_factory=list)
    unreachable_hosts: list[str] = field(default_factory=list)
    slowest_tasks: list[dict[str, Any]] = field(default_factory=list)
    changes: dict[str, list[str]] = field(default_factory=dict)  # host -> tasks that changed (or would)
    failures: list[dict[str, str]] = field(default_factory=list)  # host, task, msg
    errors: list[str] = field(default_factory=list)  # ansible-playbook's own [ERROR] lines

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Summary:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def shell_command(command: Sequence[str], cwd: str, env: Mapping[str, str]) -> str:
    """A command line to paste in a shell: `cd DIR && VAR=value ansible-playbook ...`."""
    assignments = [f"{k}={shlex.quote(v)}" for k, v in env.items()]
    return f"cd {shlex.quote(cwd)} && " + " ".join([*assignments, shlex.join(command)])


class RunRecord:
    """The record of one run, written as it happens."""

    def __init__(self, summary: Summary, directory: Path, censor: Censor) -> None:
        self.summary = summary
        self.dir = directory
        self.censor = censor
        self._events: IO[str] | None = None
        self._host_started: dict[str, float] = {}
        self._timings: list[TaskTiming] = []
        self._host_time: dict[str, float] = {}

    @classmethod
    def create(
        cls,
        kind: str,
        inventory: Path,
        playbook: str,
        limit: str | None,
        tags: str | None,
        check: bool,
        command: Sequence[str],
        cwd: str,
        env: Mapping[str, str],
        censor: Censor,
        accelerator: str = "",
        execution_environment: dict[str, str] | None = None,
    ) -> RunRecord:
        run_id = new_run_id()
        directory = runs_dir() / run_id
        directory.mkdir(mode=0o700)
        summary = Summary(
            id=run_id,
            kind=kind,
            inventory=str(inventory.resolve()),
            playbook=playbook,
            limit=limit,
            tags=tags,
            check=check,
            started=datetime.now(UTC).isoformat(timespec="seconds"),
            command=censor.text(shell_command(command, cwd, env)),
            cwd=cwd,
            accelerator=accelerator,
            execution_environment=execution_environment,
        )
        record = cls(summary, directory, censor)
        record.write_command()
        record.write_summary()
        events = os.open(directory / "events.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        record._events = os.fdopen(events, "a", encoding="utf-8")
        return record

    def _write(self, name: str, text: str) -> None:
        path = self.dir / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
            out.write(text)
        tmp.replace(path)

    def write_command(self) -> None:
        self._write("command.txt", self.summary.command + "\n")

    def write_summary(self) -> None:
        self._write("summary.json", json.dumps(self.censor.data(asdict(self.summary)), indent=2) + "\n")

    def set_command(self, command: Sequence[str], cwd: str, env: Mapping[str, str]) -> None:
        """The command line ansible-runner actually ran (identical to the planned one but for runner's order)."""
        self.summary.command = self.censor.text(shell_command(command, cwd, env))
        self.summary.cwd = cwd
        self.write_command()
        self.write_summary()

    def add(self, event: Event) -> None:
        data = self.censor.data({k: v for k, v in asdict(event).items() if v not in (None, "", False)})
        for line in event.stdout.splitlines():
            if line.startswith(("[ERROR]", "ERROR!")) and len(self.summary.errors) < 20:
                self.summary.errors.append(self.censor.text(line.strip()))
        if self._events is not None:
            self._events.write(json.dumps(data) + "\n")
            self._events.flush()
        if event.host and event.status and event.duration is not None:
            self._timings.append(TaskTiming(self.censor.text(event.task_label), event.host, event.duration))
            self._host_time[event.host] = self._host_time.get(event.host, 0.0) + event.duration
        if event.host and event.status in {"ok"} and event.changed:
            self.summary.changes.setdefault(event.host, []).append(self.censor.text(event.task_label))
        if event.host and event.status in {"failed", "unreachable"} and not event.ignore_errors:
            self.summary.failures.append(
                {"host": event.host, "task": event.task_label, "status": event.status, "msg": event.msg or ""}
            )

    def finish(self, status: str, rc: int, exit_code: int, stats: Mapping[str, HostStats], started: float) -> Summary:
        if self._events is not None:
            self._events.close()
            self._events = None
        summary = self.summary
        summary.status = status
        summary.rc = rc
        summary.exit_code = exit_code
        summary.finished = datetime.now(UTC).isoformat(timespec="seconds")
        summary.duration = round(time.monotonic() - started, 2)
        summary.hosts = {
            host: {**asdict(s), "time": round(self._host_time.get(host, 0.0), 2)} for host, s in sorted(stats.items())
        }
        summary.failed_hosts = sorted(h for h, s in stats.items() if s.failed)
        summary.unreachable_hosts = sorted(h for h, s in stats.items() if s.unreachable and not s.failed)
        slowest = sorted(self._timings, key=lambda t: t.duration, reverse=True)[:8]
        summary.slowest_tasks = [asdict(t) | {"duration": round(t.duration, 2)} for t in slowest]
        self.write_summary()
        return summary


def list_runs() -> list[Summary]:
    summaries = []
    for directory in sorted(runs_dir().iterdir(), reverse=True):
        path = directory / "summary.json"
        if directory.is_dir() and path.is_file():
            try:
                summaries.append(Summary.from_json(json.loads(path.read_text())))
            except (ValueError, TypeError):
                continue
    return summaries


def load(run_id: str) -> Summary:
    if not _ID.match(run_id) and run_id != "last":
        raise AlurError(f"no run {run_id!r}: ids look like 20250101T120000123-ab12 (see `alur runs`)")
    if run_id == "last":
        runs = list_runs()
        if not runs:
            raise AlurError("no runs recorded yet")
        return runs[0]
    path = runs_dir() / run_id / "summary.json"
    if not path.is_file():
        raise AlurError(f"no run {run_id!r} (see `alur runs`)")
    return Summary.from_json(json.loads(path.read_text()))


def events(run_id: str) -> list[dict[str, Any]]:
    path = runs_dir() / run_id / "events.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def last_deploy(inventory: Path) -> Summary | None:
    """The most recent finished deploy against this inventory."""
    wanted = str(inventory.resolve())
    for summary in list_runs():
        if summary.kind == "deploy" and summary.inventory == wanted and summary.status != "running":
            return summary
    return None


def retry_hosts(summary: Summary) -> list[str]:
    """Hosts to run again after `summary`: those that failed or were unreachable."""
    return sorted({*summary.failed_hosts, *summary.unreachable_hosts})
