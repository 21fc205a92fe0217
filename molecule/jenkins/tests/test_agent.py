"""The agent host: Java 21, the agent account, and the controller's key as the only way in (all real software)."""

from __future__ import annotations

import re
from typing import Any

import alur_probe
from jenkins_probe import stat

SECRETS = "/etc/jenkins/casc-secrets"


def test_agent_has_java_21(agent: Any) -> None:
    version = agent.run("java -version")
    assert re.search(r'version "21\.', version.stderr), version.stderr


def test_agent_account(agent: Any) -> None:
    with agent.sudo():
        passwd = agent.check_output("getent passwd jenkins-agent").split(":")
        shadow = agent.check_output("getent shadow jenkins-agent").split(":")
    assert (passwd[5], passwd[6]) == ("/var/lib/jenkins-agent", "/bin/bash")
    assert shadow[1] in {"!", "*", "!*"}, "the agent account has no password"
    home = stat(agent, "/var/lib/jenkins-agent")["/var/lib/jenkins-agent"]
    assert home == ("jenkins-agent", "jenkins-agent", 0o750)


def test_only_the_controller_key_is_authorised(agent: Any, ctl: Any, ctl_address: str) -> None:
    with ctl.sudo():
        public = ctl.file(f"{SECRETS}/agent_ssh_private_key.pub").content_string.split()[:2]
    with agent.sudo():
        keys = agent.file("/var/lib/jenkins-agent/.ssh/authorized_keys").content_string.strip().splitlines()
    assert len(keys) == 1
    assert " ".join(public) in keys[0]
    assert keys[0].startswith(f'restrict,from="{ctl_address}')


def test_controller_reaches_the_agent_as_the_launcher_does(ctl: Any, agent: Any) -> None:
    """What the SSH launcher does, with the same key, user and pinned host key: log in and run the agent's java."""
    casc_key = agent.file("/etc/ssh/ssh_host_ed25519_key.pub").content_string.split()[:2]
    address = alur_probe.address(agent)
    with ctl.sudo():
        ctl.check_output(
            "install -m 0600 /dev/null /root/alur-agent-known-hosts && echo %s >> /root/alur-agent-known-hosts",
            f"{address} {' '.join(casc_key)}",
        )
        login = ctl.run(
            "ssh -i %s/agent_ssh_private_key -o BatchMode=yes -o StrictHostKeyChecking=yes "
            "-o UserKnownHostsFile=/root/alur-agent-known-hosts jenkins-agent@%s 'id -un; java -version'",
            SECRETS,
            address,
        )
        ctl.run("rm -f /root/alur-agent-known-hosts")
    assert login.rc == 0, login.stderr
    assert login.stdout.strip() == "jenkins-agent"
    assert 'version "21.' in login.stderr


def test_the_key_is_refused_from_elsewhere(ctl: Any, agent: Any) -> None:
    """The controller's key works only from the controller's addresses (from= in authorized_keys): a copy of it
    on the agent itself (copied over the key's own login, so it never appears on a command line) is refused."""
    address = alur_probe.address(agent)
    ssh = "-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    with ctl.sudo():
        copied = ctl.run(
            f"scp {ssh} -i {SECRETS}/agent_ssh_private_key {SECRETS}/agent_ssh_private_key "
            f"jenkins-agent@{address}:copied-key"
        )
    assert copied.rc == 0, copied.stderr
    with agent.sudo("jenkins-agent"):
        # ssh's own 255 would read as a lost connection to testinfra: report the status on stdout instead.
        stolen = agent.run(f"ssh {ssh} -i ~/copied-key jenkins-agent@127.0.0.1 true; echo status=$?; rm ~/copied-key")
    assert "status=255" in stolen.stdout and "Permission denied (publickey)" in stolen.stderr
