"""The lab the container tests of this folder share: two fresh hosts per test module (lab_hosts.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from lab_hosts import BIN, PLATFORMS, LabUp, TwoHosts, run


@pytest.fixture(scope="module")
def two_hosts(containers_ready: None) -> Iterator[LabUp]:
    """Brings up two fresh hosts, a (Debian 13) and b (Debian 12), when called; removes them after the module."""
    made: list[str] = []

    def up(prefix: str, lan_bridge: str | None = None) -> TwoHosts:
        instance = f"{prefix}{os.environ['ALUR_RUN_ID']}"
        made.append(instance)  # before it is up: a half-made lab is removed too
        command = [str(BIN / "alur"), "lab", "up", "--json", "--instance", instance]
        command += ["--platforms-json", json.dumps(PLATFORMS), "--owner-pid", os.environ["ALUR_OWNER_PID"]]
        if lan_bridge:
            command += ["--lan-bridge", lan_bridge]
        proc = run(*command)
        assert proc.returncode == 0, proc.stderr
        addresses = {host["instance"]: host["address"] for host in json.loads(proc.stdout)}
        assert sorted(addresses) == [p["name"] for p in PLATFORMS], addresses
        return TwoHosts(instance, addresses)

    try:
        yield up
    finally:
        for instance in made:
            run(str(BIN / "alur"), "lab", "down", "--instance", instance)
