#!/usr/bin/python3
"""TEST SHIM, not a vendor tool: logstash-keystore / kibana-keystore for hosts running the CI stand-ins.

The stand-in packages (tests/standins) do not ship these tools yet. This shim has the vendor tools' command
line as the roles use it, so the roles' keystore handling runs unchanged in CI:

    logstash-keystore [--path.settings DIR] create | list | add KEY (value on stdin) | remove KEY
    kibana-keystore create | list | add [--force] [--stdin] KEY (value on stdin, JSON-parsed) | remove KEY

Values are stored base64-encoded (like the Elasticsearch stand-in's keystore), never as plain text.
"""

import base64
import contextlib
import json
import os
import sys
from pathlib import Path

tool = Path(sys.argv[0]).name
args = sys.argv[1:]
if tool.startswith("logstash"):
    folder = Path("/usr/share/logstash/config")
    if "--path.settings" in args:
        index = args.index("--path.settings")
        folder = Path(args[index + 1])
        del args[index : index + 2]
    store = folder / "logstash.keystore"
else:
    store = Path(os.environ.get("KBN_PATH_CONF", "/etc/kibana")) / "kibana.keystore"
words = [a for a in args if not a.startswith("-")]
if not words:
    sys.exit(f"{tool} (alur test shim): usage: create|list|add|remove")


def load() -> dict:
    if not store.exists():
        sys.exit(f"ERROR: {store} does not exist (alur test shim)")
    return json.loads(store.read_text())["entries"]


def save(entries: dict) -> None:
    store.write_text(json.dumps({"alur_test_shim": True, "entries": entries}) + "\n")


command, rest = words[0], words[1:]
if command == "create":
    if tool.startswith("logstash"):
        print("Continue without password protection on the keystore? [y/N]", flush=True)
        if sys.stdin.readline().strip().lower() != "y":
            sys.exit("keystore not created")
    save({})
elif command == "list":
    print("\n".join(sorted(load())))
elif command == "add":
    entries = load()
    for key in rest:
        name = key.lower() if tool.startswith("logstash") else key
        if name in entries and "--force" not in args and "-f" not in args:
            sys.exit(f"ERROR: {key} already exists (alur test shim)")
        value = sys.stdin.readline().rstrip("\n")
        if not tool.startswith("logstash"):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        entries[name] = base64.b64encode(json.dumps(value).encode()).decode()
    save(entries)
elif command == "remove":
    entries = load()
    for key in rest:
        entries.pop(key.lower() if tool.startswith("logstash") else key, None)
    save(entries)
else:
    sys.exit(f"{tool} (alur test shim): {command} is not implemented")
