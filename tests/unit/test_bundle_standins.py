"""The stand-in program (tests/standins/program), run here as a process on 127.0.0.1 with its config in tmp."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import standin_common as service  # the stand-in program's modules: pythonpath in pyproject
import standin_logstash
from standin_process import fetch, free_port, running

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "standins" / "program" / "service.py"


def get(url: str, timeout: float = 15) -> tuple[int, dict[str, str], str]:
    return fetch(url, timeout=timeout)


def test_elasticsearch_answers_where_its_yml_says(tmp_path: Path) -> None:
    http_port, transport_port = free_port(), free_port()
    (tmp_path / "elasticsearch.yml").write_text(
        f"cluster:\n  name: alur-test\nnetwork.host: 127.0.0.1\n"
        f"http.port: {http_port}\ntransport.port: {transport_port}\npath.data: {tmp_path}\n"
    )
    with running("elasticsearch", env={"ES_PATH_CONF": str(tmp_path)}):
        status, _, body = get(f"http://127.0.0.1:{http_port}/")
        assert status == 200 and json.loads(body)["cluster_name"] == "alur-test"
        status, _, body = get(f"http://127.0.0.1:{http_port}/_cluster/health")
        assert json.loads(body)["status"] == "green"
        status, headers, _ = get(f"http://127.0.0.1:{http_port}/_nodes/stats")
        assert status == 501 and headers["X-Alur-Standin"] == "elasticsearch"
        socket.create_connection(("127.0.0.1", transport_port), timeout=2).close()


@pytest.mark.parametrize(
    ("yml", "message"),
    [
        ("http.port: [9200\n", "does not parse"),
        ("http.port: ninety\n", "is not a port"),
        ("- a list\n", "expected a mapping"),
        ("network.host: _eth9_\n", "does not resolve"),
        ("xpack.security.http.ssl.enabled: true\n", "PEM certificate and key"),
    ],
)
def test_elasticsearch_refuses_bad_config(tmp_path: Path, yml: str, message: str) -> None:
    (tmp_path / "elasticsearch.yml").write_text(yml)
    proc = subprocess.run(
        [sys.executable, str(PROGRAM), "elasticsearch"],
        env={**os.environ, "ES_PATH_CONF": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1 and message in proc.stderr


def test_logstash_checks_pipelines_and_opens_beats(tmp_path: Path) -> None:
    api, beats = free_port(), free_port()
    # These tests run as root: Logstash 9 allows that only with allow_superuser (test_standin_logstash covers the rule).
    (tmp_path / "logstash.yml").write_text(f"allow_superuser: true\napi.http.host: 127.0.0.1\napi.http.port: {api}\n")
    conf = tmp_path / "conf.d"
    conf.mkdir()
    (conf / "beats.conf").write_text(
        f'# a comment with {{ braces\ninput {{ beats {{ port => {beats} host => "127.0.0.1" }} }}\n'
        'filter { mutate { add_field => { "x" => "}" } } }\noutput { stdout {} }\n'
    )
    (tmp_path / "pipelines.yml").write_text(f'- pipeline.id: main\n  path.config: "{conf}/*.conf"\n')
    checked = subprocess.run(
        [sys.executable, str(PROGRAM), "logstash", "--path.settings", str(tmp_path), "-t"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0 and "Configuration OK" in checked.stdout
    with running("logstash", "--path.settings", str(tmp_path), env={}):
        status, _, body = get(f"http://127.0.0.1:{api}/")
        assert status == 200 and json.loads(body)["status"] == "green"
        # The pipeline's node stats, as alur status reads them: it processes nothing, so no event went out.
        status, _, body = get(f"http://127.0.0.1:{api}/_node/stats/pipelines/main")
        assert status == 200 and json.loads(body)["pipelines"]["main"]["events"]["out"] == 0
        assert get(f"http://127.0.0.1:{api}/_node/stats/pipelines/other")[0] == 501
        socket.create_connection(("127.0.0.1", beats), timeout=5).close()


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        ("input { beats { port => 5044 }\n", "unterminated block"),
        ('input { beats { host => "x" } }\n', "needs a port"),
        ("inputs { }\n", "found 'inputs'"),
        ('output { stdout { codec => "rubydebug } }\n', "unterminated string"),
    ],
)
def test_logstash_refuses_broken_pipelines(pipeline: str, message: str) -> None:
    with pytest.raises(service.ConfigError, match=message):
        standin_logstash.check_pipeline(pipeline, "test")


def test_filebeat_enforces_the_vendors_permission_rule(tmp_path: Path) -> None:
    config = tmp_path / "filebeat.yml"
    config.write_text("filebeat.inputs:\n  - type: filestream\n    id: a\n    paths: [/var/log/*.log]\n")
    config.chmod(0o600)
    base = [sys.executable, str(PROGRAM), "filebeat", "--path.config", str(tmp_path)]
    ok = subprocess.run([*base, "test", "config"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and ok.stdout.strip() == "Config OK"
    config.chmod(0o664)
    refused = subprocess.run([*base, "test", "config"], capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "can only be writable by the owner" in refused.stderr
    relaxed = subprocess.run(
        [*base, "--strict.perms=false", "test", "config"], capture_output=True, text=True, check=False
    )
    assert relaxed.returncode == 0


def test_filebeat_serves_its_output_counters_when_http_is_on(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "filebeat.yml"
    config.write_text(f"filebeat.inputs: []\nhttp.enabled: true\nhttp.host: 127.0.0.1\nhttp.port: {port}\n")
    config.chmod(0o600)
    with running("filebeat", "--path.config", str(tmp_path), env={}):
        status, _, body = get(f"http://127.0.0.1:{port}/stats")
        # It ships nothing: nothing acknowledged, nothing failed.
        assert status == 200 and json.loads(body)["libbeat"]["output"]["events"] == {
            "acked": 0, "failed": 0, "total": 0, "active": 0
        }  # fmt: skip


def test_jenkins_refuses_to_start_without_java(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(PROGRAM), "jenkins"],
        env={**os.environ, "JENKINS_HOME": str(tmp_path), "JENKINS_JAVA_CMD": str(tmp_path / "no-java")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1 and "failed to find a valid Java installation" in proc.stderr


def test_jenkins_answers_login_with_its_prefix_when_java_21_is_there(tmp_path: Path) -> None:
    fake_java = tmp_path / "java"
    fake_java.write_text("#!/bin/sh\necho 'openjdk version \"21.0.9\" 2025-10-21' >&2\n")
    fake_java.chmod(0o755)
    port = free_port()
    env = {
        "JENKINS_HOME": str(tmp_path),
        "JENKINS_JAVA_CMD": str(fake_java),
        "JENKINS_PORT": str(port),
        "JENKINS_LISTEN_ADDRESS": "127.0.0.1",
        "JENKINS_PREFIX": "/ci",
    }
    with running("jenkins", env=env):
        status, headers, _ = get(f"http://127.0.0.1:{port}/ci/login")
        assert status == 200 and "X-Jenkins" in headers


def test_ports_and_addresses_read_like_elastic() -> None:
    assert service.port_of("9200-9300", "http.port") == 9200
    everywhere = "0.0.0.0"  # noqa: S104 - the value under test
    assert service.bind_addresses(["_local_", everywhere], "network.host") == ["127.0.0.1", everywhere]


def test_unequal_heap_is_refused(tmp_path: Path) -> None:
    options = tmp_path / "heap.options"
    options.write_text("-Xms512m\n-Xmx1g\n")
    with pytest.raises(service.ConfigError, match="differs from maximum heap"):
        service.check_jvm_options(options)
    options.write_text("# ok\n17-:-Xms1g\n-Xmx1g\n")
    service.check_jvm_options(options)


# --- the APIs and TLS the roles use ------------------------------------------------------------


NEW_EC_KEY = ["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
SIGN = ["openssl", "x509", "-req", "-days", "1", "-CAcreateserial", "-in"]


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    key, cert = folder / f"{name}.key", folder / f"{name}.crt"
    subprocess.run(
        [*NEW_EC_KEY, "-x509", "-days", "1", "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def issue(ca: tuple[Path, Path], folder: Path, name: str, address: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for `address` signed by `ca`, as the stack's controller-side CA makes them."""
    key, csr, cert = folder / f"{name}.key", folder / f"{name}.csr", folder / f"{name}.crt"
    subprocess.run(
        [*NEW_EC_KEY, "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(csr)],
        check=True,
        capture_output=True,
    )
    extensions = folder / f"{name}.ext"
    extensions.write_text(f"subjectAltName=IP:{address}\n")
    subprocess.run(
        [*SIGN, str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-extfile", str(extensions), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def call(
    url: str, user: str | None = None, password: str = "", method: str = "GET", body: object = None
) -> tuple[int, object]:
    request = urllib.request.Request(url, method=method)  # noqa: S310 - 127.0.0.1 only
    if user:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
        request.add_header("kbn-xsrf", "test")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def es_node(folder: Path, name: str, http: int, transport: int, seeds: list[int], ca: tuple[Path, Path]) -> None:
    folder.joinpath("data").mkdir(parents=True)
    cert, key = issue(ca, folder, name)
    folder.joinpath("elasticsearch.yml").write_text(
        f"node.name: {name}\nnetwork.host: 127.0.0.1\nhttp.port: {http}\ntransport.port: {transport}\n"
        f"path.data: {folder / 'data'}\nxpack.security.enabled: true\n"
        f"discovery.seed_hosts: {json.dumps([f'127.0.0.1:{p}' for p in seeds])}\n"
        "xpack.security.transport.ssl.enabled: true\nxpack.security.transport.ssl.verification_mode: full\n"
        f"xpack.security.transport.ssl.certificate: {cert}\nxpack.security.transport.ssl.key: {key}\n"
        f"xpack.security.transport.ssl.certificate_authorities: [{ca[0]}]\n"
    )
    env = {**os.environ, "ES_PATH_CONF": str(folder)}
    for args, stdin in ((["create"], ""), (["add", "-x", "bootstrap.password"], "bootstrap-secret\n")):
        subprocess.run(
            [sys.executable, str(PROGRAM), "elasticsearch-keystore", *args], input=stdin, text=True, env=env, check=True
        )


def test_elasticsearch_security_api_is_shared_by_the_nodes_over_mutual_tls(tmp_path: Path) -> None:
    ca = make_ca(tmp_path / "ca", "stack-ca")
    ports = [(free_port(), free_port()) for _ in range(2)]
    transports = [t for _, t in ports]
    for index, (http, transport) in enumerate(ports):
        es_node(tmp_path / f"n{index}", f"n{index}", http, transport, transports, ca)
    one, two = (f"http://127.0.0.1:{http}" for http, _ in ports)
    with (
        running("elasticsearch", env={"ES_PATH_CONF": str(tmp_path / "n0")}),
        running("elasticsearch", env={"ES_PATH_CONF": str(tmp_path / "n1")}),
    ):
        get(f"{one}/", timeout=20)
        get(f"{two}/", timeout=20)
        assert call(f"{one}/")[0] == 401, "anonymous refused"
        assert call(f"{one}/_cluster/health", "elastic", "wrong")[0] == 401
        status, health = call(f"{one}/_cluster/health", "elastic", "bootstrap-secret")
        assert status == 200 and health["number_of_nodes"] == 2  # type: ignore[index]
        # The role's sequence: elastic's password from the vault, a writer role and user, a policy.
        assert (
            call(f"{one}/_security/user/elastic/_password", "elastic", "bootstrap-secret", "POST", {"password": "v"})[0]
            == 200
        )
        assert call(f"{two}/_security/_authenticate", "elastic", "bootstrap-secret")[0] == 401, "node two knows"
        role = {"cluster": ["monitor"], "indices": [{"names": ["logs-*"], "privileges": ["create_doc"]}]}
        assert call(f"{two}/_security/role/writer", "elastic", "v", "PUT", role)[0] == 200
        assert call(f"{one}/_security/user/writer", "elastic", "v", "PUT", {"roles": ["writer"]})[0] == 400
        new_user = {"roles": ["writer"], "password": "w"}
        assert call(f"{one}/_security/user/writer", "elastic", "v", "PUT", new_user)[0] == 200
        status, who = call(f"{two}/_security/_authenticate", "writer", "w")
        assert status == 200 and who["roles"] == ["writer"]  # type: ignore[index]
        assert call(f"{two}/_ilm/policy/logs", "writer", "w")[0] == 403, "only superusers manage policies"
        assert call(f"{one}/_security/role/writer", "elastic", "v")[1] == {"writer": role}
        assert call(f"{one}/_ilm/policy/logs", "elastic", "v")[0] == 404
        template = {
            "index_patterns": ["logs-*"],
            "template": {"settings": {"index.lifecycle.name": "logs", "number_of_replicas": 0}},
        }
        assert call(f"{one}/_index_template/logs", "elastic", "v", "PUT", template)[0] == 200
        status, found = call(f"{two}/_index_template/logs", "elastic", "v")
        settings = found["index_templates"][0]["index_template"]["template"]["settings"]  # type: ignore[index]
        assert status == 200 and settings == {"index": {"lifecycle": {"name": "logs"}, "number_of_replicas": "0"}}
        stored = json.loads((tmp_path / "n1" / "data" / "_state" / "alur-standin-cluster-state.json").read_text())
        assert "bootstrap-secret" not in json.dumps(stored) and '"w"' not in json.dumps(stored), "hashes only"


def test_beats_input_requires_a_client_certificate_and_filebeat_tests_the_session(tmp_path: Path) -> None:
    ca, foreign = make_ca(tmp_path / "ca", "stack-ca"), make_ca(tmp_path / "foreign", "foreign-ca")
    server = issue(ca, tmp_path / "ca", "logstash")
    beats = free_port()
    (tmp_path / "logstash.yml").write_text("allow_superuser: true\napi.enabled: false\n")
    (tmp_path / "beats.conf").write_text(
        f'input {{ beats {{ port => {beats} host => "127.0.0.1" ssl_enabled => true\n'
        f'ssl_certificate => "{server[0]}" ssl_key => "{server[1]}"\n'
        f'ssl_certificate_authorities => ["{ca[0]}"] ssl_client_authentication => "required" }} }}\n'
        "output { stdout {} }\n"
    )
    (tmp_path / "pipelines.yml").write_text(f"- pipeline.id: main\n  path.config: {tmp_path / 'beats.conf'}\n")

    def filebeat_test_output(client: tuple[Path, Path], name: str) -> subprocess.CompletedProcess[str]:
        folder = tmp_path / name
        folder.mkdir()
        config = folder / "filebeat.yml"
        config.write_text(
            f'output.logstash:\n  hosts: ["127.0.0.1:{beats}"]\n  ssl.enabled: true\n'
            f"  ssl.certificate_authorities: [{ca[0]}]\n  ssl.certificate: {client[0]}\n  ssl.key: {client[1]}\n"
        )
        config.chmod(0o600)
        return subprocess.run(
            [sys.executable, str(PROGRAM), "filebeat", "--path.config", str(folder), "test", "output"],
            capture_output=True,
            text=True,
            check=False,
        )

    with running("logstash", "--path.settings", str(tmp_path), env={}) as proc:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", beats), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the beats port did not open"
                time.sleep(0.2)
        good = filebeat_test_output(issue(ca, tmp_path / "ca", "filebeat"), "good")
        assert good.returncode == 0 and "handshake... OK" in good.stdout, good.stdout
        bad = filebeat_test_output(issue(foreign, tmp_path / "foreign", "intruder"), "bad")
        assert bad.returncode == 1 and "ERROR" in bad.stdout, bad.stdout
        proc.terminate()
        assert "TLS handshake failed" in (proc.communicate(timeout=10)[0] or "")


def test_logstash_input_with_options_9x_removed_is_refused() -> None:
    with pytest.raises(service.ConfigError, match="no option 'ssl'"):
        standin_logstash.check_pipeline("input { beats { port => 5044 ssl => true } }\n", "test")


def test_keystore_tools_keep_values_encoded_and_list_names(tmp_path: Path) -> None:
    def tool(name: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(PROGRAM), name, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, "KBN_PATH_CONF": str(tmp_path)},
            check=False,
        )

    assert tool("logstash-keystore", "--path.settings", str(tmp_path), "create", stdin="y\n").returncode == 0
    assert tool("logstash-keystore", "--path.settings", str(tmp_path), "add", "ES_PW", stdin="s3cret\n").returncode == 0
    listed = tool("logstash-keystore", "--path.settings", str(tmp_path), "list")
    assert listed.stdout.split() == ["es_pw"]
    assert tool("kibana-keystore", "create").returncode == 0
    assert tool("kibana-keystore", "add", "--stdin", "elasticsearch.password", stdin="k1\n").returncode == 0
    assert tool("kibana-keystore", "add", "--stdin", "elasticsearch.password", stdin="k2\n").returncode == 1
    assert tool("kibana-keystore", "list").stdout.split() == ["elasticsearch.password"]
    for store in ("logstash.keystore", "kibana.keystore"):
        text = (tmp_path / store).read_text()
        assert "s3cret" not in text and "k1" not in text


def test_kibana_data_views_need_an_elasticsearch_login(tmp_path: Path) -> None:
    es_http, kibana_port = free_port(), free_port()
    es_conf = tmp_path / "es"
    es_conf.mkdir()
    (es_conf / "elasticsearch.yml").write_text(
        f"network.host: 127.0.0.1\nhttp.port: {es_http}\ntransport.port: {free_port()}\nxpack.security.enabled: true\n"
        f"path.data: {es_conf}\n"
    )
    env = {**os.environ, "ES_PATH_CONF": str(es_conf)}
    subprocess.run([sys.executable, str(PROGRAM), "elasticsearch-keystore", "create"], env=env, check=True)
    subprocess.run(
        [sys.executable, str(PROGRAM), "elasticsearch-keystore", "add", "-x", "bootstrap.password"],
        input="pw\n",
        text=True,
        env=env,
        check=True,
    )
    (tmp_path / "kibana.yml").write_text(
        f'server.port: {kibana_port}\nserver.host: "127.0.0.1"\npath.data: {tmp_path}\n'
        f'elasticsearch.hosts: ["http://127.0.0.1:{es_http}"]\n'
    )
    view = {"data_view": {"id": "logs", "title": "logs-*"}}
    base = f"http://127.0.0.1:{kibana_port}/api/data_views/data_view"
    with (
        running("elasticsearch", env={"ES_PATH_CONF": str(es_conf)}),
        running("kibana", env={"KBN_PATH_CONF": str(tmp_path)}),
    ):
        # Both answer first: Kibana refuses every login while Elasticsearch is still starting.
        get(f"http://127.0.0.1:{es_http}/", timeout=20)
        get(f"http://127.0.0.1:{kibana_port}/api/status", timeout=20)
        assert call(f"{base}/logs", "elastic", "nope")[0] == 401
        assert call(f"{base}/logs", "elastic", "pw")[0] == 404
        assert call(base, "elastic", "pw", "POST", view)[0] == 200
        assert call(base, "elastic", "pw", "POST", view)[0] == 409
        status, body = call(f"{base}/logs", "elastic", "pw")
        assert status == 200 and body["data_view"]["title"] == "logs-*"  # type: ignore[index]
