"""Fixtures of the stack verifier (shared by logstash_kibana_filebeat and logstash_kibana_filebeat_upstream)."""

from __future__ import annotations

from typing import Any

import alur_probe
import elastic_probe
import pytest

LOGS, KIBANA, APP = "elk-logs", "elk-kibana", "elk-app"


@pytest.fixture(scope="session")
def logs() -> Any:
    return alur_probe.host(LOGS)


@pytest.fixture(scope="session")
def kibana() -> Any:
    return alur_probe.host(KIBANA)


@pytest.fixture(scope="session")
def app() -> Any:
    return alur_probe.host(APP)


@pytest.fixture(scope="session")
def logs_address(logs: Any) -> str:
    return elastic_probe.lab_address(logs)


@pytest.fixture(scope="session")
def kibana_address(kibana: Any) -> str:
    return elastic_probe.lab_address(kibana)


@pytest.fixture(scope="session")
def app_address(app: Any) -> str:
    return elastic_probe.lab_address(app)


@pytest.fixture(scope="session")
def es_url(logs_address: str) -> str:
    return f"https://{logs_address}:9200"
