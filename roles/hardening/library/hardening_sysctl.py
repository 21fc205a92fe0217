#!/usr/bin/python
"""Set kernel parameters where the kernel lets this host set them; report the rest instead of failing."""

from __future__ import annotations

import os
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: hardening_sysctl
short_description: Apply sysctl values where possible, report the ones this host cannot set
description:
  - For each key, reads /proc/sys; a differing value is written when the file is writable.
  - Keys the kernel does not have are reported as missing; keys whose file is read-only (a container
    shares its host's kernel and sees /proc/sys read-only) are reported as unsettable. Neither fails the task.
  - Supports check mode. Persisting the values (sysctl.d) is left to the caller.
options:
  settings:
    description: Keys (dotted, e.g. net.ipv4.tcp_syncookies) and the values they should have.
    type: dict
    required: true
author: Alur
"""

EXAMPLES = r"""
- name: Apply kernel settings
  hardening_sysctl:
    settings:
      net.ipv4.tcp_syncookies: 1
"""

RETURN = r"""
applied:
  description: Keys this run changed (or would change in check mode).
  type: list
  returned: always
unsettable:
  description: Keys whose value differs but which this host cannot set.
  type: list
  returned: always
missing:
  description: Keys this kernel does not have.
  type: list
  returned: always
reason:
  description: Why keys were unsettable (read-only /proc/sys, or the write error).
  type: str
  returned: always
"""


def normalise(value: object) -> str:
    return " ".join(str(value).split())


def main() -> None:
    module = AnsibleModule(argument_spec={"settings": {"type": "dict", "required": True}}, supports_check_mode=True)
    applied: list[str] = []
    unsettable: list[str] = []
    missing: list[str] = []
    reasons: set[str] = set()
    for key, wanted in sorted(module.params["settings"].items()):
        path = Path("/proc/sys", *key.split("."))
        try:
            current = path.read_text()
        except OSError:
            missing.append(key)
            continue
        if normalise(current) == normalise(wanted):
            continue
        if not os.access(path, os.W_OK):
            unsettable.append(key)
            reasons.add("read-only /proc/sys (a container shares the host's kernel)")
            continue
        if module.check_mode:
            applied.append(key)
            continue
        try:
            path.write_text(normalise(wanted))
        except OSError as err:
            unsettable.append(key)
            reasons.add(err.strerror or str(err))
            continue
        applied.append(key)
    module.exit_json(
        changed=bool(applied),
        applied=applied,
        unsettable=unsettable,
        missing=missing,
        reason="; ".join(sorted(reasons)),
    )


if __name__ == "__main__":
    main()
