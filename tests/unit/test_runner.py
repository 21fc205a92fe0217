"""The runner seam: the command line it builds, the events it hands on, what it asks ansible-runner for,
and that nothing ansible-runner writes outlives the run."""

from __future__ import annotations

import shlex
import sys
import threading
import types
from pathlib import Path
from typing import Any

import pytest

from alur import runner
from alur.runner import PlaybookRequest


def request(tmp_path: Path, **changes: Any) -> PlaybookRequest:
    values: dict[str, Any] = {
        "project_dir": tmp_path,
        "inventory": tmp_path / "inventory",
        "private_data_dir": tmp_path / "state" / "runner" / "x",
    }
    values.update(changes)
    return PlaybookRequest(**values)


def test_command_line_is_ansible_playbooks_own(tmp_path: Path) -> None:
    req = request(
        tmp_path,
        limit="app1,app2",
        tags="common",
        skip_tags="slow",
        check=True,
        diff=True,
        extra_vars=("@vars.yml",),
        vault_args=("--vault-password-file", "pw.txt"),
        forks=8,
        verbosity=2,
    )
    assert runner.command_line(req) == [
        "ansible-playbook",
        "--check",
        "--diff",
        "-e",
        "@vars.yml",
        "--vault-password-file",
        "pw.txt",
        "--skip-tags",
        "slow",
        "--forks",
        "8",
        "-vv",
        "-i",
        str((tmp_path / "inventory").resolve()),
        "--limit",
        "app1,app2",
        "--tags",
        "common",
        "site.yml",
    ]
    assert runner.command_line(request(tmp_path)) == [
        "ansible-playbook",
        "-i",
        str((tmp_path / "inventory").resolve()),
        "site.yml",
    ]


def runner_event(kind: str, counter: int = 1, **event_data: Any) -> dict[str, Any]:
    return {"event": kind, "counter": counter, "created": "2025-01-01T00:00:00", "stdout": "", "event_data": event_data}


def test_host_results_become_plain_events() -> None:
    ok = runner.event_from_runner(
        runner_event(
            "runner_on_ok", host="app1", task="Install", role="common", play="Base", duration=1.5, res={"changed": True}
        )
    )
    assert (ok.status, ok.changed, ok.duration, ok.task_label) == ("ok", True, 1.5, "common : Install")
    failed = runner.event_from_runner(
        runner_event("runner_on_failed", host="app2", task="x", res={"msg": "boom", "changed": False})
    )
    assert (failed.status, failed.msg) == ("failed", "boom")
    dark = runner.event_from_runner(runner_event("runner_on_unreachable", host="app2", res={"msg": "no route"}))
    assert (dark.status, dark.msg) == ("unreachable", "no route")
    censored = runner.event_from_runner(
        runner_event("runner_on_failed", host="h", res={"censored": "the output has been hidden"})
    )
    assert censored.msg == "the output has been hidden"
    hidden = runner.event_from_runner(
        {
            "event": "runner_on_ok",
            "counter": 4,
            "stdout": "\r\nTASK [app : Write the secret] ***\r\nchanged: [h]",
            "event_data": {"host": "h", "res": {"censored": "the output has been hidden"}},
        }
    )
    assert hidden.changed  # no_log results lose "changed"; ansible's own line still says it
    colour = runner.event_from_runner({"event": "verbose", "counter": 3, "stdout": "\x1b[0;32mok: [h]\x1b[0m"})
    assert colour.stdout == "ok: [h]"


def test_stats_are_mapped_to_recap_columns() -> None:
    event = runner.event_from_runner(
        runner_event(
            "playbook_on_stats",
            ok={"a": 3, "b": 1},
            changed={"a": 1},
            failures={"b": 1},
            dark={"c": 1},
            skipped={"a": 2},
            processed={"a": 1, "b": 1, "c": 1},
        )
    )
    stats = runner.stats_from(event.stats or {})
    assert stats["a"] == runner.HostStats(ok=3, changed=1, skipped=2)
    assert stats["b"] == runner.HostStats(ok=1, failed=1)
    assert stats["c"] == runner.HostStats(unreachable=1)


class FakeRunner:
    """What run_async returns: a thread and a runner object whose config names the command."""

    def __init__(self, kwargs: dict[str, Any], events: list[dict[str, Any]]) -> None:
        self.kwargs = kwargs
        self.events = events
        self.rc: int | None = None
        self.status = "starting"
        self.written: list[bool] = []
        command = ["ansible-playbook", *shlex.split(kwargs["cmdline"] or ""), "-i", kwargs["inventory"]]
        self.config = types.SimpleNamespace(command=[*command, kwargs["playbook"]], cwd=kwargs["project_dir"])

    def run(self) -> None:
        artifacts = Path(self.kwargs["private_data_dir"]) / "artifacts" / "ident"
        artifacts.mkdir(parents=True)
        (artifacts / "command").write_text('{"env": {"SECRET": "leaks"}}')
        for event in self.events:
            self.written.append(self.kwargs["event_handler"](event))
        self.rc, self.status = 2, "failed"


def fake_ansible_runner(monkeypatch: pytest.MonkeyPatch, events: list[dict[str, Any]]) -> list[FakeRunner]:
    made: list[FakeRunner] = []

    def run_async(**kwargs: Any) -> tuple[threading.Thread, FakeRunner]:
        fake = FakeRunner(kwargs, events)
        made.append(fake)
        thread = threading.Thread(target=fake.run)
        thread.start()
        return thread, fake

    monkeypatch.setitem(sys.modules, "ansible_runner", types.SimpleNamespace(run_async=run_async))
    return made


def test_run_playbook_asks_runner_to_write_nothing_and_removes_its_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [
        runner_event("playbook_on_start", 1),
        runner_event("runner_on_failed", 2, host="h1", task="t", res={"msg": "no"}),
        runner_event("playbook_on_stats", 3, ok={"h1": 1}, failures={"h1": 1}),
    ]
    made = fake_ansible_runner(monkeypatch, events)
    seen: list[runner.Event] = []
    req = request(tmp_path, limit="h1", check=True, envvars={"ANSIBLE_HOST_KEY_CHECKING": "True"})
    result = runner.run_playbook(req, seen.append)

    kwargs = made[0].kwargs
    assert kwargs["suppress_env_files"] is True
    assert kwargs["fact_cache_type"] != "jsonfile"  # the project's fact cache, not one in runner's artifacts
    assert kwargs["settings"]["suppress_output_file"] is True
    assert kwargs["envvars"] == {"ANSIBLE_HOST_KEY_CHECKING": "True"}
    assert (kwargs["limit"], kwargs["cmdline"], kwargs["playbook"]) == ("h1", "--check", "site.yml")
    assert made[0].written == [False, False, False]  # runner must not write job_events files
    assert not req.private_data_dir.exists()

    assert [e.kind for e in seen] == ["playbook_on_start", "runner_on_failed", "playbook_on_stats"]
    assert (result.rc, result.status, result.events) == (2, "failed", 3)
    assert result.stats == {"h1": runner.HostStats(ok=1, failed=1)}
    assert result.command[0] == "ansible-playbook" and "--check" in result.command


def test_user_environment_is_the_ansible_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSIBLE_FORKS", "3")
    monkeypatch.setenv("UNRELATED", "x")
    env = runner.user_environment()
    assert env["ANSIBLE_FORKS"] == "3" and "UNRELATED" not in env


def test_a_cancel_request_reaches_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def run_async(**kwargs: Any) -> tuple[threading.Thread, Any]:
        fake = types.SimpleNamespace(rc=None, status="running", config=types.SimpleNamespace(command=None, cwd="/p"))

        def run() -> None:
            while not kwargs["cancel_callback"]():  # runner polls this between reads of the output
                pass
            fake.rc, fake.status = 254, "canceled"
            kwargs["finished_callback"](fake)

        thread = threading.Thread(target=run)
        thread.start()
        return thread, fake

    monkeypatch.setitem(sys.modules, "ansible_runner", types.SimpleNamespace(run_async=run_async))
    result = runner.run_playbook(request(tmp_path), lambda event: None, cancel=lambda: True)
    assert (result.status, result.rc) == ("canceled", 254)
    assert result.command[0] == "ansible-playbook"  # runner built none: alur's own equivalent
