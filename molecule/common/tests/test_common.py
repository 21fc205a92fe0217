"""The common role, proven by behaviour on both Debian releases."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

import alur_probe
import pytest

testinfra_hosts = ["ansible://all"]

ROOT_AUTHORIZED_KEYS = "/root/.ssh/authorized_keys"
# Marks the key line the root-login test adds, so that only that line is removed again.
ROOT_KEY_MARK = "alur-test-root-login"

PEERS = {"common-trixie": "common-bookworm", "common-bookworm": "common-trixie"}


def test_time_zone_applied(host):
    assert host.file("/etc/localtime").linked_to == "/usr/share/zoneinfo/Asia/Jakarta"
    assert host.check_output("date +%Z") == "WIB"


def test_chrony_runs_and_peers_agree(host):
    chrony = host.service("chrony")
    assert chrony.is_running and chrony.is_enabled
    if host.backend.get_hostname() != "common-bookworm":
        return
    server = alur_probe.address(alur_probe.host("common-trixie"))
    deadline = time.monotonic() + 60
    sources = ""
    while time.monotonic() < deadline:
        sources = host.check_output("chronyc -n sources")
        if any(line.startswith(("^*", "^+")) and server in line for line in sources.splitlines()):
            return
        time.sleep(2)
    pytest.fail(f"chrony on common-bookworm never selected {server}:\n{sources}")


def test_sshd_config_is_hardened(host):
    with host.sudo():
        effective = host.check_output("sshd -T").lower().splitlines()
    for setting in (
        "passwordauthentication no",
        "kbdinteractiveauthentication no",
        "permitrootlogin no",
        "pubkeyauthentication yes",
        "x11forwarding no",
        "maxauthtries 3",
    ):
        assert setting in effective


def test_password_login_is_refused(host):
    target = f"alur@{alur_probe.address(host)}"
    result = alur_probe.ssh_from_controller(
        target,
        "-o",
        "PubkeyAuthentication=no",
        "-o",
        "PreferredAuthentications=password,keyboard-interactive",
    )
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr


def test_admin_logs_in_with_its_key_and_has_sudo(host):
    key = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "opsadmin_ed25519"
    target = f"opsadmin@{alur_probe.address(host)}"
    proc = alur_probe.ssh_from_controller(target, "-i", str(key), "-o", "IdentitiesOnly=yes")
    assert proc.returncode == 0, proc.stderr
    sudo = alur_probe.ssh_from_controller(target, "-i", str(key), "-o", "IdentitiesOnly=yes", command="sudo -n id -u")
    assert sudo.returncode == 0, sudo.stderr
    assert sudo.stdout.strip() == "0"
    user = host.user("opsadmin")
    assert "alur-admins" in user.groups
    with host.sudo():
        assert user.password in {"!", "*"}, "admins have no password: logins are key-only"


def test_retired_account_is_gone(host):
    assert not host.user("retired").exists
    assert not host.file("/home/retired").exists


def test_root_cannot_log_in_even_with_a_key_root_authorizes(host):
    """PermitRootLogin no: a key in root's own authorized_keys is refused for root, and sshd logs that it refused
    root (the policy, not the key: the same key logs in as opsadmin). With PermitRootLogin yes or
    prohibit-password the root login would succeed and this test fail."""
    key = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "opsadmin_ed25519"
    entry = " ".join(Path(f"{key}.pub").read_text().split()[:2]) + f" {ROOT_KEY_MARK}"
    ssh_key = ("-i", str(key), "-o", "IdentitiesOnly=yes")
    with host.sudo():
        host.check_output(
            f"install -d -m 0700 /root/.ssh && printf '%s\\n' {shlex.quote(entry)} >> {ROOT_AUTHORIZED_KEYS}"
            f" && chmod 0600 {ROOT_AUTHORIZED_KEYS}"
        )
    try:
        since = host.check_output("date +%s")
        as_admin = alur_probe.ssh_from_controller(f"opsadmin@{alur_probe.address(host)}", *ssh_key, command="id -un")
        as_root = alur_probe.ssh_from_controller(f"root@{alur_probe.address(host)}", *ssh_key, command="id -un")
        journal = ""
        deadline = time.monotonic() + 15
        while "ROOT LOGIN REFUSED" not in journal and time.monotonic() < deadline:
            time.sleep(1)
            with host.sudo():
                journal = host.check_output(f"journalctl -u ssh.service --since @{since} --no-pager -o cat")
    finally:
        with host.sudo():
            host.run(f"sed -i '/ {ROOT_KEY_MARK}$/d' {ROOT_AUTHORIZED_KEYS}")
            host.run(f"[ -s {ROOT_AUTHORIZED_KEYS} ] || rm -f {ROOT_AUTHORIZED_KEYS}")
    assert as_admin.returncode == 0 and as_admin.stdout.strip() == "opsadmin", as_admin.stderr
    assert as_root.returncode == 255 and as_root.stdout.strip() != "root", "root logged in with an authorized key"
    assert "Permission denied (publickey)" in as_root.stderr, as_root.stderr
    assert "ROOT LOGIN REFUSED" in journal, f"sshd did not refuse root by its PermitRootLogin policy:\n{journal}"
    assert "Accepted publickey for root" not in journal, journal


def test_firewall_default_deny_with_allow_list(host):
    peer = alur_probe.host(PEERS[host.backend.get_hostname()])
    here = alur_probe.address(host)
    alur_probe.listen(host, 8080)
    alur_probe.listen(host, 8099)
    # Listening locally on both, yet only what the allow list names gets through.
    assert alur_probe.connects_from(host, "127.0.0.1", 8099)
    assert alur_probe.connects_from(peer, here, 8080), "8080 is allowed from the peer"
    assert not alur_probe.connects_from(peer, here, 8099), "8099 is in no allow list"
    assert not alur_probe.connects_from_controller(here, 8080), "8080 is allowed from the peer only"
    assert alur_probe.connects_from_controller(here, 22), "SSH stays open"


def test_nftables_ruleset_loads_at_boot(host):
    assert host.service("nftables").is_enabled
    with host.sudo():
        ruleset = host.check_output("nft list table inet alur")
        assert host.run("nft -c -f /etc/nftables.conf").rc == 0
    assert "policy drop" in ruleset
    assert 'comment "probe-8080"' in ruleset
