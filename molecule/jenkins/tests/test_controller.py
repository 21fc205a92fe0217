"""The controller: held-back install, drop-in, JCasC, secrets, plugins, readiness (stand-in or real Jenkins)."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import alur_probe
import yaml
from ansible_collections.alur.site.plugins.module_utils import lockfile as plugin_lockfile
from jenkins_probe import readable_by, stat

LOCKFILE = Path(__file__).resolve().parents[3] / "roles" / "jenkins" / "files" / "plugins.lock"
CASC = "/etc/jenkins/casc.d/alur.yaml"
SECRETS = "/etc/jenkins/casc-secrets"


def lockfile() -> dict[str, str]:
    """The lockfile as the role reads it (alur.site.plugin_lockfile)."""
    return plugin_lockfile.pins(LOCKFILE.read_text(), str(LOCKFILE))


def unit_environment(ctl: Any) -> dict[str, str]:
    line = ctl.check_output("systemctl show jenkins -p Environment --value")
    return dict(item.split("=", 1) for item in shlex.split(line))


def read(ctl: Any, path: str) -> str:
    with ctl.sudo():
        return str(ctl.file(path).content_string)


def test_java_21_from_debian(ctl: Any) -> None:
    assert ctl.package("openjdk-21-jre-headless").is_installed
    version = ctl.run("java -version")
    assert re.search(r'version "21\.', version.stderr), version.stderr


def test_package_is_pinned_and_held(ctl: Any) -> None:
    version = ctl.check_output("dpkg-query -W -f='${Version}' jenkins")
    assert version.startswith("2.580.2")
    assert ctl.check_output("apt-mark showhold").split().count("jenkins") == 1


def test_drop_in_is_what_the_unit_runs_with(ctl: Any) -> None:
    modes = stat(ctl, "/etc/systemd/system/jenkins.service.d/alur.conf", "/etc/jenkins/alur.env")
    assert modes["/etc/systemd/system/jenkins.service.d/alur.conf"] == ("root", "root", 0o644)
    env = unit_environment(ctl)
    assert env["JENKINS_PORT"] == "8080"
    assert env["JENKINS_LISTEN_ADDRESS"] == "127.0.0.1"
    assert env["CASC_JENKINS_CONFIG"] == "/etc/jenkins/casc.d"
    assert env["SECRETS"] == SECRETS
    assert env["JAVA_HOME"].startswith("/usr/lib/jvm/java-21-openjdk")
    opts = env["JAVA_OPTS"].split()
    assert "-Djenkins.install.runSetupWizard=false" in opts
    assert any(o.startswith("-Xmx") for o in opts) and any(o.startswith("-Xms") for o in opts)
    assert "JENKINS_PREFIX" not in env, "served at the root: no prefix"
    assert ctl.check_output("systemctl show jenkins -p TimeoutStartUSec --value") == "10min"
    # The reload token is in the root-only environment file, not in what `systemctl show` tells every user.
    assert "CASC_RELOAD_TOKEN" not in env
    assert modes["/etc/jenkins/alur.env"] == ("root", "root", 0o600)


def test_casc_renders_parses_and_holds_the_model(ctl: Any, ctl_address: str, agent: Any) -> None:
    casc = yaml.safe_load(read(ctl, CASC))
    jenkins = casc["jenkins"]
    assert jenkins["numExecutors"] == 0
    assert jenkins["slaveAgentPort"] == -1, "no inbound agent port: agents are launched over SSH"
    # Since 2.543 crumbIssuer.standard.excludeClientIPFromCrumb stops the boot; the default issuer needs no section.
    assert "crumbIssuer" not in jenkins
    realm = jenkins["securityRealm"]["local"]
    assert realm["allowsSignup"] is False
    assert realm["users"] == [{"id": "admin", "name": "Administrator", "password": "${admin_password}"}]
    entries = jenkins["authorizationStrategy"]["globalMatrix"]["entries"]
    assert entries == [{"user": {"name": "admin", "permissions": ["Overall/Administer"]}}], "nothing for anonymous"
    assert casc["unclassified"]["location"]["url"] == f"https://{ctl_address}/"
    (node,) = jenkins["nodes"]
    node = node["permanent"]
    assert node["name"] == "jenkins-agent"
    assert "alur-agent" in node["labelString"].split()
    ssh = node["launcher"]["ssh"]
    assert ssh["host"] == alur_probe.address(agent)
    assert ssh["credentialsId"] == "alur-agent-ssh"
    pinned = ssh["sshHostKeyVerificationStrategy"]["manuallyProvidedKeyVerificationStrategy"]["key"]
    assert pinned == " ".join(agent.file("/etc/ssh/ssh_host_ed25519_key.pub").content_string.split()[:2])
    (credential,) = casc["credentials"]["system"]["domainCredentials"][0]["credentials"]
    key = credential["basicSSHUserPrivateKey"]
    assert key["privateKeySource"]["directEntry"]["privateKey"] == "${agent_ssh_private_key}"
    (job,) = casc["jobs"]
    assert "pipelineJob('alur-example')" in job["script"] and "node('alur-agent')" in job["script"]


def test_casc_folder_readable_by_jenkins_only(ctl: Any) -> None:
    assert stat(ctl, "/etc/jenkins/casc.d")["/etc/jenkins/casc.d"] == ("root", "jenkins", 0o750)
    with ctl.sudo():
        assert readable_by(ctl, "jenkins", CASC) == [CASC]
        assert readable_by(ctl, "nobody", CASC) == []


def test_admin_secret_is_private(ctl: Any, admin_password: str) -> None:
    assert len(admin_password) >= 32 and admin_password not in {"admin", "password", "jenkins"}
    expected = {
        SECRETS: ("root", "jenkins", 0o750),
        f"{SECRETS}/admin_password": ("root", "jenkins", 0o640),
        f"{SECRETS}/agent_ssh_private_key": ("jenkins", "jenkins", 0o600),
    }
    assert stat(ctl, *expected) == expected
    secrets = list(expected)[1:]
    with ctl.sudo():
        assert readable_by(ctl, "nobody", *secrets) == [], "readable by other users"
        assert readable_by(ctl, "jenkins", *secrets) == secrets, "Jenkins (JCasC) must read them"
    assert readable_by(ctl, None, *secrets) == [], "readable by the operator without sudo"
    assert read(ctl, f"{SECRETS}/admin_password") == admin_password


def test_admin_secret_absent_from_yaml_unit_and_logs(ctl: Any, admin_password: str) -> None:
    assert admin_password not in read(ctl, CASC)
    assert admin_password not in ctl.check_output("systemctl show jenkins")
    with ctl.sudo():
        journal = ctl.check_output("journalctl --no-pager -o cat")
        processes = ctl.check_output("ps -eo args")
        # The pattern is the secret file itself: a password on this command line would land in sudo's log.
        logs = ctl.run(f"grep -rlF -f {SECRETS}/admin_password /var/log /var/lib/jenkins/logs")
    assert admin_password not in journal
    assert admin_password not in processes
    assert logs.stdout == "", f"found in {logs.stdout}"
    ansible_log = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ansible.log"
    assert ansible_log.is_file(), "the scenario sets ANSIBLE_LOG_PATH; the plays must have written it"
    assert admin_password not in ansible_log.read_text(errors="replace")


def test_plugin_files_equal_the_lockfile(ctl: Any) -> None:
    # Every entry of the plugins folder: archives and the folders Jenkins unpacks them to, with their manifests.
    script = (
        "import glob, json, os, zipfile\n"
        "out = {}\n"
        "for path in sorted(glob.glob('/var/lib/jenkins/plugins/*')):\n"
        "    name = os.path.basename(path)\n"
        "    try:\n"
        "        if os.path.isdir(path):\n"
        "            text = open(os.path.join(path, 'META-INF', 'MANIFEST.MF')).read()\n"
        "        else:\n"
        "            text = zipfile.ZipFile(path).read('META-INF/MANIFEST.MF').decode()\n"
        "    except Exception as exc:\n"
        "        out[name] = repr(exc); continue\n"
        "    attrs = dict(l.split(': ', 1) for l in text.splitlines() if ': ' in l)\n"
        "    out[name] = [attrs.get('Short-Name'), attrs.get('Plugin-Version'), os.stat(path).st_uid]\n"
        "print(json.dumps(out))\n"
    )
    with ctl.sudo():
        found = json.loads(ctl.check_output("python3 -c %s", script))
    uid = int(ctl.check_output("id -u jenkins"))
    plugins_dir = ctl.file("/var/lib/jenkins/plugins")
    assert (plugins_dir.user, plugins_dir.group) == ("jenkins", "jenkins"), "Jenkins unpacks its plugins there"
    archives = {name: value for name, value in found.items() if "." in name}
    unpacked = {name: value for name, value in found.items() if "." not in name}
    pins = lockfile()
    # Planted by prepare: rogue.jpi, structs.jpi 1.0 with its unpacked folder and a .disabled marker. All corrected.
    assert archives == {f"{plugin}.jpi": [plugin, version, uid] for plugin, version in pins.items()}
    # Real Jenkins unpacks each archive into a folder; any such folder must be of the lockfile's version.
    for name, value in unpacked.items():
        assert isinstance(value, list) and value[:2] == [name, pins.get(name)], f"plugins/{name}/ is {value}"
    # ... and reported: the converge's drift report names each planted difference.
    ansible_log = (Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ansible.log").read_text(errors="replace")
    report = ansible_log.split("Report plugin drift (corrected above)", 1)[1][:15000]
    assert "rogue: not in the lockfile (removed)" in report
    assert f"structs: 1.0 installed, lockfile {pins['structs']}" in report


def test_started_once_after_its_configuration_was_in_place(ctl: Any) -> None:
    assert ctl.check_output("systemctl show jenkins -p NRestarts --value") == "0"
    with ctl.sudo():
        journal = ctl.check_output("journalctl --no-pager -o cat -u jenkins.service")
    starts = [line for line in journal.splitlines() if re.match(r"Started (jenkins\.service|Jenkins)", line)]
    assert len(starts) == 1, f"Jenkins was started {len(starts)} times:\n{journal}"
    started = int(ctl.check_output('date -d "$(systemctl show jenkins -p ExecMainStartTimestamp --value)" +%s'))
    files = ["/etc/systemd/system/jenkins.service.d/alur.conf", CASC, f"{SECRETS}/admin_password"]
    with ctl.sudo():
        mtimes = ctl.check_output(f"stat -c '%Y %n' {' '.join(files)} /var/lib/jenkins/plugins/*.jpi")
    for line in mtimes.splitlines():
        mtime, path = line.split(" ", 1)
        assert int(mtime) <= started, f"{path} was written after Jenkins' only start"


def test_ready_on_loopback_only(ctl: Any, agent: Any, ctl_address: str) -> None:
    login = ctl.run("curl -sS -o /dev/null -D - http://127.0.0.1:8080/login")
    assert login.rc == 0 and login.stdout.startswith("HTTP/1.") and " 200 " in login.stdout.splitlines()[0]
    assert re.search(r"(?im)^x-jenkins: \S+", login.stdout)
    assert ctl.socket("tcp://127.0.0.1:8080").is_listening
    assert not ctl.socket("tcp://0.0.0.0:8080").is_listening
    assert not alur_probe.connects_from(agent, ctl_address, 8080), "8080 reachable from another host"
    assert not alur_probe.connects_from_controller(ctl_address, 8080)
