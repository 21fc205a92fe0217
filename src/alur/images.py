"""Base images for lab and test hosts: Debian with systemd and sshd, built without any registry.

debootstrap writes a minimal Debian into a folder, a short customisation makes it a
usable container host (per-container SSH host keys, an `alur` operator account), and
`podman import` turns the folder into `localhost/alur-debian:<release>`. The image
carries a hash of its recipe in a label, so it is rebuilt only when the recipe changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alur import podman
from alur.errors import ContainerError
from alur.paths import state_dir

IMAGE_REPO = "localhost/alur-debian"
RECIPE_LABEL = "io.alur.recipe"
RECIPE_VERSION = "1"
OPERATOR = "alur"

RELEASES: dict[str, str] = {"13": "trixie", "12": "bookworm"}
DEFAULT_RELEASE = "13"

PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-apt",
    "sudo",
    "iproute2",
    "ifupdown",
    "iputils-ping",
    "openssh-server",
    "ca-certificates",
    "gnupg",
    "curl",
    "procps",
    "less",
)

# Runs inside the bootstrapped tree (chroot). Kept as data so that it is part of the recipe hash.
CUSTOMISE = r"""
set -eu
# Each container must get its own SSH host keys: generate them on first boot, not at build time.
rm -f /etc/ssh/ssh_host_*
cat > /etc/systemd/system/alur-ssh-host-keys.service <<'UNIT'
[Unit]
Description=Generate this host's SSH host keys on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/alur-ssh-host-keys.service /etc/systemd/system/multi-user.target.wants/
ln -sf /lib/systemd/system/ssh.service /etc/systemd/system/multi-user.target.wants/ssh.service
# The operator account Ansible connects as (like a cloud image's default user).
useradd --create-home --shell /bin/bash __OPERATOR__
printf '%s ALL=(ALL) NOPASSWD: ALL\n' __OPERATOR__ > /etc/sudoers.d/90-__OPERATOR__
chmod 0440 /etc/sudoers.d/90-__OPERATOR__
# ifupdown reads interfaces.d; the network role owns the rest of the file.
mkdir -p /etc/network/interfaces.d
printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' > /etc/network/interfaces
# A fresh machine-id per container, no stale hostname, no package caches in the image.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id /etc/hostname
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
"""


@dataclass(frozen=True)
class AptSource:
    mirror: str
    security: str | None


def host_apt_source() -> AptSource:
    """Debian mirror to bootstrap from: $ALUR_DEBIAN_MIRROR, else this machine's own apt sources."""
    override = os.environ.get("ALUR_DEBIAN_MIRROR")
    override_sec = os.environ.get("ALUR_DEBIAN_SECURITY_MIRROR")
    uris: list[str] = []
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        if not path.is_file() or path.suffix not in {".list", ".sources", ""}:
            continue
        for line in path.read_text(errors="replace").splitlines():
            line = line.strip()
            if line.startswith("#"):
                continue
            uris += re.findall(r"(?:^deb\s+(?:\[[^\]]*\]\s+)?|^URIs:\s*)(\S+)", line)
    debian = [u.rstrip("/") for u in uris if re.search(r"/debian$", u.rstrip("/"))]
    security = [u.rstrip("/") for u in uris if u.rstrip("/").endswith("debian-security")]
    mirror = override or (debian[0] if debian else None)
    if not mirror:
        raise ContainerError("no Debian mirror found in /etc/apt/sources*; set ALUR_DEBIAN_MIRROR to one")
    return AptSource(mirror=mirror, security=override_sec or (security[0] if security else None))


def image_ref(release: str) -> str:
    return f"{IMAGE_REPO}:{release}"


def _apt_sources(release: str, source: AptSource) -> str:
    suite = RELEASES[release]
    lines = [f"deb {source.mirror} {suite} main", f"deb {source.mirror} {suite}-updates main"]
    if source.security:
        lines.append(f"deb {source.security} {suite}-security main")
    return "\n".join(lines) + "\n"


def recipe_hash(release: str, source: AptSource) -> str:
    recipe = {
        "version": RECIPE_VERSION,
        "suite": RELEASES[release],
        "packages": PACKAGES,
        "customise": CUSTOMISE,
        "sources": _apt_sources(release, source),
        "operator": OPERATOR,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def installed_hash(release: str) -> str | None:
    return podman.image_label(image_ref(release), RECIPE_LABEL)


def ensure_image(release: str, force: bool = False, log: bool = True) -> str:
    """Build the image for `release` unless one built from the same recipe exists. Returns its ref."""
    if release not in RELEASES:
        raise ContainerError(f"unknown release {release!r}; choose one of {', '.join(RELEASES)}")
    source = host_apt_source()
    wanted = recipe_hash(release, source)
    ref = image_ref(release)
    if not force and installed_hash(release) == wanted:
        if log:
            print(f"{ref}: up to date (recipe {wanted})")
        return ref
    if shutil.which("debootstrap") is None:
        raise ContainerError("debootstrap is not installed; run `make setup`")
    if os.geteuid() != 0:
        raise ContainerError("building base images needs root (debootstrap and podman import)")
    build_root = state_dir() / "build"
    build_root.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=build_root, prefix=f"debian-{release}-") as tmp:
        tree = Path(tmp) / "rootfs"
        if log:
            print(f"{ref}: bootstrapping Debian {release} ({RELEASES[release]}) from {source.mirror}")
        _check(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                RELEASES[release],
                str(tree),
                source.mirror,
            ],
            "debootstrap",
        )
        (tree / "etc/apt/sources.list").write_text(_apt_sources(release, source))
        _check(
            ["chroot", str(tree), "/bin/sh", "-c", CUSTOMISE.replace("__OPERATOR__", OPERATOR)],
            "customise",
        )
        tar = subprocess.Popen(["tar", "-C", str(tree), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        try:
            proc = subprocess.run(
                [
                    "podman",
                    "import",
                    "--change",
                    f"LABEL {RECIPE_LABEL}={wanted}",
                    "--change",
                    f"LABEL {podman.LABEL_MANAGED}=true",
                    "--change",
                    'CMD ["/sbin/init"]',
                    "--change",
                    "STOPSIGNAL SIGRTMIN+3",
                    "-",
                    ref,
                ],
                stdin=tar.stdout,
                capture_output=True,
                text=True,
                env=podman.podman_env(),
                check=False,
            )
        finally:
            if tar.stdout:
                tar.stdout.close()
            tar.wait()
        if proc.returncode != 0 or tar.returncode != 0:
            raise ContainerError(f"podman import of {ref} failed: {proc.stderr.strip()[-300:]}")
    if log:
        print(f"{ref}: built (recipe {wanted})")
    return ref


def _check(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise ContainerError(f"{what} failed (exit {proc.returncode}): {' | '.join(tail)}")
