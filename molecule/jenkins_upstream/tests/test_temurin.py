"""Debian 12 + Temurin, only in jenkins_upstream: its agent host runs Debian 12, which ships only OpenJDK 17, so
the java role takes Java 21 from Adoptium's apt repository (through the artifacts role), and the Jenkins agent the
controller launches over SSH must run on that Java. The rest of the verifier is molecule/jenkins/tests."""

from __future__ import annotations

import re
import time
from typing import Any

import alur_probe
import pytest

AGENT = "jenkins-agent"
TEMURIN = "temurin-21-jdk"
ADOPTIUM = "https://packages.adoptium.net/artifactory/deb"
ADOPTIUM_KEY = "3B04D753C9050D9A5D343F39843C48A565F8F04B"


@pytest.fixture(scope="module")
def agent() -> Any:
    return alur_probe.host(AGENT)


def test_the_agent_host_is_debian_12(agent: Any) -> None:
    assert agent.system_info.distribution == "debian" and agent.system_info.release.startswith("12"), (
        "this scenario's Debian 12 host is what puts the Temurin path under test"
    )


def test_temurin_21_comes_from_adoptium_under_its_pinned_key(agent: Any) -> None:
    policy = agent.check_output(f"apt-cache policy {TEMURIN}")
    installed = re.search(r"Installed: (\S+)", policy)
    assert installed and installed.group(1) != "(none)", policy
    # The version table marks the installed version with *** and lists, indented below it, where it comes from.
    offered = re.search(rf"^ \*\*\* {re.escape(installed.group(1))} .*\n((?: {{8}}.*\n?)+)", policy, re.M)
    assert offered and f"{ADOPTIUM} bookworm/main" in offered.group(1), policy
    assert TEMURIN in agent.check_output("apt-mark showhold").split(), "held, like the other vendor packages"
    source = agent.file("/etc/apt/sources.list.d/alur-temurin.sources")
    assert source.contains(f"^URIs: {ADOPTIUM}$") and source.contains("^Signed-By: /etc/apt/keyrings/alur-temurin.gpg$")
    keyring = agent.check_output("gpg --show-keys --with-colons /etc/apt/keyrings/alur-temurin.gpg")
    assert [line.split(":")[9] for line in keyring.splitlines() if line.startswith("fpr:")][:1] == [ADOPTIUM_KEY]


def test_the_jenkins_agent_runs_on_temurin_21(agent: Any) -> None:
    """The agent process the controller's SSH launcher started (remoting.jar as jenkins-agent), by its binary."""
    deadline = time.monotonic() + 600
    pid = ""
    while not pid and time.monotonic() < deadline:
        pid = agent.run("pgrep -o -u jenkins-agent -f remoting.jar").stdout.strip()
        if not pid:
            time.sleep(5)
    assert pid, "no Jenkins agent (remoting.jar) ran on the agent host within 10 minutes"
    with agent.sudo():
        java = agent.check_output(f"readlink -f /proc/{pid}/exe")
    owner = agent.check_output(f"dpkg-query -S {java}")
    assert owner.split(":", 1)[0] == TEMURIN, f"the agent runs {java}, from {owner}"
    settings = agent.run(f"{java} -XshowSettings:properties -version").stderr
    assert re.search(r"^\s*java\.version = 21\.", settings, re.M), settings
    assert re.search(r"^\s*java\.vendor = Eclipse Adoptium$", settings, re.M), settings
    # The system's java is the same one (java_set_default), so the example job's `java -version` is Temurin too.
    assert agent.check_output("readlink -f /usr/bin/java") == java
