#!/usr/bin/python
"""Write ifupdown's files through alur-netapply, which reverts them when the controller cannot confirm."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ifupdown_apply
short_description: Apply /etc/network/interfaces and its fragments with an automatic rollback
description:
  - Compares the wanted C(/etc/network/interfaces) and the wanted files under C(/etc/network/interfaces.d) whose
    name starts with O(fragment_prefix) with the live ones, and reports the difference (check mode and diff mode
    show it without touching anything). Files under C(/etc/network/interfaces.d) without that prefix are never
    touched; files with it that are not in O(fragments) are removed.
  - When a file's content differs, or an C(auto) interface of those files is not up, stages the new set under
    O(state_dir)C(/staged) and runs C(alur-netapply start) (installed by the network role). That program checks
    the staged set with C(ifup --no-act), backs up the live files, arms a revert timer of O(rollback_timeout)
    seconds and applies the change from a transient systemd unit that outlives the connection. It refuses a set
    C(ifup --no-act) rejects, or a change while an earlier one is still unconfirmed; nothing changes then.
  - The module returns while the change is being applied (RV(state) C(applying)). The caller must then reconnect
    and confirm with C(alur-netapply challenge) and C(alur-netapply confirm) within O(rollback_timeout), or the
    host restores the old files and configuration by itself.
  - When only owner or mode differ, sets them (root, 0644) in place; no interface is bounced.
version_added: 0.1.0
author: Alur
options:
  interfaces:
    description: The wanted content of C(/etc/network/interfaces).
    type: str
    required: true
  fragments:
    description:
      - The wanted files under C(/etc/network/interfaces.d), file name to content. Each name starts with
        O(fragment_prefix).
    type: dict
    default: {}
  fragment_prefix:
    description: The prefix of the files under C(/etc/network/interfaces.d) this module owns.
    type: str
    default: alur-
  rollback_timeout:
    description: Seconds the host waits for the confirmation before it reverts by itself.
    type: int
    default: 90
  connect_address:
    description:
      - The address the controller reaches the host at now. When the change moves it, the result's
        RV(change.reconnect_address) is the interface's new address.
    type: str
  reconnect_address:
    description: The address to reach the host at after the change, overriding the one alur-netapply works out.
    type: str
  apply_delay:
    description:
      - Seconds the transient unit waits before it takes interfaces down (alur-netapply's default leaves the
        connection that started it time to return). Tests set it to reconnect before the bounce.
    type: float
  helper:
    description: Path of the C(alur-netapply) program on the host.
    type: path
    default: /usr/local/sbin/alur-netapply
  state_dir:
    description: alur-netapply's state folder; the new set is staged in its C(staged) subfolder.
    type: path
    default: /var/lib/alur-network
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: debian
notes:
  - Needs ifupdown, systemd and alur-netapply on the host; runs as root.
  - In check mode on a host without alur-netapply yet, an C(auto) interface that is down is not reported
    (no file of the role is there either, so the files' diff already shows the change).
seealso:
  - name: The network role's README (how a change is applied and rolled back)
    description: roles/network/README.md in the Alur repository.
    link: https://example.invalid/alur/roles/network/README.md
"""

EXAMPLES = r"""
- name: Write /etc/network/interfaces and its fragments, applied with automatic rollback
  alur.site.ifupdown_apply:
    interfaces: |
      auto lo
      iface lo inet loopback

      source /etc/network/interfaces.d/*
    fragments:
      alur-eth1: |
        auto eth1
        iface eth1 inet static
            address 192.168.10.20
            netmask 255.255.255.0
    rollback_timeout: 90
    connect_address: "{{ ansible_host | default(inventory_hostname) }}"
  register: network_change

- name: Confirm from the controller once it reaches the host again
  ansible.builtin.command:
    argv: [/usr/local/sbin/alur-netapply, challenge, --id, "{{ network_change.change.id }}"]
  when: network_change.state == 'applying'
  changed_when: false
"""

RETURN = r"""
state:
  description:
    - C(unchanged) when every file is as wanted; C(attributes) when only owner or mode were set.
    - C(planned) in check mode when a change would start.
    - C(installed) when only comments changed, so the files were replaced and no interface bounced.
    - C(applying) when the change is being applied and waits for the confirmation.
  returned: always
  type: str
  sample: applying
files:
  description: The live paths whose content changes (created, changed or removed).
  returned: always
  type: list
  elements: str
  sample: [/etc/network/interfaces.d/alur-eth1]
change:
  description:
    - What C(alur-netapply start) reported; empty unless a change was started.
    - C(id) names the change for C(challenge) and C(confirm); C(up) and C(down) list the interfaces bounced;
      C(reconnect_address) is where the controller finds the host afterwards; C(deadline) is when the host
      reverts unless confirmed; C(backup) holds the old files.
  returned: always
  type: dict
  sample:
    id: 20250101120000-4242
    state: applying
    up: [eth1]
    down: [eth1]
    reconnect_address: 192.168.10.20
    deadline: "12:01:30"
    backup: /var/lib/alur-network/backups/20250101120000-4242
"""

import json
import os
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.alur.site.plugins.module_utils.network import files


def _helper_json(module: AnsibleModule, argv: list[str]) -> tuple[int, dict[str, Any], str]:
    rc, out, err = module.run_command(argv)
    try:
        data = json.loads(out) if out.strip() else {}
    except ValueError:
        data = {}
    return rc, data if isinstance(data, dict) else {}, err


def _auto_down(module: AnsibleModule, helper: str) -> list[str]:
    """`auto` interfaces of the role's files that ifupdown has not brought up (alur-netapply's own view)."""
    if module.check_mode and not Path(helper).exists():
        # On a host the role has not run on yet, the helper is not installed in check mode.
        return []
    rc, facts, err = _helper_json(module, [helper, "facts"])
    if rc != 0:
        module.fail_json(msg=f"{helper} facts failed: {err.strip() or rc}")
    return [str(name) for name in facts.get("auto_down", [])]


def run(module: AnsibleModule) -> dict[str, Any]:
    params = module.params
    try:
        wanted = files.wanted_files(params["interfaces"], params["fragments"], params["fragment_prefix"])
    except ValueError as error:
        module.fail_json(msg=str(error))
    changes = files.compare(wanted, files.read_live(prefix=params["fragment_prefix"]))
    result: dict[str, Any] = {
        "changed": False,
        "state": "unchanged",
        "files": [c.path for c in changes if c.content_differs],
        "change": {},
        "diff": files.diff(changes),
    }
    step = files.next_step(changes, _auto_down(module, params["helper"]))
    if step == files.NOTHING:
        return result
    result["changed"] = True
    if step == files.FIX_ATTRIBUTES:
        result["state"] = "attributes"
        if not module.check_mode:
            files.fix_attributes(changes)
        return result
    if module.check_mode:
        result["state"] = "planned"
        return result

    files.stage(Path(params["state_dir"]) / "staged", wanted)
    argv = [params["helper"], "start", "--timeout", str(params["rollback_timeout"])]
    for option, value in (
        ("--connect-address", params["connect_address"]),
        ("--reconnect-address", params["reconnect_address"]),
        ("--apply-delay", params["apply_delay"]),
    ):
        if value not in (None, ""):
            argv += [option, str(value)]
    rc, report, err = _helper_json(module, argv)
    if rc != 0:
        why = report.get("error") or err.strip() or f"{params['helper']} start exited {rc}"
        module.fail_json(
            msg=f"the new network configuration was refused and nothing was changed: {why}",
            state="refused",
            files=result["files"],
            change=report,
        )
    result.update(changed=bool(report.get("changed")), state=str(report.get("state", "")), change=report)
    return result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "interfaces": {"type": "str", "required": True},
            "fragments": {"type": "dict", "default": {}},
            "fragment_prefix": {"type": "str", "default": files.PREFIX},
            "rollback_timeout": {"type": "int", "default": 90},
            "connect_address": {"type": "str"},
            "reconnect_address": {"type": "str"},
            "apply_delay": {"type": "float"},
            "helper": {"type": "path", "default": "/usr/local/sbin/alur-netapply"},
            "state_dir": {"type": "path", "default": "/var/lib/alur-network"},
        },
        supports_check_mode=True,
    )
    if os.geteuid() != 0:
        module.fail_json(msg="ifupdown_apply runs as root (become: true)")
    result = run(module)
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
