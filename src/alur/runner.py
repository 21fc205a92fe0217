"""The one seam between alur and Ansible's executor: the only module that imports ansible_runner.

Every run is an ordinary `ansible-playbook` of the project's playbook, started from the project
directory; ansible-runner only adds its event callback. What goes in is a PlaybookRequest, what comes
out are plain dataclasses (events, per-host stats, rc), so the rest of alur (and its tests) never
touch ansible-runner's objects.

ansible-runner writes artifacts into its private data dir (the command with the whole environment,
job events, stdout). alur keeps that dir under its state directory, asks runner not to write env
files, event files or stdout files, and removes the dir when the run ends, so nothing it wrote can
hold a secret afterwards; alur's own run record (runs.py) keeps the censored events instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alur.ee import Container

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

# Event kinds ansible-runner reports per host and task, mapped to one word.
_RESULT_STATUS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
    "runner_item_on_failed": "item_failed",
}


@dataclass(frozen=True)
class PlaybookRequest:
    """What to run: the same knobs as ansible-playbook's command line."""

    project_dir: Path
    inventory: Path
    private_data_dir: Path
    playbook: str = "site.yml"
    limit: str | None = None
    tags: str | None = None
    skip_tags: str | None = None
    check: bool = False
    diff: bool = False
    extra_vars: tuple[str, ...] = ()  # as given to -e: "@file.yml", "k=v", or YAML/JSON
    vault_args: tuple[str, ...] = ()  # --vault-password-file F / --vault-id ID
    forks: int | None = None
    verbosity: int = 0
    # Environment only for the run (e.g. ANSIBLE_HOST_KEY_CHECKING, which runner would otherwise turn off).
    envvars: Mapping[str, str] = field(default_factory=dict)
    # Run inside an execution environment (ansible-runner's process isolation with podman), not on this host.
    container: Container | None = None

    def options(self) -> list[str]:
        """Options that go before runner's own (-i, --limit, --tags, playbook)."""
        args: list[str] = []
        if self.check:
            args.append("--check")
        if self.diff:
            args.append("--diff")
        for value in self.extra_vars:
            args += ["-e", value]
        args += list(self.vault_args)
        if self.skip_tags:
            args += ["--skip-tags", self.skip_tags]
        if self.forks:
            args += ["--forks", str(self.forks)]
        if self.verbosity:
            args.append("-" + "v" * self.verbosity)
        return args


def command_line(request: PlaybookRequest) -> list[str]:
    """The ansible-playbook command line ansible-runner builds for this request (its argument order)."""
    command = ["ansible-playbook", *request.options(), "-i", str(request.inventory.resolve())]
    if request.limit:
        command += ["--limit", request.limit]
    if request.tags:
        command += ["--tags", request.tags]
    command.append(request.playbook)
    return command


@dataclass
class Event:
    """One Ansible event, reduced to what alur shows and records."""

    counter: int
    kind: str  # runner's event name: playbook_on_play_start, runner_on_ok, ...
    created: str = ""
    play: str | None = None
    task: str | None = None
    role: str | None = None
    action: str | None = None
    host: str | None = None
    status: str | None = None  # ok | failed | unreachable | skipped | item_failed (host results only)
    changed: bool = False
    ignore_errors: bool = False
    duration: float | None = None
    msg: str | None = None
    stdout: str = ""
    stats: dict[str, dict[str, int]] | None = None  # playbook_on_stats only

    @property
    def task_label(self) -> str:
        if self.role and self.task and not self.task.startswith(f"{self.role} : "):
            return f"{self.role} : {self.task}"
        return self.task or ""


@dataclass
class HostStats:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


@dataclass
class RunResult:
    rc: int
    status: str  # successful | failed | canceled | timeout
    command: list[str]
    cwd: str
    stats: dict[str, HostStats]
    duration: float
    events: int


def _message(result: Mapping[str, Any]) -> str | None:
    """A failed or unreachable result's reason, short. no_log results arrive already censored."""
    for key in ("msg", "reason", "stderr", "module_stderr"):
        value = result.get(key)
        if value:
            text = str(value).strip()
            return text if len(text) <= 2000 else text[:2000] + " ..."
    if result.get("censored"):
        return str(result["censored"])
    return None


def event_from_runner(data: Mapping[str, Any]) -> Event:
    """A plain Event from one of ansible-runner's event dicts."""
    kind = str(data.get("event", ""))
    event_data: Mapping[str, Any] = data.get("event_data") or {}
    event = Event(
        counter=int(data.get("counter", 0) or 0),
        kind=kind,
        created=str(data.get("created", "")),
        play=event_data.get("play"),
        task=event_data.get("task"),
        role=event_data.get("role"),
        action=event_data.get("resolved_action") or event_data.get("task_action"),
        host=event_data.get("host"),
        stdout=_ANSI.sub("", str(data.get("stdout") or "")).replace("\r\n", "\n"),
    )
    if kind == "playbook_on_play_start":
        event.play = event_data.get("name") or event_data.get("play")
    if kind in _RESULT_STATUS:
        result: Mapping[str, Any] = event_data.get("res") or {}
        event.status = _RESULT_STATUS[kind]
        if isinstance(result, Mapping) and "changed" in result:
            event.changed = bool(result["changed"])
        else:
            # no_log results arrive censored, without "changed": ansible's own display line still says it.
            event.changed = any(line.startswith("changed: [") for line in event.stdout.splitlines())
        event.ignore_errors = bool(event_data.get("ignore_errors"))
        duration = event_data.get("duration")
        event.duration = float(duration) if duration is not None else None
        if event.status in {"failed", "unreachable", "item_failed"} and isinstance(result, Mapping):
            event.msg = _message(result)
    if kind == "playbook_on_stats":
        counts: dict[str, dict[str, int]] = {}
        for runner_key, ours in (
            ("ok", "ok"),
            ("changed", "changed"),
            ("failures", "failed"),
            ("dark", "unreachable"),
            ("skipped", "skipped"),
            ("rescued", "rescued"),
            ("ignored", "ignored"),
            ("processed", "processed"),
        ):
            for host, count in (event_data.get(runner_key) or {}).items():
                counts.setdefault(host, {})[ours] = int(count)
        event.stats = counts
    return event


def stats_from(counts: Mapping[str, Mapping[str, int]]) -> dict[str, HostStats]:
    return {
        host: HostStats(**{k: v for k, v in values.items() if k in HostStats.__dataclass_fields__})
        for host, values in counts.items()
    }


def run_playbook(
    request: PlaybookRequest,
    on_event: Callable[[Event], None],
    cancel: Callable[[], bool] | None = None,
) -> RunResult:
    """Run the playbook through ansible_runner.run_async, calling on_event for every event as it happens."""
    import ansible_runner

    private = request.private_data_dir
    private.mkdir(parents=True, exist_ok=True, mode=0o700)
    final_stats: dict[str, dict[str, int]] = {}
    count = 0
    lock = threading.Lock()

    def handle(data: dict[str, Any]) -> bool:
        nonlocal count, final_stats
        event = event_from_runner(data)
        with lock:
            count += 1
            if event.stats is not None:
                final_stats = event.stats
        on_event(event)
        return False  # alur records events itself: runner must not write job_events files

    interrupted = threading.Event()
    finished = threading.Event()

    def should_cancel() -> bool:
        return interrupted.is_set() or bool(cancel and cancel())

    started = time.monotonic()
    try:
        common: dict[str, Any] = dict(
            private_data_dir=str(private),
            envvars=dict(request.envvars),
            # Keep the project's own fact cache (ansible.cfg): runner's default points it into its artifacts.
            fact_cache_type="none",
            suppress_env_files=True,
            settings={"suppress_output_file": True, "pexpect_timeout": 1},
            quiet=True,
            event_handler=handle,
            cancel_callback=should_cancel,
            finished_callback=lambda _runner: finished.set(),
        )
        if request.container is None:
            thread, runner = ansible_runner.run_async(
                project_dir=str(request.project_dir),
                playbook=request.playbook,
                inventory=str(request.inventory.resolve()),
                limit=request.limit,
                tags=request.tags,
                cmdline=shlex.join(request.options()) or None,
                **common,
            )
        else:
            # As ansible-navigator does: the ansible-playbook command line, run by `podman run` of the image in
            # the project folder, which runner mounts at its own path with the inventory and vault files.
            from alur.podman import podman_env

            box = request.container
            common["envvars"].update(box.env)
            # runner starts podman with this process's environment: it needs alur's containers.conf, if any.
            os.environ.update({k: v for k, v in podman_env().items() if k == "CONTAINERS_CONF"})
            thread, runner = ansible_runner.run_command_async(
                executable_cmd="ansible-playbook",
                cmdline_args=command_line(request)[1:],
                host_cwd=str(request.project_dir),
                process_isolation=True,
                process_isolation_executable="podman",
                container_image=box.info.image,
                container_volume_mounts=list(box.mounts),
                container_options=list(box.options),
                **common,
            )
        # Wait on an Event, not on thread.join(): a join interrupted by Ctrl-C can leave is_alive()
        # answering False while the thread still runs (CPython before 3.13).
        while not finished.is_set() and thread.is_alive():
            try:
                finished.wait(0.2)
            except KeyboardInterrupt:
                # Ctrl-C: runner stops ansible-playbook (it runs in its own pty session) and returns.
                interrupted.set()
        thread.join()
        if request.container is not None:
            command = command_line(request)  # runner's is the podman command, with a file it removes at the end
        else:
            command = [str(arg) for arg in (runner.config.command or command_line(request))]
        cwd = str(runner.config.cwd)
        rc = runner.rc if runner.rc is not None else 1
        # Anything but runner's final states means its thread died (e.g. output went to a closed pipe).
        status = str(runner.status) if runner.status in {"successful", "failed", "canceled", "timeout"} else "error"
    finally:
        # Runner's artifacts include the environment of this process: never leave them behind.
        with contextlib.suppress(OSError):
            shutil.rmtree(private)
    return RunResult(
        rc=int(rc),
        status=status,
        command=command,
        cwd=cwd,
        stats=stats_from(final_stats),
        duration=time.monotonic() - started,
        events=count,
    )


_SECRET_ENV = re.compile(r"PASS|SECRET|TOKEN|_KEY$")


def user_environment() -> dict[str, str]:
    """The ANSIBLE_* variables of this process's environment: part of how to reproduce a run by hand.
    Those that may hold a secret themselves (not a file name) are left out."""
    return {
        k: v
        for k, v in sorted(os.environ.items())
        if k.startswith("ANSIBLE_") and (k.endswith("_FILE") or not _SECRET_ENV.search(k))
    }
