"""The hardening role, proven on both Debian releases by Lynis's score and by behaviour."""

from __future__ import annotations

import re
import time
from typing import Any

import alur_probe
import pytest

testinfra_hosts = ["ansible://all"]

PEERS = {"hardening-trixie": "hardening-bookworm", "hardening-bookworm": "hardening-trixie"}
MIN_HARDENING_INDEX = 80
MAXRETRY = 3  # converge.yml
SYSCTL_FILE = "/etc/sysctl.d/90-alur-hardening.conf"


def lynis_report(host: Any, path: str) -> dict[str, list[str]]:
    """A lynis-report.dat as key -> values (keys ending in [] repeat)."""
    with host.sudo():
        text = host.file(path).content_string
    report: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            report.setdefault(key.removesuffix("[]"), []).append(value)
    return report


@pytest.fixture(scope="module")
def lynis_after(host: Any) -> dict[str, list[str]]:
    """Lynis's audit of the hardened host (run once per host and module)."""
    with host.sudo():
        host.run("lynis audit system --quick --no-colors > /var/log/lynis-after.log 2>&1")
        host.check_output("cp /var/log/lynis-report.dat /var/log/lynis-report-after.dat")
    return lynis_report(host, "/var/log/lynis-report-after.dat")


def test_lynis_hardening_index(host: Any, lynis_after: dict[str, list[str]]) -> None:
    before = int(lynis_report(host, "/var/log/lynis-report-before.dat")["hardening_index"][0])
    after = int(lynis_after["hardening_index"][0])
    name = host.backend.get_hostname()
    open_items = lynis_after.get("suggestion", []) + lynis_after.get("warning", [])
    print(f"{name}: Lynis hardening index {before} (common only) -> {after} (common + hardening)")
    print("\n".join(f"  open: {item}" for item in open_items))
    assert after >= MIN_HARDENING_INDEX, f"{name}: hardening index {after} < {MIN_HARDENING_INDEX}"


def test_login_defs_and_password_quality(host: Any) -> None:
    defs = dict(
        line.split(None, 1)
        for line in host.file("/etc/login.defs").content_string.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    assert (defs["PASS_MAX_DAYS"], defs["PASS_MIN_DAYS"]) == ("365", "1")
    assert defs["UMASK"] == "027"
    assert int(defs["SHA_CRYPT_MIN_ROUNDS"]) >= 5000
    # pam_pwquality is in the password stack and refuses a short password.
    assert "pam_pwquality.so" in host.file("/etc/pam.d/common-password").content_string
    weak = host.run("echo 'Abc12' | pwscore")
    assert weak.rc != 0, weak.stdout
    assert "pam_tmpdir.so" in host.file("/etc/pam.d/common-session").content_string


def test_sudo_keeps_a_umask_services_can_read(host: Any) -> None:
    with host.sudo():
        session = host.check_output("su - roomy -c umask")
    if "pam_umask.so" in host.file("/etc/pam.d/common-session").content_string:
        # Debian 13: a new login session gets login.defs' 027 through pam_umask (007 for a user whose primary
        # group is their own: Debian's USERGROUPS_ENAB).
        assert session in {"0027", "0007"}
    else:
        # Debian 12 has no pam_umask in its PAM stack: login.defs' UMASK only sets the mode of new homes.
        assert session == "0022"
        assert host.file("/home/roomy").mode == 0o750
    with host.sudo():
        # What runs through sudo (Ansible's become, package scripts) keeps 022.
        assert host.check_output("umask") == "0022"


def test_key_only_admin_has_no_password_expiry(host: Any) -> None:
    with host.sudo():
        fields = host.check_output("getent shadow roomy").split(":")
    assert fields[1].startswith(("!", "*"))
    assert fields[4] in {"", "-1", "99999"}, f"roomy's password would expire after {fields[4]} days"


def test_updates_configured_but_never_started_by_the_role(host: Any) -> None:
    config = host.check_output("apt-config dump")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in config
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in config
    for timer in ("apt-daily.timer", "apt-daily-upgrade.timer"):
        assert host.check_output(f"systemctl show -p Persistent --value {timer}") == "no"
    # The role never ran apt's timers' services (they only run on their schedule).
    for service in ("apt-daily.service", "apt-daily-upgrade.service"):
        assert host.check_output(f"systemctl show -p ExecMainStartTimestampMonotonic --value {service}") == "0"


def test_needrestart_lists_only(host: Any) -> None:
    with host.sudo():
        batch = host.run("needrestart -b")
    assert batch.rc == 0, batch.stderr
    assert "$nrconf{restart} = 'l';" in host.file("/etc/needrestart/conf.d/alur.conf").content_string


def test_modules_blacklisted_and_banners(host: Any) -> None:
    blacklist = host.file("/etc/modprobe.d/alur-hardening.conf").content_string
    for module in ("dccp", "sctp", "rds", "tipc", "usb-storage", "firewire-core"):
        assert f"install {module} /bin/true" in blacklist
    for path in ("/etc/issue", "/etc/issue.net"):
        assert "Authorised access only" in host.file(path).content_string


def test_permissions(host: Any) -> None:
    assert host.file("/home/roomy").mode == 0o750
    assert host.file("/root").mode == 0o700
    if host.file("/etc/crontab").exists:
        assert host.file("/etc/crontab").mode == 0o600
    assert host.file("/etc/cron.d").mode == 0o700


def test_core_dumps_off(host: Any) -> None:
    with host.sudo():
        assert host.check_output("su - roomy -c 'ulimit -Hc'") == "0"
    assert "Storage=none" in host.file("/etc/systemd/coredump.conf.d/alur-hardening.conf").content_string


def test_accounting_and_sysstat(host: Any) -> None:
    assert host.service("sysstat").is_enabled
    assert host.package("acct").is_installed
    # Inside a container accton is refused (no CAP_SYS_PACCT): acct is left stopped, not failed.
    assert host.run("systemctl is-failed acct").stdout.strip() != "failed"


def test_sysctl_applied_or_reported(host: Any) -> None:
    """Each key holds its value, or the persisted file marks it as one this host could not set."""
    lines = [line for line in host.file(SYSCTL_FILE).content_string.splitlines() if "=" in line]
    assert lines
    reported = []
    for line in lines:
        key, value = (part.strip() for part in line.split("=", 1))
        with host.sudo():  # some keys (fs.protected_*) are readable by root only
            current = host.run(f"sysctl -n {key.lstrip('-')}")
        if key.startswith("-"):
            reported.append(key[1:])
            # Reported only when the kernel really refused it: /proc/sys is read-only here, or the key is absent.
            assert current.rc != 0 or host.run(f"test -w /proc/sys/{key[1:].replace('.', '/')}").rc != 0
        else:
            assert current.stdout.split() == value.split(), f"{key} is {current.stdout.strip()}, not {value}"
    print(f"{host.backend.get_hostname()}: {len(lines) - len(reported)} applied, {len(reported)} reported: {reported}")


def test_aide_database_and_timer(host: Any) -> None:
    with host.sudo():
        assert host.file("/var/lib/aide/alur/aide.db").exists
        timer = host.service("alur-aide-check.timer")
        assert timer.is_enabled and timer.is_running
        # A new file in a watched folder is what the check reports.
        host.check_output("install -m 0755 /dev/null /usr/local/bin/alur-planted")
        try:
            check = host.run("aide --config /etc/aide/aide.conf --check")
        finally:
            host.run("rm -f /usr/local/bin/alur-planted")
    assert check.rc & 1, check.stdout
    assert "/usr/local/bin/alur-planted" in check.stdout


def controller_address(host: Any) -> str:
    """The controller's address as the host sees it (the source of testinfra's own SSH connection)."""
    return str(host.check_output("printenv SSH_CLIENT").split()[0])


def banned(host: Any) -> str:
    with host.sudo():
        return str(host.check_output("fail2ban-client status sshd"))


def test_controller_never_banned(host: Any) -> None:
    controller = controller_address(host)
    with host.sudo():
        ignored = host.check_output("fail2ban-client get sshd ignoreip")
    assert controller in ignored and "192.0.2.0/24" in ignored
    target = f"nosuchuser@{alur_probe.address(host)}"
    for _ in range(MAXRETRY + 3):
        alur_probe.ssh_from_controller(target, "-o", "PubkeyAuthentication=no")
    time.sleep(5)
    assert controller not in re.sub(r"\s+", " ", banned(host))
    assert alur_probe.connects_from_controller(alur_probe.address(host), 22)


def test_fail2ban_bans_a_peer_after_failed_logins(host: Any) -> None:
    name = host.backend.get_hostname()
    peer = alur_probe.host(PEERS[name])
    target, source = alur_probe.address(host), alur_probe.address(peer)
    # ssh's own 255 would read as a lost connection to testinfra: each attempt ends with an echo instead.
    ssh = "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=3"
    try:
        assert alur_probe.connects_from(peer, target, 22)
        for _ in range(MAXRETRY + 2):
            # Bounded: once banned, a connection already open hangs (its packets are dropped).
            peer.run(f"timeout 10 {ssh} nosuchuser@{target} true; echo status=$?")
            if source in banned(host):
                break
        deadline = time.monotonic() + 30
        while source not in banned(host):
            assert time.monotonic() < deadline, f"{source} never banned on {name}:\n{banned(host)}"
            time.sleep(1)
        # fail2ban lists the address once it records the ban; its nftables action drops the packets a moment later.
        deadline = time.monotonic() + 15
        while alur_probe.connects_from(peer, target, 22):
            assert time.monotonic() < deadline, f"{source} banned on {name}, but still let in 15 s later"
            time.sleep(1)
        assert alur_probe.connects_from_controller(target, 22)
    finally:
        with host.sudo():
            host.run(f"fail2ban-client set sshd unbanip {source}")
