"""CI stand-in for jenkins: NOT the vendor's program. See tests/standins/README.md."""

# ruff: noqa: S104
from __future__ import annotations

import os
import re
from pathlib import Path

import yaml
from standin_common import VERSION, ConfigError, Routes, die, run_forever, serve

# --------------------------------------------------------------------------- Jenkins


def java_major(command: str) -> int | None:
    import subprocess

    try:
        proc = subprocess.run([command, "-version"], capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)', proc.stderr + proc.stdout)
    return int(match.group(1)) if match else None


def jenkins() -> None:
    env = os.environ
    home = Path(env.get("JENKINS_HOME", "/var/lib/jenkins"))
    java = env.get("JENKINS_JAVA_CMD") or (
        str(Path(env["JAVA_HOME"]) / "bin" / "java") if env.get("JAVA_HOME") else "java"
    )
    major = java_major(java)
    if major is None:
        die("jenkins", f"failed to find a valid Java installation ({java}); Jenkins needs Java 21 or 25")
    if major not in {21, 25}:
        die("jenkins", f"invalid Java version {major} from {java}; Jenkins needs Java 21 or 25")
    if not home.is_dir():
        die("jenkins", f"JENKINS_HOME {home} is not a directory")
    casc = Path(env.get("CASC_JENKINS_CONFIG", str(home / "jenkins.yaml")))
    casc_files = sorted(casc.glob("*.y*ml")) if casc.is_dir() else [casc] if casc.exists() else []
    try:
        for path in casc_files:
            yaml.safe_load(path.read_text())
        port = int(env.get("JENKINS_PORT", "8080"))
    except (yaml.YAMLError, ValueError) as exc:
        die("jenkins", f"configuration does not parse: {exc}")
    prefix = env.get("JENKINS_PREFIX", "").rstrip("/")
    if prefix and not prefix.startswith("/"):
        die("jenkins", f"JENKINS_PREFIX {prefix!r} must start with /")
    if port != -1:
        routes = Routes("jenkins", prefix)
        page = f"<html><body><h1>alur CI stand-in for Jenkins {VERSION}</h1><p>Not Jenkins.</p></body></html>"
        routes.add("/login", page, headers={"X-Jenkins": VERSION})
        try:
            serve(routes, env.get("JENKINS_LISTEN_ADDRESS") or "0.0.0.0", port)
        except ConfigError as exc:
            die("jenkins", str(exc))
    run_forever("jenkins")
