"""A configuration change on a running controller is applied by a JCasC token reload, without a restart, and the play
waits until Jenkins is ready again; a token the running Jenkins refuses, or a configuration JCasC refuses, fails the
play with the reason instead of being hidden by a restart. These tests redeploy the controller, so they run after
the checks that read it as converged (the start-once check among them), and before the restore (conftest.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

PLAYBOOK = Path(__file__).resolve().parents[3] / "playbooks" / "jenkins.yml"
ENV_FILE = "/etc/jenkins/alur.env"
RELOAD_TASK = "TASK [jenkins : Ask JCasC to apply the configuration again]"

pytestmark = pytest.mark.changes_the_controller(1)


def deploy(*extra: str) -> subprocess.CompletedProcess[str]:
    """A configuration-only deploy: the package, plugins, backups and the proxy are left alone (and time saved)."""
    return subprocess.run(
        [
            "ansible-playbook",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "--limit",
            "jenkins-ctl",
            "--skip-tags",
            "jenkins_install,jenkins_plugins,jenkins_backup,nginx_proxy",
            *extra,
            str(PLAYBOOK),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


def task_result(out: str, task: str) -> str:
    """The first result line (ok/changed/skipping) of a task for jenkins-ctl, or '' when it did not run."""
    if task not in out:
        return ""
    after = re.sub(r"\x1b\[[0-9;]*m", "", out.split(task, 1)[1])  # colours, when the environment forces them
    match = re.search(r"^(ok|changed|skipping|fatal|failed): \[jenkins-ctl\]", after, re.M)
    return match.group(1) if match else ""


def main_pid(ctl: Any) -> str:
    pid = ctl.check_output("systemctl show -p MainPID --value jenkins").strip()
    assert pid not in {"", "0"}, "jenkins is not running"
    return pid


def system_message(https: Any, admin_password: str) -> str:
    answer = https("/api/json?tree=description", "admin", admin_password)
    assert answer.status == 200, (answer.status, answer.body[:300])
    return json.loads(answer.body)["description"]


@pytest.fixture
def foreign_token(ctl: Any) -> Iterator[None]:
    """The env file holds a token the running Jenkins did not start with (someone edited it and did not restart)."""
    with ctl.sudo():
        before = ctl.file(ENV_FILE).content_string
        ctl.check_output(f"sed -i 's/^CASC_RELOAD_TOKEN=.*/CASC_RELOAD_TOKEN=notTheTokenJenkinsRead0123/' {ENV_FILE}")
    try:
        yield
    finally:
        with ctl.sudo():
            ctl.check_output(f"printf '%s' {_shell_quote(before)} > {ENV_FILE}")


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def test_configuration_change_is_reloaded_without_a_restart(ctl: Any, https: Any, admin_password: str) -> None:
    message = "Changed by the verifier of the jenkins scenario"
    pid = main_pid(ctl)
    run = deploy("-e", f"jenkins_system_message={message!r}")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    with ctl.sudo():
        casc = yaml.safe_load(ctl.file("/etc/jenkins/casc.d/alur.yaml").content_string)
    assert casc["jenkins"]["systemMessage"] == message
    assert task_result(run.stdout, RELOAD_TASK) == "changed", "the change was not reloaded"
    assert main_pid(ctl) == pid, "Jenkins was restarted; a JCasC change must be applied by the reload"
    assert run.stdout.count("TASK [jenkins : Wait for /login to answer 200 with X-Jenkins]") >= 2, (
        "no wait after the apply"
    )
    assert system_message(https, admin_password) == message, "the reload did not apply the new system message"


@pytest.mark.usefixtures("foreign_token")
def test_a_refused_reload_token_fails_the_play(ctl: Any, https: Any, admin_password: str) -> None:
    before = system_message(https, admin_password)
    pid = main_pid(ctl)
    run = deploy("-e", "jenkins_system_message='Not applied: the token is refused'")
    assert run.returncode != 0, "the play must fail when Jenkins refuses the reload token"
    # The failed task's message (stdout or stderr, as the callback settings say).
    assert "jenkins-ctl: Jenkins answered 401 to the JCasC reload" in run.stdout + run.stderr
    assert "notTheTokenJenkinsRead0123" not in run.stdout + run.stderr, "the token reached the output"
    assert main_pid(ctl) == pid, "a refused token must not be hidden by a restart"
    assert system_message(https, admin_password) == before


@pytest.fixture
def back_in_line(ctl: Any) -> Iterator[None]:
    """Whatever the test found, the controller leaves it with files JCasC accepts: a refused file left in casc.d
    would stop the next start (the restore test's) until systemd's start timeout."""
    yield
    with ctl.sudo():
        left = ctl.file("/etc/jenkins/casc.d/inventory.yaml").exists
    if left:
        run = deploy()
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


@pytest.mark.usefixtures("back_in_line")
def test_a_configuration_jcasc_refuses_fails_the_play(ctl: Any, https: Any, admin_password: str) -> None:
    pid = main_pid(ctl)
    before = system_message(https, admin_password)
    extra = json.dumps({"jenkins_casc_extra": {"noSuchRootElement": {"value": 1}}, "jenkins_system_message": "nope"})
    run = deploy("-e", extra)
    assert run.returncode != 0, "the play must fail when JCasC refuses the configuration"
    failure = run.stdout + run.stderr
    assert "jenkins-ctl: JCasC refused /etc/jenkins/casc.d" in failure and "noSuchRootElement" in failure
    assert main_pid(ctl) == pid, "a configuration JCasC refuses must not be hidden by a restart"
    assert system_message(https, admin_password) == before, "JCasC applies all or nothing"
    # The next deploy without the bad file brings Jenkins back in line with the files.
    message = "Back in line after a refused configuration"
    run = deploy("-e", f"jenkins_system_message={message!r}")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert main_pid(ctl) == pid
    assert system_message(https, admin_password) == message
