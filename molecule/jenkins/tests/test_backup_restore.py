"""Backups of JENKINS_HOME and a restore. Each test sets up what it reads (a secret, a workspace, its own
archives); the restore restarts Jenkins, so it runs last of all (conftest.py)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

BACKUPS = "/var/backups/jenkins"
HOME = "/var/lib/jenkins"


def run_backup(ctl: Any) -> str:
    with ctl.sudo():
        before = set(ctl.check_output(f"ls -1 {BACKUPS}").split())
        time.sleep(1.1)  # archive names carry the second
        ctl.check_output("systemctl start jenkins-backup.service")
        after = ctl.check_output(f"ls -1 {BACKUPS}").split()
    new = sorted(set(after) - before)
    assert len(new) == 1, f"one new archive expected, got {new}"
    return f"{BACKUPS}/{new[0]}"


@pytest.fixture
def home_with_a_secret_and_a_workspace(ctl: Any) -> str:
    """JENKINS_HOME holds a secret (Jenkins' own master.key, or one written here where the stand-in has none) and
    a job's workspace; returns the secret's SHA-256."""
    with ctl.sudo():
        ctl.check_output(f"install -d -o jenkins -g jenkins {HOME}/workspace/big-job {HOME}/secrets")
        ctl.check_output(f"sudo -u jenkins sh -c 'echo scratch > {HOME}/workspace/big-job/output.bin'")
        key = f"{HOME}/secrets/master.key"
        ctl.check_output(f"sudo -u jenkins sh -c 'test -s {key} || echo key-material > {key}'")
        return str(ctl.check_output(f"sha256sum {key}")).split()[0]


def test_backup_timer_is_scheduled(ctl: Any) -> None:
    timer = ctl.service("jenkins-backup.timer")
    assert timer.is_enabled and timer.is_running
    assert ctl.check_output("systemctl show jenkins-backup.timer -p NextElapseUSecRealtime --value")
    folder = ctl.file(BACKUPS)
    assert (folder.user, folder.mode) == ("root", 0o700)


@pytest.mark.usefixtures("home_with_a_secret_and_a_workspace")
def test_backup_holds_secrets_and_leaves_out_workspaces(ctl: Any) -> None:
    archive = run_backup(ctl)
    with ctl.sudo():
        members = ctl.check_output("tar -tzf %s", archive).splitlines()
        mode = ctl.file(archive).mode
    assert mode & 0o077 == 0, "archives hold secrets: root only"
    assert "./jenkins-home/secrets/master.key" in members
    assert "./jenkins-config/casc-secrets/admin_password" in members
    assert "./jenkins-home/plugins/configuration-as-code.jpi" in members
    assert not [m for m in members if "/workspace/" in m], "workspaces are left out"


def test_retention_keeps_the_newest(ctl: Any) -> None:
    for _ in range(3):
        newest = run_backup(ctl)
    with ctl.sudo():
        kept = ctl.check_output(f"ls -1 {BACKUPS}").split()
    assert len(kept) == 2, kept  # jenkins_backup_keep: 2 in this scenario
    assert newest.rsplit("/", 1)[1] in kept


@pytest.mark.changes_the_controller(2)
def test_restore_brings_jenkins_home_back(ctl: Any, home_with_a_secret_and_a_workspace: str) -> None:
    with ctl.sudo():
        ctl.check_output(f"sudo -u jenkins sh -c 'echo before-the-disaster > {HOME}/alur-marker'")
    archive = run_backup(ctl)
    with ctl.sudo():
        # The disaster: JENKINS_HOME loses its plugins, secrets and the marker.
        ctl.check_output(f"rm -rf {HOME}/plugins {HOME}/secrets {HOME}/alur-marker")
        restore = ctl.run("/usr/local/sbin/alur-jenkins-restore %s", archive)
        assert restore.rc == 0, restore.stdout + restore.stderr
        assert ctl.file(f"{HOME}/alur-marker").content_string.strip() == "before-the-disaster"
        secret = str(ctl.check_output(f"sha256sum {HOME}/secrets/master.key")).split()[0]
        assert secret == home_with_a_secret_and_a_workspace, "the restored master.key is not the one backed up"
        assert ctl.file(f"{HOME}/plugins/configuration-as-code.jpi").user == "jenkins"
        assert not ctl.file(f"{HOME}/workspace/big-job").exists, "the archive had no workspaces"
        aside = ctl.check_output(f"ls -1d {HOME}.before-restore-*")
    assert re.fullmatch(r"/var/lib/jenkins\.before-restore-\d{8}T\d{6}Z", aside)
    login = ctl.run("curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/login")
    assert login.stdout == "200"
