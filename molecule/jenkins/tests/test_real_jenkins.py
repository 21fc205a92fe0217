"""Jenkins through its API: the admin login, anonymous refusal and the applied JCasC and plugin set run on the CI
stand-in too (it checks the local realm's password, computes /api/json from JCasC and loads the plugin files with
their dependencies); the agent and the example job need the real Jenkins and are skipped (reason: stand-in) on it.
Run everything with the jenkins_upstream scenario on a machine that reaches the vendor's repositories."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.alur.site.plugins.module_utils import lockfile as plugin_lockfile

LOCKFILE = Path(__file__).resolve().parents[3] / "roles" / "jenkins" / "files" / "plugins.lock"


def lockfile() -> dict[str, str]:
    """The lockfile as the role reads it (alur.site.plugin_lockfile)."""
    return plugin_lockfile.pins(LOCKFILE.read_text(), str(LOCKFILE))


def wait_for(what: str, probe: Any, timeout: float = 420.0, every: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"{what} within {timeout:.0f}s (last answer: {last!r})")


def test_admin_logs_in(https: Any, admin_password: str) -> None:
    who = https("/whoAmI/api/json", "admin", admin_password)
    assert who.status == 200, who.body[:300]
    assert json.loads(who.body)["name"] == "admin"
    assert https("/whoAmI/api/json", "admin", "admin").status == 401, "admin/admin must not work"


def test_anonymous_gets_403(https: Any) -> None:
    assert https("/api/json").status == 403
    assert https("/job/alur-example/").status in {403, 404}


def test_casc_applied(https: Any, admin_password: str, ctl_address: str) -> None:
    root = json.loads(https("/api/json?tree=numExecutors,url,useSecurity", "admin", admin_password).body)
    assert root["numExecutors"] == 0
    assert root["useSecurity"] is True
    assert root["url"] == f"https://{ctl_address}/"
    plugins = json.loads(
        https("/pluginManager/api/json?depth=1&tree=plugins[shortName,active,version]", "admin", admin_password).body
    )["plugins"]
    active = {p["shortName"]: p["version"] for p in plugins if p["active"]}
    pins = lockfile()
    assert pins, "the lockfile names no plugin"
    # Every pinned plugin is loaded at its pinned version (an empty or partial plugin list fails here).
    assert {name: active.get(name) for name in pins} == pins
    assert all(p["active"] for p in plugins), [p["shortName"] for p in plugins if not p["active"]]


# The shared skip (tests/testinfra/standin_skip.py) keys on the `host` fixture; these tests use `ctl`, so the
# real_jenkins fixture does the same check on the controller.
@pytest.mark.real_product("jenkins")
@pytest.mark.usefixtures("real_jenkins")
def test_agent_comes_online(https: Any, admin_password: str) -> None:
    def online() -> Any:
        answer = https("/computer/jenkins-agent/api/json", "admin", admin_password)
        return answer.status == 200 and not json.loads(answer.body)["offline"]

    wait_for("the SSH agent jenkins-agent came online", online)


@pytest.mark.real_product("jenkins")
@pytest.mark.usefixtures("real_jenkins")
def test_example_job_succeeds_on_the_agent(https: Any, admin_password: str) -> None:
    def finished() -> Any:
        answer = https("/job/alur-example/lastBuild/api/json", "admin", admin_password)
        if answer.status != 200:
            return None
        build = json.loads(answer.body)
        return build if not build["building"] and build["result"] else None

    build = wait_for("the seeded alur-example job finished a build", finished, timeout=600)
    assert build["result"] == "SUCCESS"
    console = https("/job/alur-example/lastBuild/consoleText", "admin", admin_password).body
    assert "built on jenkins-agent as jenkins-agent" in console
