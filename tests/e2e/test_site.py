"""The whole site on the four-host lab, end to end, the way an operator meets it.

One lab instance (a copy of inventory/lab) from the CI stand-in bundle, deployed with `alur deploy`:
- the first deploy runs inside the execution environment (`--ee`: ansible-core 2.21, as an AWX job runs it) and
  loses a client half-way (app2 is stopped): the others finish, app2 is reported unreachable, `--retry-failed`
  completes it (and its Jenkins controller, which pins its host key) through Mitogen, and an unchanged re-run
  of site.yml then changes nothing on any host, run inside the execution environment, then from the host venv's
  ansible-core (2.19) with Ansible's own strategy (plain ansible-playbook) and through Mitogen (alur's default),
  all three with the same tasks run and skipped: both cores agree on the state;
- every host has its static address and reaches exactly the ports the design allows on the others,
  checked both ways from every host; Jenkins answers behind HTTPS with the lab CA's certificate; the
  controller logs in to its agents as the SSH launcher does; Filebeat on each client reaches Logstash
  over TLS with its client certificate; the HTML status report renders in headless Chromium with the
  four hosts in the picture;
- faults: services stopped by hand come back with the next deploy (after which `alur plan` finds
  nothing to change); a network change that fails rolls back, and the re-run leaves every host reachable.
- `alur status` reports each service by asking it what an operator would (and the product's own health
  endpoint agrees); with Elasticsearch stopped it reports Elasticsearch down and Kibana, still running but
  unable to log in to it, unavailable, then healthy again once Elasticsearch is back.
This suite always deploys the CI stand-in bundle, so the flows only the real products can show (a log line
searchable in Elasticsearch, the example job built on an agent) are proven by the *_upstream Molecule
scenarios (`make test-upstream`). What stand-ins prove and do not: tests/standins/README.md.

The tests run in file order and share the lab: each builds on the state the one before left.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import build as standins  # tests/standins/build.py (pyproject's pytest pythonpath)
import pytest
import yaml
from alur_screenshot import render  # tests/e2e/alur_screenshot.py

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

HOSTS = ("app1", "app2", "ci", "logs")
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.M)
# app2 is stopped once it has finished this many tasks of role common (past its package installs).
STOP_AFTER_RESULTS = 8

# The ports probed on every host's static address, and whom the design lets through (prod profile):
# SSH from anywhere (common_ssh_allow_from is empty in the lab); the TLS proxies (and their HTTP
# redirect) in front of Jenkins on ci and Kibana on logs; the Beats input on logs from the Filebeat
# clients only. Elasticsearch's HTTP port serves only Logstash and Kibana (on logs itself), the
# transport port only other Elasticsearch nodes (none), and Jenkins, Kibana and Logstash's API listen
# behind their proxy or on loopback: from another host, all of them are dropped.
PROBED = (22, 80, 443, 5044, 5601, 8080, 9200, 9300, 9600)
EVERYONE = frozenset(HOSTS)
ALLOWED: dict[str, dict[int, frozenset[str]]] = {
    "ci": {22: EVERYONE, 80: EVERYONE, 443: EVERYONE},
    "logs": {22: EVERYONE, 80: EVERYONE, 443: EVERYONE, 5044: frozenset({"app1", "app2"})},
    "app1": {22: EVERYONE},
    "app2": {22: EVERYONE},
}

# Run inside a host: a TCP connection to each (address, port); "open", "refused" (a RST: nothing
# listens, the firewall let it through) or "dropped" (no answer within the timeout: the firewall).
PROBE = """
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
def probe(target):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((target[0], target[1]))
        return "open"
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "dropped"
    finally:
        s.close()
with ThreadPoolExecutor(64) as pool:
    print(json.dumps(list(pool.map(probe, json.loads(sys.argv[1])))))
"""

pytestmark = pytest.mark.containers
T = TypeVar("T")


@dataclass
class Lab:
    inventory: Path
    instance: str
    root: Path

    def env(self) -> dict[str, str]:
        # Run records go to a private state dir; the roles store the secrets they generate
        # vault-encrypted with this lab's own password.
        return dict(
            os.environ,
            ALUR_STATE_DIR=str(self.root / "state"),
            ANSIBLE_VAULT_PASSWORD_FILE=str(self.root / "vault-password"),
            # Its own fact cache: other labs of the same run name their hosts alike.
            ANSIBLE_CACHE_PLUGIN_CONNECTION=str(self.root / "facts"),
            ANSIBLE_FORCE_COLOR="0",
            COLUMNS="200",
        )

    def alur(self, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "alur"), *args], capture_output=True, text=True, check=False, cwd=ROOT, env=self.env(),
            timeout=timeout,
        )  # fmt: skip

    def playbook(self, *args: str, inventory: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(inventory or self.inventory), "site.yml", *args],
            capture_output=True, text=True, check=False, cwd=ROOT, env=self.env(), timeout=1800,
        )  # fmt: skip

    def container(self, host: str) -> str:
        return f"alur-{self.instance}-{host}"

    def run(self, host: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["podman", "exec", self.container(host), *argv], capture_output=True, text=True, check=False, timeout=300
        )
        if check:
            assert done.returncode == 0, f"{host}: {' '.join(argv)}: {done.stdout}{done.stderr}"
        return done

    def static_address(self, host: str) -> str:
        """The host's address on the lab network, as its host_vars give it (eth1)."""
        model = yaml.safe_load((self.inventory / "host_vars" / f"{host}.yml").read_text())["network_interfaces"]
        return str(next(i for i in model if i["name"] == "eth1")["addresses"][0]).split("/")[0]

    def lab_command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "alur"), "lab", *args], capture_output=True, text=True, check=False, cwd=ROOT, timeout=600
        )


def recap(output: str) -> dict[str, dict[str, int]]:
    return {
        m[0]: dict(zip(("ok", "changed", "unreachable", "failed", "skipped"), map(int, m[1:]), strict=True))
        for m in RECAP.findall(output)
    }


# Warnings a run may print that are not the roles' to fix: Ansible's notice on any third-party strategy plugin
# (Mitogen's), Mitogen's walk over ansible-core 2.21's internal _protomatter collection, Mitogen's own log lines
# (a host that vanished mid-run), the footer of any deprecation, find's note on the netplan folders Debian's base
# system does not have, and Ansible's note on a fresh host that it made root's private temp folder there.
FOREIGN_WARNINGS = re.compile(
    r"\[DEPRECATION WARNING\]: Use of strategy plugins not included in ansible\.builtin|\[WARNING\]: (Collection at "
    r"'\S+/_protomatter' does not have|\[mux\s+\d+\]|Deprecation warnings can be disabled|Skipped '\S*netplan' path"
    r"|Module remote_tmp /root/\.ansible/tmp did not exist and was created)"
)


def unexpected_warnings(lab: Lab, run_id: str) -> list[str]:
    """The warning lines of a recorded run that none of FOREIGN_WARNINGS explains."""
    found = []
    for line in (lab.root / "state" / "runs" / run_id / "events.jsonl").read_text().splitlines():
        for text in json.loads(line).get("stdout", "").splitlines():
            if re.match(r"\[(DEPRECATION )?WARNING\]", text) and not FOREIGN_WARNINGS.match(text):
                found.append(text)
    return found


def run_record(lab: Lab, run: str = "last") -> dict[str, object]:
    shown = lab.alur("runs", "show", run, "--json")
    assert shown.returncode == 0, shown.stderr
    return dict(json.loads(shown.stdout))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, containers_ready: None) -> Iterator[Lab]:
    instance = f"e{os.environ['ALUR_RUN_ID']}"
    root = tmp_path_factory.mktemp("e2e")
    inventory = root / "lab"
    shutil.copytree(ROOT / "inventory" / "lab", inventory, ignore=shutil.ignore_patterns("zz-*", ".secrets", ".pki"))
    (root / "vault-password").write_text(os.urandom(16).hex() + "\n")
    (root / "vault-password").chmod(0o600)
    lab = Lab(inventory, instance, root)
    # The vendors' repositories are unreachable here: the lab installs from the CI stand-in bundle (and says so).
    up = lab.lab_command(
        "up", "-i", str(inventory), "--instance", instance, "--owner-pid", os.environ["ALUR_OWNER_PID"],
        "--bundle", str(standins.ensure_bundle()), "--allow-standins",
    )  # fmt: skip
    assert up.returncode == 0, up.stdout + up.stderr
    yield lab
    down = lab.lab_command("down", "-i", str(inventory), "--instance", instance)
    assert down.returncode == 0, down.stderr


@pytest.fixture(scope="module")
def ee_image(lab: Lab) -> str:
    """alur's execution environment (make test builds it first; this only checks it is current)."""
    built = lab.alur("ee", "build", timeout=900)
    assert built.returncode == 0, built.stdout + built.stderr
    info = lab.alur("ee", "info")
    assert info.returncode == 0, info.stderr
    found = json.loads(info.stdout)
    assert found["ansible_core"].startswith("2.21."), found
    return str(found["image"])


@pytest.fixture(scope="module")
def standin_products(lab: Lab) -> set[str]:
    """The products installed as CI stand-ins anywhere in the lab (after the deploy)."""
    found = set()
    for host in HOSTS:
        listed = lab.run(host, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n", check=False).stdout
        found |= {line.split()[0] for line in listed.splitlines() if line.endswith("+standin")}
    return found


# --- the lab itself -------------------------------------------------------------------------------


def test_four_hosts_run_and_answer_over_ssh(lab: Lab) -> None:
    hosts = json.loads(lab.lab_command("status", "--instance", lab.instance, "--json").stdout)
    assert sorted(h["name"] for h in hosts) == list(HOSTS)
    assert all(h["state"] == "running" and h["mgmt_ip"] for h in hosts)
    ping = subprocess.run(
        [str(BIN / "ansible"), "-i", str(lab.inventory), "all", "-m", "ansible.builtin.ping", "-o"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert ping.stdout.count("SUCCESS") == 4


def test_lab_keys_are_private_and_each_host_has_its_own(lab: Lab) -> None:
    state = ROOT / ".alur" / "labs" / lab.instance
    for name in ("id_ed25519", "known_hosts"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600
    fingerprints = [line.split()[2] for line in (state / "known_hosts").read_text().splitlines() if line.strip()]
    assert len(fingerprints) == 4 and len(set(fingerprints)) == 4


def test_up_on_a_running_lab_is_a_no_op(lab: Lab) -> None:
    before = json.loads(lab.lab_command("status", "--instance", lab.instance, "--json").stdout)
    again = lab.lab_command("up", "-i", str(lab.inventory), "--instance", lab.instance)
    assert again.returncode == 0, again.stderr
    assert "starting container" not in again.stdout
    assert json.loads(lab.lab_command("status", "--instance", lab.instance, "--json").stdout) == before


def test_check_passes_with_a_preflight_row_per_host(lab: Lab) -> None:
    check = lab.alur("check", "-i", str(lab.inventory))
    assert check.returncode == 0, check.stdout + check.stderr
    rows = [line for line in check.stdout.splitlines() if re.match(r"^│ (app1|app2|ci|logs) ", line)]
    assert len(rows) == 4
    assert all("Debian 13" in row and "sudo" in row and "FAIL" not in row for row in rows)
    assert check.stdout.rstrip().endswith("check ok (with preflight): 0 error(s), 0 warning(s)")


def test_the_preflight_tries_a_port_from_the_host_itself(lab: Lab) -> None:
    # How `alur check` finds package repositories a host cannot reach: a TCP connection made on the host.
    from alur import preflight
    from alur.inventory import Inventory

    inventory = Inventory(lab.inventory, ROOT)
    target = inventory.connection("app1").address
    found = preflight.reach(
        inventory.connection("ci"), [preflight.Source(target, 22, "sshd"), preflight.Source(target, 1, "nothing")]
    )
    assert found == {f"{target}:22": True, f"{target}:1": False}


# --- deploy: a client lost half-way, the retry, then nothing left to change --------------------------


def test_a_client_stopped_mid_deploy_is_unreachable_while_the_others_finish(lab: Lab, ee_image: str) -> None:
    deploy = subprocess.Popen(
        # Ansible's own strategy: it reports a host that vanished as unreachable whatever the task was doing, where
        # Mitogen, losing the host while it pushes a module, can report a failure of its file service instead.
        [str(BIN / "alur"), "deploy", "-i", str(lab.inventory), "--plain", "--ee", ee_image, "--no-accelerate"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=lab.env(),
    )  # fmt: skip
    assert deploy.stdout is not None
    lines: list[str] = []
    stopped = threading.Event()
    done = 0
    task = ""
    for line in deploy.stdout:
        lines.append(line)
        if line.startswith("TASK ["):
            task = line
        if not stopped.is_set() and task.startswith("TASK [common :") and re.match(r"^  app2: (ok|changed)", line):
            done += 1
            if done == STOP_AFTER_RESULTS:
                subprocess.run(
                    ["podman", "stop", "--time", "10", lab.container("app2")], check=True, capture_output=True
                )
                stopped.set()
    code = deploy.wait(timeout=1800)
    output = "".join(lines)
    assert stopped.is_set(), output[-3000:]
    assert code == 5, output[-4000:]
    assert re.search(r"^  app2: unreachable", output, re.M), output[-3000:]
    record = run_record(lab)
    assert record["unreachable_hosts"] == ["app2"] and record["failed_hosts"] == [], output[-4000:]
    hosts = record["hosts"]
    assert isinstance(hosts, dict)
    for host in ("app1", "ci", "logs"):
        assert hosts[host]["failed"] == 0 and hosts[host]["unreachable"] == 0 and hosts[host]["changed"] > 0
    assert "retry only those hosts" in output
    # The whole run, its check's validate play included, ran inside the image: ansible-core 2.21 said nothing to
    # fix (no deprecation of ours: the one Mitogen's strategy plugin draws is Ansible's notice about any
    # third-party strategy).
    assert record["execution_environment"]["ansible_core"].startswith("2.21."), record  # type: ignore[index]
    assert "reached its end of life" not in output
    assert unexpected_warnings(lab, str(record["id"])) == []


def test_retry_failed_completes_the_client_and_its_controller(lab: Lab, ee_image: str) -> None:
    up = lab.lab_command("up", "-i", str(lab.inventory), "--instance", lab.instance)
    assert up.returncode == 0, up.stdout + up.stderr
    retry = lab.alur("deploy", "-i", str(lab.inventory), "--retry-failed", "--plain", "--ee", ee_image)
    assert retry.returncode == 0, retry.stdout[-4000:] + retry.stderr
    # ci pins each agent's host key, which it could not read while app2 was down: it runs again too.
    assert "retrying app2" in retry.stdout and "and ci, whose configuration lists them" in retry.stdout
    record = run_record(lab)
    assert record["limit"] == "app2,ci" and sorted(record["hosts"]) == ["app2", "ci"]  # type: ignore[call-overload]
    assert record["hosts"]["app2"]["changed"] > 0  # type: ignore[index]


def test_an_unchanged_rerun_changes_nothing_with_either_core_and_either_strategy(lab: Lab, ee_image: str) -> None:
    unchanged = dict.fromkeys(HOSTS, 0)
    # Inside the execution environment (ansible-core 2.21, Mitogen), as the first deploy ran.
    boxed = lab.alur("deploy", "-i", str(lab.inventory), "--skip-check", "--plain", "--ee", ee_image)
    assert boxed.returncode == 0, boxed.stdout[-4000:] + boxed.stderr
    record = run_record(lab)
    assert record["execution_environment"]["ansible_core"].startswith("2.21."), record  # type: ignore[index]
    assert unexpected_warnings(lab, str(record["id"])) == []
    in_image: dict[str, dict[str, int]] = record["hosts"]  # type: ignore[assignment]
    assert {h: s["changed"] for h, s in in_image.items()} == unchanged, boxed.stdout[-6000:]
    # The host venv's ansible-core, with Ansible's own strategy: plain ansible-playbook, as an operator without
    # alur (or Mitogen) runs it.
    plain = lab.playbook()
    assert plain.returncode == 0, plain.stdout[-4000:]
    by_hand = recap(plain.stdout)
    assert {h: s["changed"] for h, s in by_hand.items()} == unchanged, plain.stdout[-6000:]
    # alur's default path on the host: the same site through Mitogen.
    fast = lab.alur("deploy", "-i", str(lab.inventory), "--skip-check", "--plain")
    assert fast.returncode == 0, fast.stdout[-4000:] + fast.stderr
    record = run_record(lab)
    assert str(record["accelerator"]).startswith("Mitogen"), record["accelerator"]
    assert record["execution_environment"] is None
    accelerated: dict[str, dict[str, int]] = record["hosts"]  # type: ignore[assignment]
    assert {h: s["changed"] for h, s in accelerated.items()} == unchanged, fast.stdout[-6000:]
    # All three ran and skipped the same tasks on every host: the same site, whichever core and strategy run it.
    counts = {h: (s["ok"], s["skipped"]) for h, s in by_hand.items()}
    assert counts == {h: (s["ok"], s["skipped"]) for h, s in accelerated.items()}
    assert counts == {h: (s["ok"], s["skipped"]) for h, s in in_image.items()}


# --- faults after the converge ------------------------------------------------------------------------


def test_services_stopped_by_hand_come_back_with_the_next_deploy(lab: Lab) -> None:
    stopped = ("filebeat", "chrony")
    for unit in stopped:
        lab.run("app1", "systemctl", "stop", unit)
        assert lab.run("app1", "systemctl", "is-active", unit, check=False).stdout.strip() != "active"
    deploy = lab.alur("deploy", "-i", str(lab.inventory), "--limit", "app1", "--plain")
    assert deploy.returncode == 0, deploy.stdout[-4000:] + deploy.stderr
    for unit in stopped:
        assert lab.run("app1", "systemctl", "is-active", unit, check=False).stdout.strip() == "active", unit
    assert run_record(lab)["hosts"]["app1"]["changed"] > 0  # type: ignore[index]


def test_plan_after_that_deploy_changes_nothing(lab: Lab) -> None:
    plan = lab.alur("plan", "-i", str(lab.inventory), "--limit", "app1")
    assert plan.returncode == 0, plan.stdout[-4000:] + plan.stderr
    assert "0 of 1 host(s) would change" in plan.stdout, plan.stdout[-4000:]
    assert "--check --diff" in plan.stdout


def test_runs_lists_every_run_and_keeps_the_exact_command(lab: Lab, ee_image: str) -> None:
    listing = lab.alur("runs")
    assert listing.returncode == 0
    records = sorted((lab.root / "state" / "runs").iterdir())
    # deploy, retry, the unchanged re-runs in the execution environment and on the host, the deploy after the
    # stopped services, plan (plain ansible-playbook runs are not alur's)
    kinds = [json.loads((r / "summary.json").read_text())["kind"] for r in records]
    assert kinds == ["deploy", "deploy", "deploy", "deploy", "deploy", "plan"]
    first, retry = (json.loads((r / "summary.json").read_text()) for r in records[:2])
    assert first["exit_code"] == 5
    assert first["accelerator"] == "plain strategy (--no-accelerate)"
    assert "ANSIBLE_STRATEGY" not in first["command"]
    # Mitogen is the default (the image's own), and the record's command, a podman run of the image with the
    # lab's folders, carries what made the run accelerated.
    assert retry["accelerator"].startswith("Mitogen")
    assert retry["execution_environment"]["image"] == first["execution_environment"]["image"] == ee_image
    assert "ANSIBLE_STRATEGY=mitogen_linear" in retry["command"]
    command = (records[0] / "command.txt").read_text().strip()
    assert " podman run " in command and f" -v {lab.inventory}:{lab.inventory} " in command, command
    assert command.endswith(f"{ee_image} ansible-playbook -i {lab.inventory} site.yml"), command
    events = [json.loads(e) for e in (records[0] / "events.jsonl").read_text().splitlines()]
    assert any(e.get("status") == "unreachable" and e.get("host") == "app2" for e in events)
    for record in records:
        assert json.loads((record / "summary.json").read_text())["id"] in listing.stdout


def test_a_failed_network_change_rolls_back_and_the_rerun_leaves_every_host_reachable(lab: Lab) -> None:
    broken = lab.root / "broken"
    shutil.copytree(lab.inventory, broken)
    path = broken / "host_vars" / "app1.yml"
    host_vars = yaml.safe_load(path.read_text())
    # Passes validation and `ifup --no-act`, but the kernel refuses the MAC address: ifup fails on the host.
    host_vars["network_interfaces"][0]["options"] = {"hwaddress": "02:00:00:00:00"}
    path.write_text(yaml.safe_dump(host_vars))
    failed = lab.playbook("--tags", "network", "--limit", "app1", inventory=broken)
    assert failed.returncode != 0
    assert "app1: network change rolled back" in failed.stdout, failed.stdout[-4000:]
    state = json.loads(lab.run("app1", "/usr/local/sbin/alur-netapply", "status").stdout)
    assert state["state"] == "rolled-back"
    rerun = lab.playbook("--tags", "network")
    assert rerun.returncode == 0, rerun.stdout[-4000:]
    assert {h: s["changed"] for h, s in recap(rerun.stdout).items()} == dict.fromkeys(HOSTS, 0), rerun.stdout[-4000:]


# --- what the site looks like from the hosts ----------------------------------------------------------


def test_every_host_has_its_static_address(lab: Lab) -> None:
    for host in HOSTS:
        shown = lab.run(host, "ip", "-o", "-4", "addr", "show", "dev", "eth1").stdout
        assert f" {lab.static_address(host)}/24 " in shown, (host, shown)
        assert "/etc/network/interfaces.d/" in lab.run(host, "grep", "-rl", "iface eth1", "/etc/network/").stdout


def test_each_host_reaches_exactly_the_allowed_ports_on_the_others(lab: Lab) -> None:
    found: dict[tuple[str, str, int], str] = {}
    for source in HOSTS:
        targets = [(lab.static_address(d), p, d) for d in HOSTS if d != source for p in PROBED]
        out = lab.run(source, "python3", "-c", PROBE, json.dumps([[a, p] for a, p, _ in targets])).stdout
        for (_, port, dest), state in zip(targets, json.loads(out), strict=True):
            found[(source, dest, port)] = state
    expected = {
        (source, dest, port): "open" if source in ALLOWED[dest].get(port, ()) else "dropped"
        for (source, dest, port) in found
    }
    wrong = {f"{s} -> {d}:{p}": f"{found[(s, d, p)]}, want {want}" for (s, d, p), want in expected.items()
             if found[(s, d, p)] != want}  # fmt: skip
    assert not wrong, wrong
    assert len(found) == 4 * 3 * len(PROBED)


def test_jenkins_answers_behind_https_with_the_lab_certificate(lab: Lab) -> None:
    ci = lab.static_address("ci")
    subprocess.run(
        ["podman", "cp", str(lab.inventory / ".pki" / "ca.crt"), f"{lab.container('app1')}:/tmp/lab-ca.crt"],
        check=True, capture_output=True,
    )  # fmt: skip
    https = lab.run(
        "app1", "curl", "-sS", "--cacert", "/tmp/lab-ca.crt", "-o", "/dev/null",
        "-w", "%{http_code} %{ssl_verify_result} %{scheme}", f"https://{ci}/login",
    ).stdout.split()  # fmt: skip
    assert [https[1], https[2].lower()] == ["0", "https"] and https[0] in {"200", "403"}, https
    # Without the CA the certificate is not trusted: nothing else vouches for it.
    untrusted = lab.run("app1", "curl", "-sS", "-o", "/dev/null", f"https://{ci}/login", check=False)
    assert untrusted.returncode == 60, untrusted.stderr
    redirect = lab.run("app1", "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", f"http://{ci}/")
    code, location = redirect.stdout.split()
    assert code == "301" and location.startswith(f"https://{ci}/"), redirect.stdout


def test_the_controller_logs_in_to_each_agent_as_its_launcher_does(lab: Lab) -> None:
    secrets = "/etc/jenkins/casc-secrets"
    casc = lab.run("ci", "cat", "/etc/jenkins/casc.d/alur.yaml").stdout
    for agent in ("app1", "app2"):
        address = lab.static_address(agent)
        host_key = lab.run(agent, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[:2]
        assert " ".join(host_key) in casc, f"JCasC pins {agent}'s host key"
        login = lab.run(
            "ci", "sh", "-c",
            f"printf '%s\\n' '{address} {' '.join(host_key)}' > /root/alur-e2e-known-hosts && "
            f"ssh -i {secrets}/agent_ssh_private_key -o BatchMode=yes -o StrictHostKeyChecking=yes "
            f"-o UserKnownHostsFile=/root/alur-e2e-known-hosts jenkins-agent@{address} 'id -un; java -version'; "
            "status=$?; rm -f /root/alur-e2e-known-hosts; exit $status",
        )  # fmt: skip
        assert login.stdout.strip() == "jenkins-agent", login.stdout
        assert re.search(r'version "21\.', login.stderr), login.stderr


def test_filebeat_on_each_client_reaches_logstash_over_tls(lab: Lab) -> None:
    logs = lab.static_address("logs")
    for client in ("app1", "app2"):
        config = yaml.safe_load(lab.run(client, "cat", "/etc/filebeat/filebeat.yml").stdout)
        output = config["output.logstash"] if "output.logstash" in config else config["output"]["logstash"]
        assert output["hosts"] == [f"{logs}:5044"], output
        assert output["ssl.enabled"] if "ssl.enabled" in output else output["ssl"]["enabled"]
        tested = lab.run(client, "filebeat", "test", "output", "-c", "/etc/filebeat/filebeat.yml")
        assert "TLS" in tested.stdout and "OK" in tested.stdout, tested.stdout


def vault_value(lab: Lab, path: Path) -> str:
    """A secret the roles stored vault-encrypted on the controller (never put on a command line)."""
    shown = subprocess.run(
        [str(BIN / "ansible-vault"), "view", str(path)], capture_output=True, text=True, check=True, env=lab.env()
    )
    return shown.stdout


def https_json(lab: Lab, host: str, url: str, user: str, password: str, cacert: str) -> object:
    """GET from a lab host, verifying with `cacert` (a path on that host): the JSON answer, or curl's error.
    The credentials reach curl on stdin (-K -), never its command line."""
    config = f'user = "{user}:{password}"\n'
    done = subprocess.run(
        ["podman", "exec", "-i", lab.container(host),
         "curl", "-sS", "--fail", "--cacert", cacert, "-K", "-", url],
        input=config, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    return json.loads(done.stdout) if done.returncode == 0 else f"curl {done.returncode}: {done.stderr.strip()}"


def poll(check: Callable[[], T], seconds: int) -> T:
    """check() until it returns something true or `seconds` pass; its last answer."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(2)


def status_report(lab: Lab) -> tuple[int, dict[str, Any]]:
    """`alur status --json`: its exit code and the hosts by name."""
    status = lab.alur("status", "-i", str(lab.inventory), "--json")
    return status.returncode, {h["name"]: h for h in json.loads(status.stdout)["hosts"]}


def elasticsearch_health(lab: Lab) -> object:
    """Elasticsearch's own cluster health, asked on logs as the elastic user (the password from the vault)."""
    secrets = yaml.safe_load(vault_value(lab, lab.inventory / ".secrets" / "elasticstack" / "secrets.vault.yml"))
    url = f"https://{lab.static_address('logs')}:9200/_cluster/health"
    # The stack's own CA, which signs Elasticsearch's HTTP certificate, as the roles install it on the host.
    ca = "/etc/elasticsearch/certs/ca.crt"
    return https_json(lab, "logs", url, "elastic", secrets["elasticstack_elastic_password"], ca)


# The services alur status checks on each lab host (its groups' checks and every host's sshd and nftables).
SERVICES = {
    "app1": {"sshd", "nftables", "filebeat", "jenkins-agent"},
    "app2": {"sshd", "nftables", "filebeat", "jenkins-agent"},
    "ci": {"sshd", "nftables", "jenkins", "nginx-proxy"},
    "logs": {"sshd", "nftables", "elasticsearch", "kibana", "logstash"},
}


def test_status_reports_every_host_and_renders_with_the_four_hosts(
    lab: Lab, tmp_path: Path, standin_products: set[str]
) -> None:
    html = tmp_path / "status.html"
    status = lab.alur("status", "-i", str(lab.inventory), "--json", "--html", str(html))
    report = json.loads(status.stdout)
    hosts = {h["name"]: h for h in report["hosts"]}
    assert sorted(hosts) == list(HOSTS)
    for name, host in hosts.items():
        assert host["reachable"], host
        management = host["endpoint"].rsplit(":", 1)[0]
        assert any(a["cidr"].startswith(management + "/") for a in host["addresses"]), host["addresses"]
        assert any(a["cidr"] == f"{lab.static_address(name)}/24" for a in host["addresses"]), host["addresses"]
        services = {s["name"]: s for s in host["services"]}
        assert set(services) == SERVICES[name]
        # After the deploys above every service is up; each check asks the product what the real one would be
        # asked (stand-ins serve the same endpoints) and a stand-in is only named in the detail.
        assert [s for s in services.values() if not s["up"]] == [], name
        assert services["sshd"]["version"] and services["nftables"]["detail"] == "input policy drop", name
        for product in standin_products & set(services):
            assert services[product]["detail"].endswith("(CI stand-in)"), services[product]
        assert host["healthy"], name
    logs, ci = ({s["name"]: s for s in hosts[h]["services"]} for h in ("logs", "ci"))
    # What each check found, not only its verdict: a service that is down, or up but misconfigured, says otherwise.
    assert "security on (401 without credentials)" in logs["elasticsearch"]["detail"], logs["elasticsearch"]
    health = elasticsearch_health(lab)
    assert isinstance(health, dict) and (health["status"], health["number_of_nodes"]) == ("green", 1), health
    assert logs["kibana"]["detail"].startswith("available"), logs["kibana"]
    assert logs["logstash"]["detail"].startswith("pipeline alur-beats up"), logs["logstash"]
    jenkins_package = lab.run("ci", "dpkg-query", "-W", "-f", "${Version}", "jenkins").stdout.split("+")[0]
    assert (ci["jenkins"]["version"], ci["jenkins"]["detail"].split()[0]) == (jenkins_package, "ready"), ci["jenkins"]
    assert logs["kibana"]["url"] == f"https://{lab.static_address('logs')}/"
    assert ci["nginx-proxy"]["url"] == f"https://{lab.static_address('ci')}/" and ci["nginx-proxy"]["version"]
    assert ci["nginx-proxy"]["detail"].endswith(", reaches Jenkins"), ci["nginx-proxy"]
    for client in ("app1", "app2"):
        filebeat = next(s for s in hosts[client]["services"] if s["name"] == "filebeat")
        assert ", 0 failed" in filebeat["detail"], filebeat
    assert status.returncode == 0, status.stderr
    table = lab.alur("status", "-i", str(lab.inventory))
    assert table.returncode == 0 and "status: healthy" in table.stdout

    shot = render(html, tmp_path / "status.png")
    assert sorted(shot.boxes) == list(HOSTS)
    for name in hosts:
        box = shot.boxes[name]
        assert box.state == "up", (name, box.state)
        assert box.inside(shot.width, shot.height), (name, box)
        assert shot.colour_at(box.header_point()) == box.colour, (name, box)
        assert shot.has_ink(box), name


def test_status_reports_elasticsearch_down_and_kibana_unavailable_without_it(lab: Lab) -> None:
    """Stop Elasticsearch: status names it down, and Kibana, whose unit still runs, unavailable (it cannot log in
    as kibana_system); the other hosts stay healthy. Started again, everything is healthy within minutes."""
    lab.run("logs", "systemctl", "stop", "elasticsearch")
    try:

        def degraded() -> tuple[int, dict[str, Any]] | None:
            code, hosts = status_report(lab)
            services = {s["name"]: s for s in hosts["logs"]["services"]}
            return (code, hosts) if not services["kibana"]["up"] else None

        found = poll(degraded, 180)
        assert found, "Kibana still reported available 3 minutes after Elasticsearch stopped"
        code, hosts = found
        logs = {s["name"]: s for s in hosts["logs"]["services"]}
        assert code == 4, code
        assert not hosts["logs"]["healthy"]
        assert not logs["elasticsearch"]["up"] and "inactive" in logs["elasticsearch"]["detail"], logs["elasticsearch"]
        assert lab.run("logs", "systemctl", "is-active", "kibana", check=False).stdout.strip() == "active"
        assert not logs["kibana"]["detail"].startswith("available"), logs["kibana"]
        assert all(hosts[h]["healthy"] for h in ("app1", "app2", "ci")), hosts
    finally:
        lab.run("logs", "systemctl", "start", "elasticsearch", check=False)
    assert poll(lambda: status_report(lab)[0] == 0, 300), "not healthy again 5 minutes after Elasticsearch started"


# --- outside auditors, last: they install their own tools on the hosts ------------------------------


def lynis_index(lab: Lab, host: str) -> tuple[int, list[str]]:
    """Lynis (Debian's package) on the deployed host: its hardening index and its open suggestions' ids."""
    lab.run(host, "sh", "-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lynis >/dev/null")
    audit = ["lynis", "audit", "system", "--quick", "--no-colors", "--report-file", "/root/lynis-report.dat"]
    done = subprocess.run(
        ["podman", "exec", lab.container(host), *audit], capture_output=True, text=True, check=False, timeout=1200
    )
    assert done.returncode == 0, f"{host}: lynis: {done.stdout[-2000:]}{done.stderr}"
    report = lab.run(host, "cat", "/root/lynis-report.dat").stdout.splitlines()
    values = dict(line.split("=", 1) for line in report if line.startswith("hardening_index="))
    suggestions = sorted({line.split("=", 1)[1].split("|")[0] for line in report if line.startswith("suggestion[]=")})
    return int(values["hardening_index"]), suggestions


def test_lynis_scores_every_deployed_host_at_least_80(lab: Lab) -> None:
    """The whole site, every role on its hosts, still meets the OS baseline's target (issue: Lynis >= 80)."""
    with ThreadPoolExecutor(max_workers=len(HOSTS)) as pool:
        scores = dict(zip(HOSTS, pool.map(lambda h: lynis_index(lab, h), HOSTS), strict=True))
    print({host: score for host, (score, _) in scores.items()})
    assert all(score >= 80 for score, _ in scores.values()), scores


def test_ssh_audit_finds_no_failure_on_any_deployed_host(lab: Lab) -> None:
    """ssh-audit (Debian's package, installed by make test) against every host's sshd as deployed."""
    hosts = json.loads(lab.lab_command("status", "--instance", lab.instance, "--json").stdout)
    for host in hosts:
        audit = subprocess.run(
            ["ssh-audit", "-n", host["mgmt_ip"]], capture_output=True, text=True, check=False, timeout=120
        )
        failures = [line for line in audit.stdout.splitlines() if "[fail]" in line]
        assert audit.stdout and failures == [], f"{host['name']}: {failures or audit.stderr}"
