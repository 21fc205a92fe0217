"""sshd's cryptography, judged from the controller by ssh-audit, and the clients Alur relies on still getting in."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import alur_probe
import pytest

from alur.inventory import Connection
from alur.sshexec import Session

testinfra_hosts = ["ansible://all"]

# The common_ssh_rsa_host_key_bits default; molecule.yml asks for an RSA host key on common-bookworm only.
RSA_BITS = 4096
RSA_HOSTS = {"common-bookworm"}

# ssh-audit's lines: "(kex) name  -- [warn] text", continued by "`- [info] text" lines about the same algorithm.
ALGORITHM_LINE = re.compile(r"^\((?P<kind>\w+)\) (?P<name>\S+)")
FINDING = re.compile(r"\[(?P<level>fail|warn)\] (?P<text>.+?)\s*$")


@dataclass(frozen=True)
class Finding:
    kind: str
    name: str
    level: str
    text: str

    def __str__(self) -> str:
        return f"({self.kind}) {self.name}: [{self.level}] {self.text}"


def ssh_audit_version() -> tuple[int, ...]:
    out = subprocess.run(["ssh-audit", "-h"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"ssh-audit v(\d+)\.(\d+)\.(\d+)", out)
    assert match, f"cannot read ssh-audit's version from:\n{out}"
    return tuple(int(part) for part in match.groups())


def audit(address: str, port: int) -> tuple[str, list[Finding]]:
    """ssh-audit's report on one sshd (no colours) and every [fail]/[warn] in it, with the algorithm it is about."""
    proc = subprocess.run(
        ["ssh-audit", "-n", "-t", "10", "-p", str(port), address],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report = proc.stdout + proc.stderr
    assert "# key exchange algorithms" in report, f"ssh-audit could not audit {address}:{port}:\n{report}"
    findings: list[Finding] = []
    kind, name = "", ""
    for line in report.splitlines():
        if head := ALGORITHM_LINE.match(line):
            kind, name = head["kind"], head["name"]
        if found := FINDING.search(line):
            findings.append(Finding(kind, name, found["level"], found["text"]))
    return report, findings


def tolerated(finding: Finding, version: tuple[int, ...]) -> bool:
    """Warnings that say the installed ssh-audit is older than the algorithm, not that the algorithm is weak."""
    if finding.level != "warn":
        return False
    # Debian 12's ssh-audit (2.5.0) predates mlkem768x25519-sha256, sntrup761x25519-sha512 and strict kex
    # (kex-strict-s-v00@openssh.com, the Terrapin fix): it calls them unknown.
    if finding.text == "unknown algorithm":
        return True
    # ssh-audit dropped its "experimental" tag on sntrup761x25519-sha512@openssh.com in 3.0.0 (OpenSSH's default
    # key exchange since 9.0).
    return (
        version < (3, 0, 0)
        and finding.name == "sntrup761x25519-sha512@openssh.com"
        and finding.text == "using experimental algorithm"
    )


def port_of(host) -> int:
    return int(host.ansible.get_variables().get("ansible_port", 22))


def section(report: str, kind: str) -> list[str]:
    """The algorithm names ssh-audit lists under one kind: kex, key, enc, mac."""
    return [m["name"] for line in report.splitlines() if (m := ALGORITHM_LINE.match(line)) and m["kind"] == kind]


def test_ssh_audit_finds_nothing_weak(host):
    report, findings = audit(alur_probe.address(host), port_of(host))
    version = ssh_audit_version()
    left = [f for f in findings if not tolerated(f, version)]
    assert not left, "ssh-audit found:\n" + "\n".join(map(str, left)) + "\n\nfull report:\n" + report


def test_sshd_offers_the_modern_algorithms_only(host):
    report, _ = audit(alur_probe.address(host), port_of(host))
    kex = section(report, "kex")
    name = host.backend.get_hostname()
    # Post-quantum hybrids first: ML-KEM where OpenSSH has it (10.0, Debian 13), else Streamlined NTRU Prime.
    assert kex[0] == ("mlkem768x25519-sha256" if name == "common-trixie" else "sntrup761x25519-sha512")
    assert not [k for k in kex if k.startswith("ecdh-sha2-") or k.endswith("-sha1")]
    keys = section(report, "key")
    assert "ssh-ed25519" in keys
    assert not [k for k in keys if k.startswith(("ecdsa-", "ssh-dss", "ssh-rsa"))]
    rsa = [k for k in keys if k.startswith("rsa-sha2-")]
    assert bool(rsa) == (name in RSA_HOSTS), keys
    if rsa:
        assert f"rsa-sha2-512 ({RSA_BITS}-bit)" in report
    assert all(m.endswith("-etm@openssh.com") for m in section(report, "mac"))
    # The group-exchange primes sshd may pick are 3072 bits or more (ssh-audit asks for the smallest it offers).
    if gex := re.search(r"diffie-hellman-group-exchange-sha256 \((\d+)-bit\)", report):
        assert int(gex[1]) >= 3072


def test_small_moduli_and_weak_host_keys_are_gone(host):
    # The fifth field of each prime is its size in bits minus one.
    smallest = host.check_output("awk '/^[0-9]/ {print $5}' /etc/ssh/moduli | sort -n | head -n 1")
    assert smallest and int(smallest) >= 3071
    for kind in ("ecdsa", "dsa"):
        assert not host.file(f"/etc/ssh/ssh_host_{kind}_key").exists


def test_sshd_settings_lynis_asks_for(host):
    with host.sudo():
        effective = set(host.check_output("sshd -T").lower().splitlines())
    for setting in (
        "allowtcpforwarding no",
        "allowagentforwarding no",
        "x11forwarding no",
        "compression no",
        "loglevel verbose",
        "maxsessions 4",
        "tcpkeepalive no",
        "clientaliveinterval 300",
        "clientalivecountmax 2",
    ):
        assert setting in effective


def test_paramiko_connects_with_the_pinned_ed25519_key(host, tmp_path: Path):
    """alur's preflight (paramiko) gets in, checking the host key against Ed25519-only known_hosts, as lab.py pins."""
    variables = host.ansible.get_variables()
    address, port = alur_probe.address(host), port_of(host)
    key_type, key_data = host.file("/etc/ssh/ssh_host_ed25519_key.pub").content_string.split()[:2]
    known_hosts = tmp_path / "known_hosts"
    where = address if port == 22 else f"[{address}]:{port}"
    known_hosts.write_text(f"{where} {key_type} {key_data}\n")
    connection = Connection(
        host=host.backend.get_hostname(),
        address=address,
        port=port,
        user=str(variables["ansible_user"]),
        key_file=str(variables["ansible_private_key_file"]),
        known_hosts_file=str(known_hosts),
        strict_host_key_checking=True,
    )
    with Session(connection) as session:
        result = session.run("true")
    assert result.rc == 0


@pytest.mark.parametrize(
    "offer",
    [
        ["KexAlgorithms=ecdh-sha2-nistp256"],
        ["Ciphers=aes128-cbc"],
        # The AEAD ciphers carry their own tag and use no MAC: a MAC is only negotiated with a CTR cipher.
        ["Ciphers=aes128-ctr", "MACs=hmac-sha1"],
        ["HostKeyAlgorithms=ecdsa-sha2-nistp256"],
    ],
    ids=["kex", "cipher", "mac", "hostkey"],
)
def test_a_client_offering_only_weak_algorithms_is_refused(host, offer: list[str]):
    options = [arg for option in offer for arg in ("-o", option)]
    result = alur_probe.ssh_from_controller(f"alur@{alur_probe.address(host)}", *options)
    assert result.returncode == 255
    assert "no matching" in result.stderr, result.stderr
