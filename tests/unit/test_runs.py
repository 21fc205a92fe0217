"""Run records: what they hold, that they hold no secret, and how the last deploy is found again."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from alur import runs
from alur.errors import AlurError
from alur.runner import Event, HostStats

SECRET = "hunter2-very-secret"  # noqa: S105 - the value the records must not hold


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALUR_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def create(inventory: Path, kind: str = "deploy", censor: runs.Censor | None = None) -> runs.RunRecord:
    return runs.RunRecord.create(
        kind=kind,
        inventory=inventory,
        playbook="site.yml",
        limit=None,
        tags=None,
        check=kind == "plan",
        command=["ansible-playbook", "-e", f"token={SECRET}", "-i", str(inventory), "site.yml"],
        cwd="/project",
        env={"ANSIBLE_CONFIG": "/project/ansible.cfg"},
        censor=censor or runs.Censor([SECRET]),
    )


def result(host: str, status: str, task: str = "t", changed: bool = False, msg: str | None = None) -> Event:
    return Event(counter=1, kind=f"runner_on_{status}", host=host, task=task, role="r", status=status,
                 changed=changed, duration=1.25, msg=msg, stdout=f"{status}: [{host}] {msg or ''}")  # fmt: skip


def test_censor_replaces_every_known_secret() -> None:
    censor = runs.Censor(["abc123", "abc123-longer", ""])
    assert censor.text("x abc123-longer y abc123") == "x ******** y ********"
    assert censor.data({"a": ["abc123", 5], "b": {"c": "abc123"}}) == {"a": ["********", 5], "b": {"c": "********"}}


def test_a_record_holds_command_events_and_summary_without_secrets(tmp_path: Path, state: Path) -> None:
    record = create(tmp_path / "inv")
    record.add(result("h1", "ok", "Install", changed=True))
    record.add(result("h2", "failed", "Configure", msg=f"password {SECRET} rejected"))
    summary = record.finish("failed", 2, 4, {"h1": HostStats(ok=1, changed=1), "h2": HostStats(failed=1)}, started=0.0)
    directory = state / "runs" / summary.id
    assert sorted(p.name for p in directory.iterdir()) == ["command.txt", "events.jsonl", "summary.json"]
    for path in directory.iterdir():
        assert SECRET not in path.read_text()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    command = (directory / "command.txt").read_text()
    assert command.startswith(
        "cd /project && ANSIBLE_CONFIG=/project/ansible.cfg ansible-playbook -e token=******** -i"
    )
    saved = json.loads((directory / "summary.json").read_text())
    assert saved["failed_hosts"] == ["h2"] and saved["exit_code"] == 4
    assert saved["hosts"]["h1"] == {"ok": 1, "changed": 1, "failed": 0, "unreachable": 0, "skipped": 0,
                                    "rescued": 0, "ignored": 0, "time": 1.25}  # fmt: skip
    assert saved["changes"] == {"h1": ["r : Install"]}
    assert saved["failures"] == [{"host": "h2", "task": "r : Configure", "status": "failed",
                                  "msg": "password ******** rejected"}]  # fmt: skip
    events = runs.events(summary.id)
    assert [e["status"] for e in events] == ["ok", "failed"]


def test_runs_are_listed_newest_first_and_loaded_by_id_or_last(tmp_path: Path) -> None:
    first = create(tmp_path / "inv")
    first.summary.id, first.dir = (
        "20250101T000000000-aaaa",
        first.dir.rename(first.dir.parent / "20250101T000000000-aaaa"),
    )
    first.finish("successful", 0, 0, {"h1": HostStats(ok=1)}, started=0.0)
    second = create(tmp_path / "inv", kind="plan")
    second.finish("successful", 0, 0, {"h1": HostStats(ok=1)}, started=0.0)
    listed = runs.list_runs()
    assert [s.id for s in listed] == [second.summary.id, "20250101T000000000-aaaa"]
    assert runs.load("last").id == second.summary.id
    assert runs.load("20250101T000000000-aaaa").kind == "deploy"
    with pytest.raises(AlurError, match="no run"):
        runs.load("20990101T000000000-ffff")
    with pytest.raises(AlurError, match="ids look like"):
        runs.load("../../etc/passwd")


def test_retry_takes_the_failed_and_unreachable_hosts_of_the_last_deploy_of_that_inventory(tmp_path: Path) -> None:
    deploy = create(tmp_path / "inv")
    deploy.finish(
        "failed",
        4,
        5,
        {"a": HostStats(ok=3), "b": HostStats(unreachable=1), "c": HostStats(failed=1), "d": HostStats(ok=1)},
        started=0.0,
    )
    create(tmp_path / "inv", kind="plan").finish("successful", 0, 0, {"a": HostStats(ok=1)}, started=0.0)
    create(tmp_path / "other").finish("failed", 2, 4, {"z": HostStats(failed=1)}, started=0.0)
    last = runs.last_deploy(tmp_path / "inv")
    assert last is not None and last.id == deploy.summary.id
    assert runs.retry_hosts(last) == ["b", "c"]
    assert runs.last_deploy(tmp_path / "never") is None
