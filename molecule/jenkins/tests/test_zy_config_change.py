"""A configuration change on a running controller is applied (JCasC reload, or a restart where no reload endpoint
answers) and the play waits until Jenkins is ready again. Runs after the start-once check: it starts Jenkins again."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

PLAYBOOK = Path(__file__).resolve().parents[3] / "playbooks" / "jenkins.yml"


def test_configuration_change_is_applied_and_waited_for(ctl: Any, standin: bool) -> None:
    message = "Changed by the verifier of the jenkins scenario"
    run = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "--limit",
            "jenkins-ctl",
            # A configuration-only deploy: the package, plugins, backups and the proxy are left alone (and time saved).
            "--skip-tags",
            "jenkins_install,jenkins_plugins,jenkins_backup,nginx_proxy",
            "-e",
            f"jenkins_system_message={message!r}",
            str(PLAYBOOK),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    with ctl.sudo():
        casc = yaml.safe_load(ctl.file("/etc/jenkins/casc.d/alur.yaml").content_string)
    assert casc["jenkins"]["systemMessage"] == message
    out = run.stdout
    assert "TASK [jenkins : Ask JCasC to apply the configuration again]" in out
    # Real Jenkins reloads; the stand-in has no reload endpoint, so the role restarts it instead.
    restarted = "TASK [jenkins : Restart Jenkins instead when the reload was not possible]" in out and (
        "changed: [jenkins-ctl]" in out.split("Restart Jenkins instead when the reload was not possible", 1)[1][:300]
    )
    assert restarted == standin
    assert out.count("TASK [jenkins : Wait for /login to answer 200 with X-Jenkins]") >= 2, "no wait after the apply"
    login = ctl.run("curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/login")
    assert login.stdout == "200"
