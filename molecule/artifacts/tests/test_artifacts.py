"""The artifacts role on the stand-in bundle, and the stand-ins' packaging contract, proven on Debian 13."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

testinfra_hosts = ["ansible://all"]

PACKAGES = {
    "jenkins": "2.580.2+standin",
    "elasticsearch": "9.5.6+standin",
    "logstash": "1:9.5.6-1+standin",
    "kibana": "9.5.6+standin",
    "filebeat": "9.5.6+standin",
}
PROBE = """
import json, sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5)
    print(json.dumps([r.status, dict(r.headers), r.read().decode()]))
except urllib.error.HTTPError as e:
    print(json.dumps([e.code, dict(e.headers), e.read().decode()]))
except OSError as e:
    print(json.dumps([0, {}, str(e)]))
"""


def http(host, url):
    """GET from the host itself: (status, headers, body); status 0 when nothing answers."""
    out = host.check_output(f"python3 -c '{PROBE}' {url}")
    status, headers, body = json.loads(out)
    return status, headers, body


def wait_http(host, url, timeout=45):
    deadline = time.monotonic() + timeout
    while True:
        status, headers, body = http(host, url)
        if status or time.monotonic() > deadline:
            return status, headers, body
        time.sleep(1)


def restart(host, unit):
    """systemctl restart; returns its exit code (Type=notify units fail here when the program refuses)."""
    with host.sudo():
        host.run(f"systemctl reset-failed {unit}")
        return host.run(f"systemctl restart {unit}").rc


def journal(host, unit):
    with host.sudo():
        return host.check_output(f"journalctl -u {unit} -n 30 --no-pager")


def write(host, path, content, mode="0644", owner="root:root"):
    with host.sudo():
        host.check_output(f"install -m {mode} -o {owner.split(':')[0]} -g {owner.split(':')[1]} /dev/null {path}")
        host.check_output(f"tee {path} >/dev/null <<'EOF'\n{content}\nEOF")


def test_standins_are_installed_from_the_bundle_and_held(host):
    out = host.check_output("dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n' " + " ".join(PACKAGES))
    found = {line.split()[0]: (line.split()[1], line.split()[2]) for line in out.splitlines()}
    for name, version in PACKAGES.items():
        assert found[name] == (version, "hi"), f"{name}: {found.get(name)}"
        assert "stand-in for ci" in host.check_output(f"dpkg-query -W -f '${{Description}}' {name}").lower()


def test_apt_knows_them_only_from_the_local_folders(host):
    for name in PACKAGES:
        policy = host.check_output(f"apt-cache policy {name}")
        assert f"file:/var/lib/alur/artifacts/apt/{name} ./ Packages" in policy, policy
    sources = host.check_output("cat /etc/apt/sources.list.d/*.sources")
    for vendor in ("pkg.jenkins.io", "artifacts.elastic.co", "packages.adoptium.net"):
        assert vendor not in sources
    assert host.file("/etc/apt/sources.list.d/alur-bundle-jenkins.sources").contains("^Trusted: yes$")


def test_vendor_hosts_are_unreachable_from_the_host(host):
    for name in ("pkg.jenkins.io", "artifacts.elastic.co", "packages.adoptium.net"):
        status, _, _ = http(host, f"https://{name}/")
        assert status == 0


def test_jenkins_was_held_back_and_its_package_starts_it(host):
    jenkins = host.service("jenkins")
    assert jenkins.is_enabled
    assert not jenkins.is_running, "policy-rc.d should have kept the package from starting Jenkins"
    with host.sudo():
        host.check_output("dpkg -i /var/lib/alur/artifacts/apt/jenkins/jenkins_*.deb")
    status, headers, body = wait_http(host, "http://127.0.0.1:8080/login")
    assert status == 200 and headers.get("X-Jenkins") == "2.580.2", (status, headers)
    assert "stand-in" in body
    assert host.user("jenkins").home == "/var/lib/jenkins"
    assert host.file("/var/lib/jenkins").user == "jenkins"


def test_jenkins_follows_its_unit_environment_and_ignores_casc_without_its_plugin(host):
    dropin = "/etc/systemd/system/jenkins.service.d/alur.conf"
    with host.sudo():
        host.check_output("mkdir -p /etc/systemd/system/jenkins.service.d")
    write(
        host,
        dropin,
        '[Service]\nEnvironment="JENKINS_PORT=8090"\nEnvironment="JENKINS_LISTEN_ADDRESS=127.0.0.1"\n'
        'Environment="JENKINS_PREFIX=/ci"',
    )
    with host.sudo():
        host.check_output("systemctl daemon-reload")
    assert restart(host, "jenkins") == 0
    status, headers, _ = wait_http(host, "http://127.0.0.1:8090/ci/login")
    assert status == 200 and "X-Jenkins" in headers
    assert http(host, "http://127.0.0.1:8080/login")[0] == 0
    # No plugins here: without the configuration-as-code plugin Jenkins never reads jenkins.yaml, so a broken one
    # does not stop it (the jenkins scenario and test_standin_jenkins prove the refusal with the plugin).
    write(host, "/var/lib/jenkins/jenkins.yaml", "jenkins: [unclosed", owner="jenkins:jenkins")
    assert restart(host, "jenkins") == 0
    status, headers, _ = wait_http(host, "http://127.0.0.1:8090/ci/login")
    assert status == 200 and "X-Jenkins" in headers
    with host.sudo():
        host.check_output(f"rm -f /var/lib/jenkins/jenkins.yaml {dropin} && systemctl daemon-reload")


def test_elasticsearch_listens_where_its_yml_says_and_refuses_a_broken_one(host):
    assert restart(host, "elasticsearch") == 0
    status, _, body = wait_http(host, "http://127.0.0.1:9200/")
    assert status == 200 and json.loads(body)["version"]["number"] == "9.5.6"
    status, _, body = http(host, "http://127.0.0.1:9200/_cluster/health")
    assert status == 200 and json.loads(body)["status"] == "green"
    assert host.socket("tcp://127.0.0.1:9300").is_listening
    address = host.ansible.get_variables()["ansible_host"]
    yml = "/etc/elasticsearch/elasticsearch.yml"
    write(
        host,
        yml,
        f"cluster.name: alur\nhttp.host: {address}\nhttp.port: 9201\npath.data: /var/lib/elasticsearch\n",
        mode="0660",
        owner="root:elasticsearch",
    )
    assert restart(host, "elasticsearch") == 0
    status, _, body = wait_http(host, f"http://{address}:9201/")
    assert status == 200 and json.loads(body)["cluster_name"] == "alur"
    write(host, yml, "http.port: [9200\n", mode="0660", owner="root:elasticsearch")
    assert restart(host, "elasticsearch") != 0
    assert "does not parse" in journal(host, "elasticsearch")
    # Unequal heap is a bootstrap check: logged in development mode (transport on loopback), fatal in production
    # mode (transport on the host's address), as the product does.
    write(host, yml, "path.data: /var/lib/elasticsearch\n", mode="0660", owner="root:elasticsearch")
    write(host, "/etc/elasticsearch/jvm.options.d/heap.options", "-Xms512m\n-Xmx1g", owner="root:elasticsearch")
    assert restart(host, "elasticsearch") == 0
    assert "not equal to maximum heap size" in journal(host, "elasticsearch")
    production = f"path.data: /var/lib/elasticsearch\nnetwork.host: {address}\ndiscovery.seed_hosts: [{address}]\n"
    write(host, yml, production, mode="0660", owner="root:elasticsearch")
    assert restart(host, "elasticsearch") != 0
    refused = journal(host, "elasticsearch")
    assert "bootstrap checks failed" in refused and "not equal to maximum heap size" in refused, refused
    write(host, yml, "path.data: /var/lib/elasticsearch\n", mode="0660", owner="root:elasticsearch")
    with host.sudo():
        host.check_output("rm /etc/elasticsearch/jvm.options.d/heap.options")
        keystore = host.check_output("/usr/share/elasticsearch/bin/elasticsearch-keystore list")
    assert "keystore.seed" in keystore.split()


def test_kibana_answers_its_status_api_and_refuses_a_broken_yml(host):
    assert restart(host, "kibana") == 0
    # No Elasticsearch on this host: Kibana answers, but cannot log in to one, so it is not available (503).
    status, _, body = wait_http(host, "http://127.0.0.1:5601/api/status")
    assert status == 503 and json.loads(body)["status"]["overall"]["level"] == "unavailable"
    write(host, "/etc/kibana/kibana.yml", "server.port: 5602\nserver.host: [", owner="root:kibana")
    assert restart(host, "kibana") == 0  # Type=simple: systemd cannot tell; the program then exits 1
    # Restart=on-failure brings it back every 3 s, so "not running" is only true between tries (and
    # a loaded machine may be mid-start at any moment). A restart counted by systemd is a failed exit
    # of the program (on-failure), and the count only grows until the next manual restart.
    deadline = time.monotonic() + 90
    while True:
        with host.sudo():
            state = host.check_output("systemctl show -p NRestarts -p ActiveState kibana")
        failed = "ActiveState=failed" in state or "NRestarts=0" not in state
        if failed or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert failed, state
    assert "does not parse" in journal(host, "kibana")
    write(host, "/etc/kibana/kibana.yml", 'server.port: 5602\nserver.host: "127.0.0.1"', owner="root:kibana")
    assert restart(host, "kibana") == 0
    assert wait_http(host, "http://127.0.0.1:5602/api/status")[0] == 503


def test_logstash_checks_its_pipeline_opens_the_beats_port_and_answers_its_api(host):
    pipeline = "/etc/logstash/conf.d/beats.conf"
    write(host, pipeline, "input {\n  beats {\n    port => 5044\n  }\n}\noutput {\n  stdout {}\n}")
    # Logstash 9 refuses to run as root (allow_superuser is off): the check runs as its own user, as the role's does.
    check = "runuser -u logstash -- /usr/share/logstash/bin/logstash --path.settings /etc/logstash -t"
    with host.sudo():
        as_root = host.run("/usr/share/logstash/bin/logstash --path.settings /etc/logstash -t")
        checked = host.run(check)
    assert as_root.rc != 0 and "superuser" in as_root.stdout + as_root.stderr, as_root.stdout + as_root.stderr
    assert checked.rc == 0 and "Configuration OK" in checked.stdout, checked.stdout + checked.stderr
    assert restart(host, "logstash") == 0
    status, _, body = wait_http(host, "http://127.0.0.1:9600/")
    assert status == 200 and json.loads(body)["version"] == "9.5.6"
    assert host.socket("tcp://0.0.0.0:5044").is_listening
    write(host, pipeline, "input {\n  beats {\n    port => 5044\n  }\n")
    with host.sudo():
        broken = host.run(check)
        assert broken.rc != 0 and "superuser" not in broken.stdout + broken.stderr, broken.stdout + broken.stderr
        host.check_output(f"rm {pipeline}")


def test_filebeat_reads_its_yml_with_the_vendors_permission_rules(host):
    with host.sudo():
        assert host.check_output("filebeat test config") == "Config OK"
        assert restart(host, "filebeat") == 0
        host.check_output("chmod 0664 /etc/filebeat/filebeat.yml")
        refused = host.run("filebeat test config")
        host.check_output("chmod 0600 /etc/filebeat/filebeat.yml")
    assert refused.rc != 0 and "can only be writable by the owner" in refused.stderr
    time.sleep(2)
    assert host.service("filebeat").is_running


def _converge(*extra: str) -> subprocess.CompletedProcess[str]:
    return _playbook("converge.yml", *extra)


def _playbook(name: str, *extra: str) -> subprocess.CompletedProcess[str]:
    scenario = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
    roles = str(Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / "roles")
    env = dict(os.environ, ANSIBLE_ROLES_PATH=roles, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    config = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "ansible.cfg"
    if config.is_file():
        env["ANSIBLE_CONFIG"] = str(config)
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            *("-i", os.environ["MOLECULE_INVENTORY_FILE"], str(scenario / name)),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def _gpg(home: Path, *args: str) -> str:
    return subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), *args], capture_output=True, text=True, check=True
    ).stdout


def test_a_mirror_source_trusts_only_the_pinned_key(host, tmp_path):
    # A signed flat repository laid out as <mirror>/pkg.jenkins.io/debian-stable/binary/, served by the
    # host on its own loopback; its key is a throw-away one whose fingerprint the test pins.
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    _gpg(home, "--passphrase", "", "--quick-gen-key", "Mirror Test <m@alur.invalid>")
    fingerprint = next(
        line.split(":")[9]
        for line in _gpg(home, "--with-colons", "--fingerprint").splitlines()
        if line.startswith("fpr:")
    )
    repo = tmp_path / "mirror" / "pkg.jenkins.io" / "debian-stable"
    (repo / "binary").mkdir(parents=True)
    (repo / "jenkins.io-2026.key").write_text(_gpg(home, "--armor", "--export", fingerprint))
    bundle = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / ".alur" / "standin-bundle" / "apt" / "jenkins"
    deb = next(bundle.glob("*.deb"))
    shutil.copy(deb, repo / "binary" / deb.name)
    stanza = (bundle / "Packages").read_text().replace(f"Filename: {deb.name}", f"Filename: binary/{deb.name}")
    (repo / "binary" / "Packages").write_text(stanza)
    packages = (repo / "binary" / "Packages").read_bytes()
    digest = hashlib.sha256(packages).hexdigest()
    (repo / "binary" / "Release").write_text(
        f"Origin: mirror test\nDate: Sun, 22 Nov 2026 00:00:00 UTC\nSHA256:\n {digest} {len(packages)} Packages\n"
    )
    _gpg(home, "--clearsign", "-o", str(repo / "binary" / "InRelease"), str(repo / "binary" / "Release"))
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    archive = tmp_path / "mirror.tar"
    subprocess.run(["tar", "-C", str(tmp_path / "mirror"), "-cf", str(archive), "."], check=True)
    host.ansible("copy", f"src={archive} dest=/tmp/mirror.tar mode=0644", become=True, check=False)
    with host.sudo():
        host.check_output("rm -rf /srv/mirror && mkdir -p /srv/mirror && tar -C /srv/mirror -xf /tmp/mirror.tar")
        host.run("systemctl stop alur-test-mirror")
        host.check_output(
            "systemd-run --unit alur-test-mirror --collect python3 -m http.server 8088 --bind 127.0.0.1 -d /srv/mirror"
        )
    assert wait_http(host, "http://127.0.0.1:8088/pkg.jenkins.io/debian-stable/binary/Release")[0] == 200
    try:
        settings = {"alur_mirror_url": "http://127.0.0.1:8088", "alur_allow_standins": True}
        wrong = _playbook("mirror.yml", "-e", json.dumps({**settings, "alur_jenkins_key_fingerprint": "A" * 40}))
        assert wrong.returncode != 0
        assert f"not the pinned {'A' * 40}" in " ".join((wrong.stdout + wrong.stderr).split())
        assert not host.file("/etc/apt/keyrings/alur-jenkins.gpg").exists
        assert not host.file("/etc/apt/sources.list.d/alur-jenkins.sources").exists

        right = _playbook("mirror.yml", "-e", json.dumps({**settings, "alur_jenkins_key_fingerprint": fingerprint}))
        assert right.returncode == 0, right.stdout[-3000:] + right.stderr[-2000:]
        keyring = host.check_output("gpg --show-keys --with-colons /etc/apt/keyrings/alur-jenkins.gpg")
        assert [line.split(":")[9] for line in keyring.splitlines() if line.startswith("fpr:")][:1] == [fingerprint]
        source = host.file("/etc/apt/sources.list.d/alur-jenkins.sources")
        assert source.contains("^URIs: http://127.0.0.1:8088/pkg.jenkins.io/debian-stable$")
        assert source.contains("^Signed-By: /etc/apt/keyrings/alur-jenkins.gpg$")
        assert not host.file("/etc/apt/sources.list.d/alur-bundle-jenkins.sources").exists
        policy = host.check_output("apt-cache policy jenkins")
        assert "http://127.0.0.1:8088/pkg.jenkins.io/debian-stable binary/ Packages" in policy, policy
        again = _playbook("mirror.yml", "-e", json.dumps({**settings, "alur_jenkins_key_fingerprint": fingerprint}))
        assert again.returncode == 0 and "changed=0" in again.stdout
        # The old names are deprecated aliases: one warning a run names them, whatever the hosts and includes.
        warned = [line for line in (again.stdout + again.stderr).splitlines() if "use deprecated names" in line]
        assert len(warned) == 1 and "alur_artifact_source -> artifacts_source" in warned[0], warned
        # Given under the new names too (which win over the old), the same settings change nothing either.
        renamed = {"artifacts_source": "mirror", "artifacts_mirror_url": "http://127.0.0.1:8088",
                   "artifacts_allow_standins": True, "artifacts_jenkins_key_fingerprint": fingerprint}  # fmt: skip
        new = _playbook("mirror.yml", "-e", json.dumps(renamed))
        assert new.returncode == 0 and "changed=0" in new.stdout, new.stdout[-3000:]
    finally:
        with host.sudo():
            host.run("systemctl stop alur-test-mirror")


def test_the_guard_refuses_standins_unless_allowed(host):
    proc = _converge("-e", '{"artifacts_allow_standins": false}')
    out = " ".join((proc.stdout + proc.stderr).split())  # the YAML callback wraps long messages
    assert proc.returncode != 0
    assert "jenkins (installed), jenkins (in the bundle): CI stand-in packages (+standin)" in out
    assert "artifacts_allow_standins: true" in out
    assert "changed=0" in out
    assert host.package("jenkins").version == PACKAGES["jenkins"]


def test_a_tampered_bundle_is_refused_on_the_host(host, tmp_path):
    bundle = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"]) / ".alur" / "standin-bundle"
    tampered = tmp_path / "bundle"
    shutil.copytree(bundle, tampered)
    deb = next((tampered / "apt" / "kibana").glob("*.deb"))
    deb.write_bytes(deb.read_bytes() + b"tampered")
    # The host's good copy would make the bundle's file unnecessary: take it away so it must be copied.
    with host.sudo():
        host.check_output(f"rm /var/lib/alur/artifacts/apt/kibana/{deb.name}")
    proc = _converge("-e", json.dumps({"artifacts_bundle_dir": str(tampered)}))
    assert proc.returncode != 0
    out = " ".join((proc.stdout + proc.stderr).split())
    assert f"apt/kibana/{deb.name} in /var/lib/alur/artifacts do(es) not match the SHA-256" in out
    assert host.package("kibana").version == PACKAGES["kibana"]
    # Put the good copy back, so the host is as converge left it.
    assert _converge().returncode == 0
