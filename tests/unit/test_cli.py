"""The CLI, with the runner seam patched: what it asks the runner for, its exit codes, what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alur_project import make_project
from click.testing import CliRunner, Result
from ee_images import image_info

from alur import cli as cli_module
from alur import ee, runner, runs, status, support
from alur.cli import cli
from alur.runner import Event, PlaybookRequest, RunResult


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "alur", *args], capture_output=True, text=True, check=False)


def test_user_errors_are_one_line_without_traceback() -> None:
    proc = run("lab", "ssh", "--instance", "no-such-instance-x", "app1")
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("alur: error:")
    assert "Traceback" not in proc.stderr


def test_help_lists_the_lab_commands() -> None:
    proc = run("lab", "--help")
    assert proc.returncode == 0
    for command in ("image", "up", "down", "status", "ssh", "prune"):
        assert command in proc.stdout


def test_help_lists_the_wrapper_commands_and_deploy_documents_its_exit_codes() -> None:
    top = run("--help")
    for command in ("check", "plan", "deploy", "runs", "status", "lab", "bundle"):
        assert command in top.stdout
    deploy = run("deploy", "--help")
    assert deploy.returncode == 0
    text = " ".join(deploy.stdout.split())
    for code in ("0 ok", "2 invalid input", "4 a host failed", "5 a host was unreachable"):
        assert code in text


def test_role_readmes_are_current() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "alur.roledocs", "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout


# --- deploy and plan with the runner seam patched ---------------------------------------------


class FakeRunner:
    """Stands in for alur.runner.run_playbook: records the request, plays back events."""

    def __init__(self) -> None:
        self.requests: list[PlaybookRequest] = []
        self.outcome: dict[str, dict[str, int]] = {}
        self.rc = 0
        self.status = "successful"
        self.extra_events: list[Event] = []

    def __call__(self, request: PlaybookRequest, on_event: Callable[[Event], None], cancel: Any = None) -> RunResult:
        self.requests.append(request)
        hosts = sorted(self.outcome)
        on_event(Event(1, "playbook_on_play_start", play="Web"))
        on_event(Event(2, "playbook_on_task_start", task="Say the port", role="web"))
        for number, host in enumerate(hosts):
            counts = self.outcome[host]
            if counts.get("unreachable"):
                status, msg = "unreachable", "ssh: connect to host: No route to host"
            elif counts.get("failed"):
                status, msg = "failed", "port taken"
            else:
                status, msg = "ok", None
            on_event(Event(3 + number, f"runner_on_{status}", host=host, task="Say the port", role="web",
                           status=status, changed=bool(counts.get("changed")), duration=0.5, msg=msg))  # fmt: skip
        for extra in self.extra_events:
            on_event(extra)
        on_event(Event(99, "playbook_on_stats", stats=self.outcome))
        return RunResult(
            rc=self.rc,
            status=self.status,
            command=runner.command_line(request),
            cwd=str(request.project_dir),
            stats=runner.stats_from(self.outcome),
            duration=1.0,
            events=len(hosts) + 3,
        )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    project_dir, inventory = make_project(
        tmp_path, host_vars={h: {"web_admin_password": "{{ 'generated' * 2 }}"} for h in ("h1", "h2")}
    )
    monkeypatch.setenv("ALUR_PROJECT_DIR", str(project_dir))
    monkeypatch.setenv("ALUR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "160")
    return project_dir, inventory


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeRunner:
    stand_in = FakeRunner()
    stand_in.outcome = {"h1": {"ok": 1, "changed": 1}, "h2": {"ok": 1}}
    monkeypatch.setattr(runner, "run_playbook", stand_in)
    return stand_in


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tables fold to the terminal's width (COLUMNS=80 under pytest-xdist): the tests read whole ids.
    monkeypatch.setattr(cli_module.console, "width", 200)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_deploy_asks_the_runner_for_site_yml_with_the_operators_options(
    project: tuple[Path, Path], fake: FakeRunner, tmp_path: Path
) -> None:
    project_dir, inventory = project
    (tmp_path / "vars.yml").write_text("---\nweb_port: 9090\n")
    (tmp_path / "pw").write_text("vault-pass\n")
    result = invoke(
        "deploy", "-i", str(inventory), "--limit", "h1,h2", "--tags", "web", "--skip-tags", "slow", "-f", "3",
        "-e", f"@{tmp_path / 'vars.yml'}", "--vault-password-file", str(tmp_path / "pw"), "--skip-check", "-v",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [request] = fake.requests
    assert request.project_dir == project_dir and request.inventory == inventory
    assert (request.playbook, request.limit, request.tags, request.skip_tags) == ("site.yml", "h1,h2", "web", "slow")
    assert (request.check, request.diff, request.forks, request.verbosity) == (False, False, 3, 1)
    assert request.extra_vars == (f"@{tmp_path / 'vars.yml'}",)
    assert request.vault_args == ("--vault-password-file", str(tmp_path / "pw"))
    assert request.private_data_dir.parent == tmp_path / "state" / "runner"
    assert request.envvars.get("ANSIBLE_HOST_KEY_CHECKING") in {"True", "False"}
    assert "recap (deploy" in result.output
    assert "same run by hand: cd " in result.output and "ansible-playbook" in result.output
    [summary] = runs.list_runs()
    assert summary.status == "successful" and summary.changes == {"h1": ["web : Say the port"]}
    assert "--tags web" in summary.command and "--limit h1,h2" in summary.command


@pytest.mark.parametrize("flag", [[], ["--no-accelerate"]])
def test_deploy_passes_the_choice_to_the_run_and_records_it(
    project: tuple[Path, Path], fake: FakeRunner, flag: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALUR_ACCELERATE", raising=False)
    monkeypatch.delenv("ANSIBLE_STRATEGY", raising=False)
    _, inventory = project
    result = invoke("deploy", "-i", str(inventory), "--skip-check", *flag)
    assert result.exit_code == 0, result.output
    [request] = fake.requests
    [summary] = runs.list_runs()
    if flag:
        assert "ANSIBLE_STRATEGY" not in request.envvars
        assert "ANSIBLE_STRATEGY" not in summary.command
        assert summary.accelerator == "plain strategy (--no-accelerate)"
    else:
        assert request.envvars["ANSIBLE_STRATEGY"] == "mitogen_linear"
        # The command that reproduces the run by hand carries what made it accelerated.
        assert "ANSIBLE_STRATEGY=mitogen_linear" in summary.command
        assert "ANSIBLE_STRATEGY_PLUGINS=" in summary.command
        assert summary.accelerator.startswith("Mitogen")
    assert f"deploy: {summary.accelerator}" in result.output


def test_each_inventory_gets_its_own_fact_cache(
    project: tuple[Path, Path], fake: FakeRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two inventories naming the same host (staging and production `ci`) must not share its cached facts.
    project_dir, inventory = project
    other = tmp_path / "other" / inventory.name
    other.parent.mkdir()
    import shutil

    shutil.copytree(inventory, other)
    monkeypatch.delenv("ANSIBLE_CACHE_PLUGIN_CONNECTION", raising=False)
    for path in (inventory, other):
        assert invoke("deploy", "-i", str(path), "--skip-check").exit_code == 0
    first, second = (r.envvars["ANSIBLE_CACHE_PLUGIN_CONNECTION"] for r in fake.requests)
    assert first != second
    assert all(Path(d).parent == project_dir / ".alur" / "facts" for d in (first, second))
    # An operator's own setting wins.
    monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_CONNECTION", str(tmp_path / "mine"))
    assert invoke("deploy", "-i", str(inventory), "--skip-check").exit_code == 0
    assert "ANSIBLE_CACHE_PLUGIN_CONNECTION" not in fake.requests[-1].envvars


@pytest.mark.parametrize(
    ("outcome", "rc", "status_text", "code"),
    [
        ({"h1": {"ok": 1}, "h2": {"ok": 1}}, 0, "successful", 0),
        ({"h1": {"ok": 1}, "h2": {"failed": 1}}, 2, "failed", 4),
        ({"h1": {"ok": 1}, "h2": {"unreachable": 1}}, 4, "failed", 5),
        ({"h1": {"failed": 1}, "h2": {"unreachable": 1}}, 2, "failed", 4),
        ({}, 4, "failed", 2),  # ansible-playbook could not parse: no host ran
        ({}, 1, "failed", 1),
        ({"h1": {"ok": 1}}, 254, "canceled", 130),
    ],
)
def test_deploy_exit_codes(
    project: tuple[Path, Path],
    fake: FakeRunner,
    outcome: dict[str, dict[str, int]],
    rc: int,
    status_text: str,
    code: int,
) -> None:
    fake.outcome, fake.rc, fake.status = outcome, rc, status_text
    result = invoke("deploy", "-i", str(project[1]), "--skip-check")
    assert result.exit_code == code, result.output
    assert runs.list_runs()[0].exit_code == code


def test_retry_failed_runs_only_the_hosts_the_last_deploy_lost(project: tuple[Path, Path], fake: FakeRunner) -> None:
    inventory = str(project[1])
    fake.outcome, fake.rc = {"h1": {"ok": 1}, "h2": {"unreachable": 1}}, 4
    assert invoke("deploy", "-i", inventory, "--skip-check").exit_code == 5
    fake.outcome, fake.rc = {"h2": {"ok": 1, "changed": 1}}, 0
    retry = invoke("deploy", "-i", inventory, "--skip-check", "--retry-failed")
    assert retry.exit_code == 0, retry.output
    assert fake.requests[-1].limit == "h2"
    assert "retrying h2" in retry.output
    again = invoke("deploy", "-i", inventory, "--skip-check", "--retry-failed")
    assert again.exit_code == 0 and "nothing to retry" in again.output
    assert len(fake.requests) == 2


def test_retry_failed_without_an_earlier_deploy_is_invalid_input(project: tuple[Path, Path], fake: FakeRunner) -> None:
    result = CliRunner().invoke(cli, ["deploy", "-i", str(project[1]), "--retry-failed"])
    assert result.exit_code == 2
    assert "alur: error: --retry-failed: no earlier deploy" in result.output
    assert fake.requests == []


def test_a_failed_check_stops_the_deploy_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeRunner
) -> None:
    project_dir, inventory = make_project(tmp_path, host_vars={"h1": {"web_port": "eighty"}})
    monkeypatch.setenv("ALUR_PROJECT_DIR", str(project_dir))
    monkeypatch.setenv("ALUR_STATE_DIR", str(tmp_path / "state"))
    result = invoke("deploy", "-i", str(inventory))
    assert result.exit_code == 2
    assert "h1: role web: argument 'web_port' is of type str" in result.output
    assert "deploy not started" in result.output
    assert fake.requests == []


def test_a_passing_check_lets_the_deploy_run(project: tuple[Path, Path], fake: FakeRunner) -> None:
    result = invoke("deploy", "-i", str(project[1]))
    assert result.exit_code == 0, result.output
    assert "check ok (with preflight)" in result.output and "preflight skipped: local connection" in result.output
    assert len(fake.requests) == 1


def test_plan_is_a_check_diff_run_summarised_per_host(project: tuple[Path, Path], fake: FakeRunner) -> None:
    result = invoke("plan", "-i", str(project[1]), "--limit", "h1")
    assert result.exit_code == 0, result.output
    [request] = fake.requests
    assert request.check and request.diff and request.limit == "h1"
    assert "web : Say the port" in result.output
    assert "1 of 2 host(s) would change: h1" in result.output
    assert runs.list_runs()[0].kind == "plan"


def test_a_missing_inventory_is_one_line_and_exit_2(project: tuple[Path, Path], fake: FakeRunner) -> None:
    result = CliRunner().invoke(cli, ["deploy", "-i", "/nonexistent/inventory"])
    assert result.exit_code == 2
    assert result.output.strip() == "alur: error: inventory /nonexistent/inventory not found"


def test_runs_lists_and_shows_records(project: tuple[Path, Path], fake: FakeRunner) -> None:
    fake.outcome, fake.rc = {"h1": {"ok": 1}, "h2": {"failed": 1}}, 2
    invoke("deploy", "-i", str(project[1]), "--skip-check")
    [summary] = runs.list_runs()
    listing = invoke("runs")
    assert summary.id in listing.output and "h2" in listing.output
    shown = invoke("runs", "show", summary.id, "--log")
    assert "port taken" in shown.output and "command: cd " in shown.output
    as_json = json.loads(invoke("runs", "show", "last", "--json").output)
    assert as_json["failed_hosts"] == ["h2"]
    missing = CliRunner().invoke(cli, ["runs", "show", "20990101T000000000-0000"])
    assert missing.exit_code == 2


def test_check_offline_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project_dir, inventory = make_project(tmp_path, groups={"filebeat": ["h1"]})
    monkeypatch.setenv("ALUR_PROJECT_DIR", str(project_dir))
    result = invoke("check", "-i", str(inventory), "--offline")
    assert result.exit_code == 2
    assert "h1: in group filebeat but no host is in group logstash" in result.output
    assert result.output.strip().splitlines()[-1].startswith("check FAILED (offline)")


def fixed_status(unreachable: bool = False, down: bool = False) -> status.StatusReport:
    host = status.HostStatus("h1", ["web"], "10.0.0.1:22", reachable=not unreachable)
    if not unreachable:
        host.addresses = [status.Address("eth0", "inet", "10.0.0.1/24", "global")]
        host.services = [status.ServiceHealth("sshd", not down, "10.0p2", "ssh://alur@10.0.0.1:22")]
    return status.StatusReport("inv", "now", [host], {"web": ["h1"]})


@pytest.mark.parametrize(("unreachable", "down", "code"), [(False, False, 0), (False, True, 4), (True, False, 5)])
def test_status_json_html_and_exit_codes(
    project: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    unreachable: bool,
    down: bool,
    code: int,
) -> None:
    monkeypatch.setattr(status, "collect", lambda inventory, limit=None: fixed_status(unreachable, down))
    html = tmp_path / "report.html"
    result = invoke("status", "-i", str(project[1]), "--json", "--html", str(html))
    assert result.exit_code == code
    data = json.loads(result.output)
    assert data["hosts"][0]["name"] == "h1" and data["hosts"][0]["healthy"] is (code == 0)
    assert "<svg" in html.read_text()
    table = invoke("status", "-i", str(project[1]))
    assert table.exit_code == code
    if unreachable:
        assert "no: " in table.output and "status: NOT healthy" in table.output
    else:
        assert "10.0.0.1/24" in table.output and "ssh://alur@10.0.0.1:22" in table.output


def test_ansible_playbooks_own_errors_are_shown_when_no_host_ran(project: tuple[Path, Path], fake: FakeRunner) -> None:
    fake.outcome, fake.rc, fake.status = {}, 4, "failed"
    fake.extra_events = [Event(5, "verbose", stdout="[ERROR]: couldn't resolve module/action 'nosuch.module'")]
    result = invoke("deploy", "-i", str(project[1]), "--skip-check")
    assert result.exit_code == 2
    assert "ansible-playbook: [ERROR]: couldn't resolve module/action 'nosuch.module'" in result.output
    assert runs.list_runs()[0].errors == ["[ERROR]: couldn't resolve module/action 'nosuch.module'"]


def test_a_retried_agent_brings_its_controller_along() -> None:
    # The controller pins each agent's host key; it could not read it while the agent was down.
    from alur import deploy

    class Groups:
        def groups(self) -> dict[str, list[str]]:
            return {"jenkins": ["ci"], "jenkins_agents": ["app1", "app2"], "filebeat": ["app1", "app2"]}

    inventory: Any = Groups()
    assert deploy._peers_of(["app2"], inventory) == ["ci"]
    assert deploy._peers_of(["ci", "app1"], inventory) == []
    assert deploy._peers_of(["logs"], inventory) == []


# --- inside an execution environment (alur.ee), with the image's answers fixed -----------------------------

EE_INFO = image_info()


class _Today(date):
    """A day on which this host's 2.19 has ended and the image's 2.21 is maintained, whatever today is."""

    @classmethod
    def today(cls) -> _Today:
        return cls(2027, 1, 15)


@pytest.fixture
def images(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The images the command asked about; each answers as EE_INFO. This host runs ansible-core 2.19."""
    asked: list[str] = []

    def inspect(image: str) -> ee.ImageInfo:
        asked.append(image)
        return EE_INFO

    monkeypatch.setattr(ee, "inspect", inspect)
    monkeypatch.setattr(support, "host_core", lambda: "2.19.14")
    monkeypatch.setattr(support, "date", _Today)
    for name in [n for n in os.environ if n.startswith("ANSIBLE_")] + [ee.SWITCH, "ALUR_ACCELERATE"]:
        monkeypatch.delenv(name, raising=False)
    return asked


def test_deploy_with_ee_runs_inside_the_image_and_records_it(
    project: tuple[Path, Path], fake: FakeRunner, images: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_dir, inventory = project
    # runner passes no environment into the container but the run's own: the operator's settings go along.
    monkeypatch.setenv("ANSIBLE_DISPLAY_SKIPPED_HOSTS", "false")
    (tmp_path / "vars").mkdir()
    (tmp_path / "vars" / "site.yml").write_text("---\nweb_port: 9090\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pw").write_text("vault-pass\n")
    result = invoke(
        "deploy", "-i", str(inventory), "--skip-check", "--ee", "some/image",
        "-e", f"@{tmp_path / 'vars' / 'site.yml'}", "--vault-password-file", str(tmp_path / "secrets" / "pw"),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert images == ["some/image"]
    [request] = fake.requests
    assert request.container is not None and request.container.info == EE_INFO
    # The image's Mitogen, at its path inside the image.
    assert request.envvars["ANSIBLE_STRATEGY_PLUGINS"] == EE_INFO.mitogen_strategies
    assert request.envvars["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert request.envvars["ANSIBLE_DISPLAY_SKIPPED_HOSTS"] == "false"
    # runner mounts the project, the inventory and the vault password file's folder; alur the rest, each once
    # (a named file alone).
    state, named = tmp_path / "state", tmp_path / "vars" / "site.yml"
    assert sorted(request.container.mounts) == sorted([f"{state}:{state}", f"{named}:{named}"])
    for folder in (project_dir, inventory, tmp_path / "secrets"):
        assert f"{folder}:{folder}" in request.container.shown_mounts
    [summary] = runs.list_runs()
    assert summary.execution_environment == {
        "image": "some/image",
        "image_id": EE_INFO.image_id,
        "ansible_core": "2.21.5",
        "python": "3.13.5",
    }
    assert summary.accelerator == "Mitogen 0.3.50 (mitogen_linear)"
    assert summary.command.startswith(f"cd {project_dir} && podman run ")
    assert f"-v {inventory}:{inventory}" in summary.command and f"-v {named}:{named}" in summary.command
    assert f"ANSIBLE_STRATEGY_PLUGINS={EE_INFO.mitogen_strategies}" in summary.command
    assert "-e ANSIBLE_DISPLAY_SKIPPED_HOSTS=false" in summary.command
    assert " some/image ansible-playbook " in summary.command
    output = " ".join(result.output.split())
    assert "deploy: Mitogen 0.3.50 (mitogen_linear), inside some/image (ansible-core 2.21.5, Python 3.13.5)" in output
    assert "end of life" not in output


@pytest.mark.parametrize(
    "command", [["deploy"], ["deploy", "--skip-check"], ["plan"], ["check", "--offline"]], ids=" ".join
)
def test_an_ended_host_core_is_noted_once_and_an_image_run_is_not(
    project: tuple[Path, Path], fake: FakeRunner, images: list[str], command: list[str]
) -> None:
    on_host = invoke(*command, "-i", str(project[1]))
    assert on_host.exit_code == 0, on_host.output
    output = " ".join(on_host.output.split())
    assert output.count("end of life") == 1, output
    assert "note: ansible-core 2.19.14 on this host" in output and "reached its end of life on 2026-11-30" in output
    assert "run with --ee" in output
    in_image = invoke(*command, "-i", str(project[1]), "--ee", "some/image")
    assert in_image.exit_code == 0, in_image.output
    assert "end of life" not in in_image.output
    assert images == ["some/image"]


def test_plan_takes_ee_alone_as_alurs_own_image(
    project: tuple[Path, Path], fake: FakeRunner, images: list[str]
) -> None:
    result = invoke("plan", "--ee", "-i", str(project[1]))
    assert result.exit_code == 0, result.output
    assert images == [ee.default_image()]
    [request] = fake.requests
    assert request.check and request.diff
    assert request.container is not None and request.container.info == EE_INFO
    assert runs.list_runs()[0].execution_environment is not None


def test_the_switch_sends_a_deploy_into_the_image(
    project: tuple[Path, Path], fake: FakeRunner, images: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ee.SWITCH, "from/environment")
    assert invoke("deploy", "-i", str(project[1]), "--skip-check").exit_code == 0
    assert invoke("deploy", "-i", str(project[1]), "--skip-check", "--ee", "some/image").exit_code == 0
    assert images == ["from/environment", "some/image"]
    assert all(r.container is not None for r in fake.requests)


def test_check_offline_runs_the_validate_play_inside_the_image(
    project: tuple[Path, Path], fake: FakeRunner, images: list[str]
) -> None:
    from alur import check

    project_dir, inventory = project
    (project_dir / check.VALIDATE_PLAY).parent.mkdir()
    (project_dir / check.VALIDATE_PLAY).write_text("---\n[]\n")
    result = invoke("check", "-i", str(inventory), "--offline", "--ee", "some/image")
    assert result.exit_code == 0, result.output
    plain = invoke("check", "-i", str(inventory), "--offline")
    assert plain.exit_code == 0, plain.output
    in_image, on_host = fake.requests
    assert in_image.playbook == on_host.playbook == check.VALIDATE_PLAY
    assert in_image.container is not None and in_image.container.info == EE_INFO
    assert on_host.container is None
    assert images == ["some/image"]
