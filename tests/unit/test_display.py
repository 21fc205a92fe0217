"""What alur prints: plain progress lines off a terminal, one line per problem, recap tables."""

from __future__ import annotations

import io

from rich.console import Console

from alur import display, preflight, runs
from alur.check import CheckReport
from alur.findings import Finding
from alur.runner import Event


def console(width: int = 100) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=width, force_terminal=False, color_system=None), out


def event(kind: str, host: str | None = None, status: str | None = None, **values: object) -> Event:
    return Event(counter=0, kind=kind, host=host, status=status, **values)  # type: ignore[arg-type]


def test_plain_progress_prints_plays_tasks_and_results() -> None:
    con, out = console()
    censor = runs.Censor(["topsecret"])
    with display.RunProgress(con, ["a", "b"], censor) as progress:
        assert progress.live_mode is False  # not a terminal
        progress.handle(event("playbook_on_play_start", play="Base"))
        progress.handle(event("playbook_on_task_start", task="Install", role="common"))
        progress.handle(event("runner_on_ok", "a", "ok", changed=True, duration=1.5))
        progress.handle(event("runner_on_skipped", "b", "skipped"))
        progress.handle(event("runner_on_unreachable", "b", "unreachable", msg="ssh: topsecret refused"))
    assert out.getvalue().splitlines() == [
        "PLAY [Base]",
        "TASK [common : Install]",
        "  a: changed (1.5s)",
        "  b: unreachable: ssh: ******** refused",
    ]
    assert (progress.hosts["a"].changed, progress.hosts["b"].unreachable) == (1, 1)
    assert progress.hosts["b"].state == "unreachable"


def test_live_progress_renders_a_bar_and_a_row_per_host() -> None:
    out = io.StringIO()
    con = Console(file=out, width=100, force_terminal=True, color_system=None)
    progress = display.RunProgress(con, ["a", "b"], runs.Censor())
    progress.handle(event("playbook_on_task_start", task="Install", role="common"))
    progress.handle(event("runner_on_ok", "a", "ok"))
    con.print(progress._render())
    text = out.getvalue()
    assert "TASK #1 common : Install" in text and "1/2" in text
    assert any(line.split()[:2] == ["a", "done"] for line in text.splitlines() if line.strip())


def test_every_problem_is_one_line_however_long() -> None:
    con, out = console(width=60)
    report = CheckReport(inventory="inv", hosts=["h1"], groups={}, roles=["web"])
    cause = "role web: value of web_mode must be one of: fast, safe, got: " + "x" * 80
    report.findings = [Finding("error", "h1", cause, "schema"), Finding("note", None, "something skipped", "n")]
    display.print_check(con, report, runs.Censor())
    lines = out.getvalue().splitlines()
    assert f"error   h1: {cause}" in lines
    assert "note    something skipped" in lines
    assert lines[-1] == "check FAILED (offline): 1 error(s), 0 warning(s)"


def test_preflight_table_has_a_row_per_host() -> None:
    con, out = console(width=160)
    report = CheckReport(inventory="inv", hosts=["h1", "h2"], groups={}, roles=[], offline=False)
    good = preflight.HostProbe("h1", "10.0.0.1:22", True, True, become=True, python="3.13.5", os_id="debian",
                               os_version="13", memory_mb=4096, disk_free_mb=9000, clock_skew=0.01)  # fmt: skip
    bad = preflight.HostProbe("h2", "10.0.0.2:22", error="cannot reach", error_kind="unreachable")
    report.probes = {"h1": good, "h2": bad}
    report.needs = {"h1": preflight.needs_for(()), "h2": preflight.needs_for(())}
    display.print_check(con, report, runs.Censor())
    rows = [line for line in out.getvalue().splitlines() if line.startswith("│ h")]
    assert len(rows) == 2
    assert "Debian 13" in rows[0] and "+0.01s" in rows[0]
    assert "unreachable" in rows[1]


def test_recap_lists_hosts_and_the_slowest_tasks() -> None:
    con, out = console(width=140)
    hosts = {
        "a": {"ok": 5, "changed": 2, "failed": 0, "unreachable": 0, "skipped": 1, "time": 9.0},
        "b": {"ok": 1, "changed": 0, "failed": 0, "unreachable": 1, "skipped": 0, "time": 2.0},
    }
    summary = runs.Summary.from_json(
        {
            "id": "20250101T000000000-abcd",
            "kind": "deploy",
            "inventory": "inv",
            "playbook": "site.yml",
            "limit": None,
            "tags": None,
            "check": False,
            "started": "now",
            "command": "cd /p && ansible-playbook x",
            "cwd": "/p",
            "duration": 12.5,
            "status": "failed",
            "hosts": hosts,
            "unreachable_hosts": ["b"],
            "slowest_tasks": [{"task": "common : Install", "host": "a", "duration": 7.25}],
            "failures": [{"host": "b", "task": "common : Install", "status": "unreachable", "msg": "gone"}],
        }
    )
    display.print_recap(con, summary, 5)
    text = out.getvalue()
    assert "│ a    │  5 │       2 │" in text
    assert any(line.split("│")[1:4] == [" common : Install ", " a    ", " 7.2s "] for line in text.splitlines())
    assert "unreachable b: common : Install: gone" in text
    assert "alur deploy -i INVENTORY --retry-failed" in text
    assert "same run by hand: cd /p && ansible-playbook x" in text
    assert "(exit 5)" in text
