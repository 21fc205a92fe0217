"""The Elasticsearch stand-in's contract (tests/standins/contract/elasticsearch.yml): each rule refused once.

The stand-in runs as a local process on 127.0.0.1 with its configuration in tmp_path. Production mode comes from
transport.publish_host (a documentation address, never contacted), so nothing binds outside loopback. Host facts
are set per process: resource limits through preexec_fn, vm.max_map_count through the stand-in's test seam
(ALUR_STANDIN_MAX_MAP_COUNT_PATH); this machine's hard file-descriptor limit may be below 65535, so every test
but the file-descriptor one waives that check (ALUR_STANDIN_WAIVED_BOOTSTRAP_CHECKS) and says so.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import standin_elasticsearch  # the stand-in program's module: pythonpath in pyproject
from standin_process import free_port

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "standins" / "program" / "service.py"
TEMPLATE = ROOT / "roles" / "elasticsearch" / "templates" / "etc" / "elasticsearch" / "elasticsearch.yml.j2"
OUTSIDE = "192.0.2.10"  # TEST-NET-1: a non-loopback publish address that is never contacted


class Node:
    """One stand-in node's folder: elasticsearch.yml, jvm.options.d, data, and the host facts it will see."""

    def __init__(self, folder: Path, production: bool = True, **settings: object):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "data").mkdir(exist_ok=True)
        (folder / "jvm.options.d").mkdir(exist_ok=True)
        self.http, self.transport = free_port(), free_port()
        self.settings: dict[str, object] = {
            "network.host": "127.0.0.1",
            "http.port": self.http,
            "transport.port": self.transport,
            "path.data": str(folder / "data"),
        }
        if production:
            self.settings["transport.publish_host"] = OUTSIDE
            self.settings["discovery.seed_hosts"] = [f"127.0.0.1:{self.transport}"]
        self.settings.update(settings)
        self.map_count = 262144
        self.waived = ["file_descriptors"]
        self.limits: dict[int, int] = {}

    def heap(self, initial: str, maximum: str) -> None:
        (self.folder / "jvm.options.d" / "heap.options").write_text(f"-Xms{initial}\n-Xmx{maximum}\n")

    def env(self) -> dict[str, str]:
        (self.folder / "elasticsearch.yml").write_text(
            "".join(f"{k}: {json.dumps(v)}\n" for k, v in self.settings.items() if v is not None)
        )
        (self.folder / "max_map_count").write_text(f"{self.map_count}\n")
        return {
            **os.environ,
            "ES_PATH_CONF": str(self.folder),
            "ES_JAVA_OPTS": "",
            standin_elasticsearch.MAX_MAP_COUNT_PATH_ENV: str(self.folder / "max_map_count"),
            standin_elasticsearch.WAIVED_CHECKS_ENV: ",".join(self.waived),
        }

    def preexec(self) -> Callable[[], None]:
        limits = dict(self.limits)

        def apply() -> None:
            for kind, soft in limits.items():
                resource.setrlimit(kind, (soft, resource.getrlimit(kind)[1]))

        return apply

    def refused(self) -> str:
        """The node's error output; fails the test when the node starts instead."""
        try:
            proc = subprocess.run(
                [sys.executable, str(PROGRAM), "elasticsearch"],
                env=self.env(),
                preexec_fn=self.preexec(),
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail("the node started: the stand-in did not refuse this configuration")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        return proc.stderr

    @contextmanager
    def running(self) -> Iterator[subprocess.Popen[str]]:
        proc = subprocess.Popen(
            [sys.executable, str(PROGRAM), "elasticsearch"],
            env=self.env(),
            preexec_fn=self.preexec(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 20
            while call(f"http://127.0.0.1:{self.http}/")[0] == 0:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the node did not start: {proc.communicate()[0]}")
                time.sleep(0.2)
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    def output(self, proc: subprocess.Popen[str]) -> str:
        proc.terminate()
        return proc.communicate(timeout=10)[0]


def call(url: str, timeout: float = 40) -> tuple[int, dict]:
    """(status, JSON body); status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - 127.0.0.1 only
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return 0, {}


# --- settings ---------------------------------------------------------------------------------


def test_unknown_setting_stops_the_node(tmp_path: Path) -> None:
    node = Node(tmp_path, production=False, **{"node.master": True})  # removed in 8.0
    assert "unknown setting [node.master]" in node.refused()
    node.settings["node.master"] = None
    node.settings["xpack.security.http.ssl.verification_mode"] = "full"  # an SSL affix setting: known
    with node.running():
        pass


def test_every_setting_the_role_writes_is_a_known_setting() -> None:
    written = set(re.findall(r"^([a-z][\w.-]*):", TEMPLATE.read_text(), re.MULTILINE))
    assert {"cluster.name", "network.host", "xpack.security.transport.ssl.certificate"} <= written
    standin_elasticsearch.check_settings(dict.fromkeys(written, "x"))
    # Extra settings the scenarios pass through elasticsearch_extra_settings.
    standin_elasticsearch.check_settings({"action.destructive_requires_name": True})


def test_cluster_name_with_a_colon_is_refused(tmp_path: Path) -> None:
    assert "[cluster.name]" in Node(tmp_path, production=False, **{"cluster.name": "a:b"}).refused()


def test_unknown_discovery_type_is_refused(tmp_path: Path) -> None:
    assert "Unknown discovery type [ec2]" in Node(tmp_path, production=False, **{"discovery.type": "ec2"}).refused()


def test_single_node_with_initial_master_nodes_is_refused(tmp_path: Path) -> None:
    node = Node(tmp_path, production=False, **{"discovery.type": "single-node", "cluster.initial_master_nodes": ["a"]})
    assert "is not allowed when [discovery.type] is set to [single-node]" in node.refused()


def test_duplicate_initial_master_nodes_are_refused(tmp_path: Path) -> None:
    node = Node(tmp_path, production=False, **{"cluster.initial_master_nodes": ["a", "b", "a"]})
    assert "contains duplicates" in node.refused()


# --- bootstrap checks -------------------------------------------------------------------------


def test_production_node_starts_when_its_checks_pass(tmp_path: Path) -> None:
    node = Node(tmp_path)
    node.heap("512m", "512m")
    with node.running():
        assert call(f"http://127.0.0.1:{node.http}/")[0] == 200


def test_bootstrap_checks_only_warn_on_loopback(tmp_path: Path) -> None:
    node = Node(tmp_path, production=False)
    node.map_count = 65530
    node.heap("256m", "512m")
    with node.running() as proc:
        pass
    assert "ignored in development mode" in node.output(proc)
    node.settings["transport.publish_host"] = OUTSIDE  # the same node publishing a non-loopback address
    node.settings["discovery.seed_hosts"] = [f"127.0.0.1:{node.transport}"]
    assert "bootstrap checks failed" in node.refused()


def test_single_node_discovery_is_exempt_from_bootstrap_checks(tmp_path: Path) -> None:
    node = Node(tmp_path, **{"discovery.type": "single-node", "discovery.seed_hosts": None})
    node.map_count = 65530
    with node.running():
        pass
    node.settings["discovery.type"] = None
    node.settings["discovery.seed_hosts"] = [f"127.0.0.1:{node.transport}"]
    assert "vm.max_map_count [65530]" in node.refused()


def test_unequal_heap_fails_bootstrap_when_not_loopback(tmp_path: Path) -> None:
    node = Node(tmp_path)
    node.heap("256m", "512m")
    assert "initial heap size [268435456] not equal to maximum heap size [536870912]" in node.refused()


def test_low_file_descriptor_limit_fails_bootstrap(tmp_path: Path) -> None:
    node = Node(tmp_path)
    node.waived = []
    node.limits[resource.RLIMIT_NOFILE] = 4096
    assert "max file descriptors [4096]" in node.refused()


def test_low_thread_limit_fails_bootstrap(tmp_path: Path) -> None:
    node = Node(tmp_path)
    node.limits[resource.RLIMIT_NPROC] = 1024
    assert "max number of threads [1024]" in node.refused()


def test_limited_virtual_memory_fails_bootstrap(tmp_path: Path) -> None:
    node = Node(tmp_path)
    node.limits[resource.RLIMIT_AS] = 8 * 1024**3
    assert "max size virtual memory" in node.refused()


def test_limited_file_size_fails_bootstrap(tmp_path: Path) -> None:
    node = Node(tmp_path)
    node.limits[resource.RLIMIT_FSIZE] = 1024**3
    assert "max file size" in node.refused()


def test_low_max_map_count_fails_bootstrap_unless_mmap_is_off(tmp_path: Path) -> None:
    node = Node(tmp_path)
    node.map_count = 65530  # this machine's value, which containers see and cannot change
    assert "vm.max_map_count [65530] is too low" in node.refused()
    node.settings["node.store.allow_mmap"] = False
    with node.running():
        pass


def test_unconfigured_discovery_fails_bootstrap(tmp_path: Path) -> None:
    node = Node(tmp_path, **{"discovery.seed_hosts": None})
    assert "the default discovery settings are unsuitable for production use" in node.refused()


# --- health -----------------------------------------------------------------------------------


def pair(tmp_path: Path, extra_seeds: int = 0) -> tuple[Node, Node]:
    one, two = Node(tmp_path / "one", production=False), Node(tmp_path / "two", production=False)
    seeds = [f"127.0.0.1:{n.transport}" for n in (one, two)] + [f"127.0.0.1:{free_port()}" for _ in range(extra_seeds)]
    for node in (one, two):
        node.settings["discovery.seed_hosts"] = seeds
    return one, two


def test_health_is_not_green_while_a_peer_is_missing(tmp_path: Path) -> None:
    one, _ = pair(tmp_path)
    with one.running():
        status, body = call(f"http://127.0.0.1:{one.http}/_cluster/health?master_timeout=1s")
    assert status == 503 and body["error"]["type"] == "master_not_discovered_exception", body


def test_health_turns_green_when_the_peer_joins(tmp_path: Path) -> None:
    one, two = pair(tmp_path)
    with one.running(), two.running():
        status, body = call(f"http://127.0.0.1:{one.http}/_cluster/health?wait_for_status=green&timeout=20s")
        assert status == 200 and body["status"] == "green" and body["number_of_nodes"] == 2, body


def test_wait_for_status_times_out_with_408(tmp_path: Path) -> None:
    one, two = pair(tmp_path, extra_seeds=1)  # a third node the cluster needs never starts
    with one.running(), two.running():
        status, body = call(f"http://127.0.0.1:{one.http}/_cluster/health")
        assert status == 200 and body["status"] == "yellow" and body["number_of_nodes"] == 2, body
        started = time.monotonic()
        status, body = call(f"http://127.0.0.1:{one.http}/_cluster/health?wait_for_status=green&timeout=2s")
        assert status == 408 and body["timed_out"] is True and body["status"] == "yellow", body
        assert time.monotonic() - started >= 2
        status, body = call(f"http://127.0.0.1:{one.http}/_cluster/health?wait_for_status=yellow&timeout=2s")
        assert status == 200 and body["timed_out"] is False
