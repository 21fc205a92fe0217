#!/usr/bin/python
"""Install a vendor's apt signing key as a keyring for signed-by, only when its fingerprint is the pinned one."""

from __future__ import annotations

DOCUMENTATION = r"""
module: artifacts_apt_key
short_description: Install an apt signing key whose fingerprint is verified first
description:
  - Downloads an OpenPGP key, checks that it holds the pinned primary key fingerprint, and writes only that
    key (binary, for C(signed-by)) to O(dest). Other keys in the download are never written.
  - When O(dest) already holds exactly the pinned key, nothing is downloaded.
  - Never touches apt-key or /etc/apt/trusted.gpg.d.
options:
  url:
    description: Where the key is published (ASCII-armored or binary).
    type: str
    required: true
  fingerprint:
    description: The primary key fingerprint the key must have (spaces ignored, any case).
    type: str
    required: true
  dest:
    description: Keyring file to write, e.g. /etc/apt/keyrings/alur-jenkins.gpg.
    type: path
    required: true
  validate_certs:
    description: Check the server's TLS certificate.
    type: bool
    default: true
author: Alur
"""

RETURN = r"""
fingerprint:
  description: The fingerprint now in O(dest).
  returned: success
  type: str
"""

import os
import shutil
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url


def _gpg(home, *args):
    return subprocess.run(
        ["gpg", "--batch", "--quiet", "--no-autostart", "--homedir", home, *args],
        capture_output=True,
        check=False,
    )


def _primary_fingerprints(home, path):
    proc = _gpg(home, "--with-colons", "--show-keys", path)
    if proc.returncode != 0:
        return None
    lines = proc.stdout.decode(errors="replace").splitlines()
    return [line.split(":")[9] for prev, line in zip(lines, lines[1:]) if prev.startswith("pub:") and line.startswith("fpr:")]


def main():
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "fingerprint": {"type": "str", "required": True},
            "dest": {"type": "path", "required": True},
            "validate_certs": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    wanted = module.params["fingerprint"].replace(" ", "").upper()
    dest = module.params["dest"]
    if shutil.which("gpg") is None:
        if module.check_mode:
            # --check on a fresh host: the task before this one would have installed gpg.
            module.exit_json(changed=True, fingerprint=wanted, msg="gpg is not installed yet; key not checked")
        module.fail_json(msg="gpg is needed to check key fingerprints (install the gpg package)")
    home = tempfile.mkdtemp(prefix="alur-gpg-")
    try:
        if os.path.exists(dest) and _primary_fingerprints(home, dest) == [wanted]:
            module.exit_json(changed=False, fingerprint=wanted)
        response, info = fetch_url(module, module.params["url"], timeout=30)
        if info.get("status") != 200 or response is None:
            module.fail_json(msg=f"cannot download {module.params['url']}: {info.get('status')} {info.get('msg')}")
        downloaded = os.path.join(home, "downloaded.key")
        with open(downloaded, "wb") as fh:
            fh.write(response.read())
        found = _primary_fingerprints(home, downloaded)
        if not found or wanted not in found:
            module.fail_json(
                msg=f"{module.params['url']} holds key(s) {', '.join(found or ['none'])}, not the pinned {wanted}; "
                "check the fingerprint against the vendor's documentation before changing it",
                found=found or [],
            )
        if _gpg(home, "--import", downloaded).returncode != 0:
            module.fail_json(msg=f"gpg could not import {module.params['url']}")
        exported = _gpg(home, "--export", wanted)
        if exported.returncode != 0 or not exported.stdout:
            module.fail_json(msg=f"gpg could not export key {wanted}")
        if module.check_mode:
            module.exit_json(changed=True, fingerprint=wanted)
        os.makedirs(os.path.dirname(dest), mode=0o755, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".alur-key-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(exported.stdout)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        module.exit_json(changed=True, fingerprint=wanted)
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
