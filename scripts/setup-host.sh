#!/usr/bin/env bash
# Install the host packages alur's lab and tests need, only when missing.
# Idempotent and quick when everything is there (one dpkg query).
# Arguments name more packages (make test adds chromium, for the e2e report screenshot).
set -euo pipefail

# ssh-audit: molecule/common judges each host's sshd with it from this machine.
packages=(podman runc debootstrap openssh-client ssh-audit iproute2 nftables tar gpg gpgv "$@")
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: python3 >= 3.11 is required (found: $(python3 --version 2>&1))" >&2
  exit 1
fi
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing+=(python3-venv)
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: host packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing host packages: ${missing[*]}" >&2
  echo "setup: install them as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
