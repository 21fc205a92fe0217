"""Fixtures of the Jenkins verifier (shared by the jenkins and jenkins_upstream scenarios)."""

from __future__ import annotations

import http.client
import os
import ssl
import subprocess
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import alur_probe
import pytest

CONTROLLER = "jenkins-ctl"
AGENT = "jenkins-agent"
SCENARIO_DIR = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "changes_the_controller(step): the test changes what the others read (a redeploy, a restart); it runs after "
        "every other test, lower steps first",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Most checks read the converged hosts as they are (Jenkins started once, the files it started with). The few
    that change them go last, in the order their marker says: a configuration reload (step 1), then a restore that
    restarts Jenkins (step 2). The order is stated here, not borrowed from file names."""

    def step(item: pytest.Item) -> int:
        marker = item.get_closest_marker("changes_the_controller")
        return int(marker.args[0]) if marker else 0

    items.sort(key=step)  # stable: the reading checks keep their collection order


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str


@pytest.fixture(scope="session")
def ctl() -> Any:
    return alur_probe.host(CONTROLLER)


@pytest.fixture(scope="session")
def agent() -> Any:
    return alur_probe.host(AGENT)


@pytest.fixture(scope="session")
def ctl_address(ctl: Any) -> str:
    return alur_probe.address(ctl)


@pytest.fixture(scope="session")
def inventory_dir() -> Path:
    return Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent


@pytest.fixture(scope="session")
def ca_file(inventory_dir: Path) -> Path:
    path = inventory_dir / ".pki" / "ca.crt"
    assert path.is_file(), f"the controller-side CA certificate is missing: {path}"
    return path


@pytest.fixture(scope="session")
def admin_password(inventory_dir: Path) -> str:
    """The generated admin password, read the way an operator would: ansible-vault view on the controller."""
    vault_file = inventory_dir / ".secrets" / CONTROLLER / "jenkins_admin_password.vault"
    assert vault_file.read_text().startswith("$ANSIBLE_VAULT;"), "the generated password is not vault-encrypted"
    proc = subprocess.run(
        ["ansible-vault", "view", "--vault-password-file", str(SCENARIO_DIR / "vault-password"), str(vault_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


@pytest.fixture(scope="session")
def standin(ctl: Any) -> bool:
    return "+standin" in ctl.check_output("dpkg-query -W -f='${Version}' jenkins")


@pytest.fixture
def real_jenkins(standin: bool) -> None:
    if standin:
        pytest.skip("stand-in")


@pytest.fixture(scope="session")
def https(ctl_address: str, ca_file: Path) -> Any:
    """GET/POST through the proxy, verifying its certificate against the controller-side CA and the address."""

    def request(path: str, user: str | None = None, password: str | None = None, method: str = "GET") -> Answer:
        context = ssl.create_default_context(cafile=str(ca_file))
        conn = http.client.HTTPSConnection(ctl_address, 443, context=context, timeout=30)
        headers = {}
        if user is not None:
            headers["Authorization"] = "Basic " + b64encode(f"{user}:{password}".encode()).decode()
        try:
            conn.request(method, path, headers=headers)
            response = conn.getresponse()
            body = response.read().decode(errors="replace")
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
        finally:
            conn.close()

    return request
