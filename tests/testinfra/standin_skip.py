"""Skip tests that need the real vendor product when only a CI stand-in (+standin) is installed.

    @pytest.mark.real_product("jenkins")      # skipped with reason "stand-in" when jenkins is a stand-in
    def test_anonymous_is_refused(host): ...

With no arguments the marker looks at every product package. The autouse fixture below does the check;
molecule/conftest.py imports it, so every scenario's verifier has it.
"""

from __future__ import annotations

from typing import Any

import pytest

STANDIN = "+standin"
PRODUCT_PACKAGES = ("jenkins", "elasticsearch", "logstash", "kibana", "filebeat")
REASON = "stand-in"


def installed_versions(host: Any, packages: tuple[str, ...]) -> dict[str, str]:
    """Installed package -> version on a testinfra host (packages that are not installed are left out)."""
    out = host.run("dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n' " + " ".join(packages))
    versions = {}
    for line in out.stdout.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2][1:2] not in {"n", "c"}:
            versions[fields[0]] = fields[1]
    return versions


def standins(versions: dict[str, str], packages: tuple[str, ...] = PRODUCT_PACKAGES) -> list[str]:
    """The packages among `packages` whose installed version is a stand-in."""
    return sorted(name for name in packages if STANDIN in versions.get(name, ""))


@pytest.fixture(autouse=True)
def skip_real_product_on_standins(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("real_product")
    if marker is None or "host" not in request.fixturenames:
        return
    packages = tuple(marker.args) or PRODUCT_PACKAGES
    if standins(installed_versions(request.getfixturevalue("host"), packages), packages):
        pytest.skip(REASON)
