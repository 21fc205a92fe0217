"""The test bed: real Debian hosts in podman containers, with systemd, sshd and two networks.

Every lab instance gets
- a management network (podman IPAM) the controller uses to reach each host's sshd,
- a lab network with no IPAM: each host sees an `eth1` with no address, which the
  network role later configures through /etc/network/interfaces, like a real LAN,
- one container per host (systemd as PID 1, NET_ADMIN for ifupdown),
- an SSH key pair and a known_hosts file under the state directory (mode 0600).

Everything carries labels, so that `down` and `prune` find exactly what alur made.
Instances made by a test run also carry the run's PID: when that process is gone
(a killed session), `prune` removes them before the next run starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alur import images, podman
from alur.errors import AlurError, ContainerError
from alur.paths import project_root, state_dir

OPERATOR = images.OPERATOR
CONNECTION_FILE = "zz-lab-connection.yml"
BOOT_TIMEOUT = 120.0


@dataclass(frozen=True)
class HostSpec:
    name: str
    release: str = images.DEFAULT_RELEASE
    publish: tuple[str, ...] = ()  # podman -p values, e.g. "127.0.0.1:8443:443"


@dataclass(frozen=True)
class LabSpec:
    instance: str
    hosts: tuple[HostSpec, ...]
    # Give the machine running Ansible an address on the lab network (CIDR), so that it can
    # manage hosts through the very interface the network role changes.
    lan_bridge_cidr: str | None = None
    owner_pid: int | None = None  # set by test harnesses; None = kept until `down`


@dataclass
class LabHost:
    name: str
    container: str
    state: str
    release: str
    mgmt_ip: str | None = None
    lan_addresses: list[str] = field(default_factory=list)


def container_name(instance: str, host: str) -> str:
    return f"alur-{instance}-{host}"


def network_names(instance: str) -> tuple[str, str]:
    return f"alur-{instance}-mgmt", f"alur-{instance}-lan"


def instance_dir(instance: str) -> Path:
    return state_dir() / "labs" / instance


def key_file(instance: str) -> Path:
    return instance_dir(instance) / "id_ed25519"


def known_hosts_file(instance: str) -> Path:
    return instance_dir(instance) / "known_hosts"


_NAME_PATTERNS = {
    "host": re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,62}$"),  # it becomes the container's hostname
    "instance": re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"),
}


def _validate_name(kind: str, name: str) -> None:
    if not _NAME_PATTERNS[kind].fullmatch(name):
        allowed = "ASCII letters, digits and '-'" + (" or '_'" if kind == "instance" else "")
        raise AlurError(f"invalid {kind} name {name!r}: use {allowed}, starting with a letter or digit")


# --- inventory -> spec ---------------------------------------------------------------------


def _hosts_of(group: dict[str, Any] | None) -> Iterable[str]:
    if not group:
        return
    yield from (group.get("hosts") or {})
    for child in (group.get("children") or {}).values():
        yield from _hosts_of(child)


def spec_from_inventory(inventory: Path, instance: str = "lab", owner_pid: int | None = None) -> LabSpec:
    """The lab's hosts from an inventory folder: every host of hosts.yml, release and published
    ports from each host's `alur_lab_release` / `alur_lab_publish` in host_vars."""
    hosts_file = inventory / "hosts.yml"
    if not hosts_file.is_file():
        raise AlurError(f"{hosts_file} not found: a lab inventory needs a hosts.yml")
    data = yaml.safe_load(hosts_file.read_text()) or {}
    names = sorted(set(_hosts_of(data.get("all"))))
    if not names:
        raise AlurError(f"{hosts_file} lists no hosts")
    specs = []
    for name in names:
        _validate_name("host", name)
        host_vars: dict[str, Any] = {}
        for candidate in (
            inventory / "host_vars" / f"{name}.yml",
            inventory / "host_vars" / name / "lab.yml",
        ):
            if candidate.is_file():
                host_vars.update(yaml.safe_load(candidate.read_text()) or {})
        specs.append(
            HostSpec(
                name=name,
                release=str(host_vars.get("alur_lab_release", images.DEFAULT_RELEASE)),
                publish=tuple(host_vars.get("alur_lab_publish", ())),
            )
        )
    return LabSpec(instance=instance, hosts=tuple(specs), owner_pid=owner_pid)


# --- podman helpers ------------------------------------------------------------------------


def _labels(spec: LabSpec) -> list[str]:
    labels = [f"{podman.LABEL_MANAGED}=true", f"{podman.LABEL_INSTANCE}={spec.instance}"]
    if spec.owner_pid is not None:
        labels.append(f"{podman.LABEL_OWNER_PID}={spec.owner_pid}")
    out: list[str] = []
    for label in labels:
        out += ["--label", label]
    return out


def _containers(instance: str | None = None) -> list[dict[str, Any]]:
    selector = f"{podman.LABEL_INSTANCE}={instance}" if instance else f"{podman.LABEL_MANAGED}=true"
    result = podman.run_json("ps", "--all", "--filter", f"label={selector}", "--format", "json")
    return list(result) if isinstance(result, list) else []


def _networks(instance: str | None = None) -> list[dict[str, Any]]:
    selector = f"{podman.LABEL_INSTANCE}={instance}" if instance else f"{podman.LABEL_MANAGED}=true"
    result = podman.run_json("network", "ls", "--filter", f"label={selector}", "--format", "json")
    return list(result) if isinstance(result, list) else []


def _inspect(container: str) -> dict[str, Any]:
    data = podman.run_json("container", "inspect", container)
    if not data:
        raise ContainerError(f"container {container} vanished")
    return dict(data[0])


def _ensure_networks(spec: LabSpec) -> tuple[str, str]:
    mgmt, lan = network_names(spec.instance)
    existing = {n.get("name") or n.get("Name") for n in _networks(spec.instance)}
    if mgmt not in existing:
        podman.run("network", "create", *_labels(spec), mgmt)
    if lan not in existing:
        podman.run("network", "create", "--ipam-driver", "none", *_labels(spec), lan)
    return mgmt, lan


def _run_container(spec: LabSpec, host: HostSpec, mgmt: str, lan: str) -> None:
    args = [
        "run",
        "--detach",
        "--name",
        container_name(spec.instance, host.name),
        "--hostname",
        host.name,
        "--systemd",
        "always",
        "--cap-add",
        "NET_ADMIN",
        "--network",
        f"{mgmt}:interface_name=eth0",
        "--network",
        f"{lan}:interface_name=eth1",
        *_labels(spec),
        "--label",
        f"io.alur.host={host.name}",
        "--label",
        f"io.alur.release={host.release}",
    ]
    # Test instances (an owner process) publish nothing: side by side, they would fight for the same ports.
    for mapping in host.publish if spec.owner_pid is None else ():
        args += ["--publish", mapping]
    podman.run(*args, images.image_ref(host.release), "/sbin/init")


def _lab_host(info: dict[str, Any]) -> LabHost:
    labels = info.get("Config", {}).get("Labels") or {}
    instance = labels.get(podman.LABEL_INSTANCE, "")
    mgmt_net, _ = network_names(instance)
    nets = info.get("NetworkSettings", {}).get("Networks") or {}
    mgmt_ip = (nets.get(mgmt_net) or {}).get("IPAddress") or None
    return LabHost(
        name=labels.get("io.alur.host", info.get("Name", "")),
        container=info.get("Name", ""),
        state=info.get("State", {}).get("Status", "unknown"),
        release=labels.get("io.alur.release", "?"),
        mgmt_ip=mgmt_ip,
    )


def _exec(container: str, *cmd: str, input_text: str | None = None, check: bool = True) -> str:
    interactive = ["--interactive"] if input_text is not None else []
    return podman.run("exec", *interactive, container, *cmd, input_text=input_text, check=check).stdout


def _wait_booted(container: str, deadline: float) -> None:
    while True:
        proc = podman.run("exec", container, "systemctl", "is-system-running", check=False)
        state = proc.stdout.strip()
        if state in {"running", "degraded"}:
            if state == "degraded":
                failed = podman.run("exec", container, "systemctl", "--failed", "--no-legend", check=False)
                raise ContainerError(f"{container} booted with failed units: {failed.stdout.strip()}")
            return
        if time.monotonic() > deadline:
            raise ContainerError(f"{container} did not finish booting within {BOOT_TIMEOUT:.0f}s (state {state!r})")
        time.sleep(0.5)


def _wait_tcp(address: str, port: int, deadline: float) -> None:
    while True:
        with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=2):
            return
        if time.monotonic() > deadline:
            raise ContainerError(f"{address}:{port} did not accept connections within {BOOT_TIMEOUT:.0f}s")
        time.sleep(0.3)


def _ensure_keypair(instance: str) -> Path:
    key = key_file(instance)
    key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not key.is_file():
        subprocess.run(
            [
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                f"alur-{instance}",
                "-f",
                str(key),
            ],
            check=True,
        )
    key.chmod(0o600)
    return key


def _authorize(container: str, public_key: str) -> None:
    script = (
        f"install -d -m 0700 -o {OPERATOR} -g {OPERATOR} /home/{OPERATOR}/.ssh && "
        f"cat > /home/{OPERATOR}/.ssh/authorized_keys && "
        f"chown {OPERATOR}: /home/{OPERATOR}/.ssh/authorized_keys && "
        f"chmod 0600 /home/{OPERATOR}/.ssh/authorized_keys"
    )
    _exec(container, "sh", "-c", script, input_text=public_key)


def _host_key(container: str) -> tuple[str, str]:
    fields = _exec(container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").split()
    if len(fields) < 2:
        raise ContainerError(f"{container} has no SSH host key")
    return fields[0], fields[1]


def _bridge_address(lan: str, cidr: str) -> None:
    data = podman.run_json("network", "inspect", lan)
    bridge = data[0].get("network_interface") if data else None
    if not bridge:
        raise ContainerError(f"network {lan} has no bridge interface")
    subprocess.run(["ip", "addr", "replace", cidr, "dev", bridge], check=True, capture_output=True)
    subprocess.run(["ip", "link", "set", bridge, "up"], check=True, capture_output=True)


# --- the public operations -----------------------------------------------------------------


@contextlib.contextmanager
def _podman_lock() -> Iterator[None]:
    """One lab at a time creates networks and containers: podman picks a free subnet for a new network
    without locking, so two labs started at once (parallel tests) could be given the same one."""
    path = state_dir() / "lab.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def up(spec: LabSpec, log: bool = True) -> list[LabHost]:
    """Bring the instance up; a no-op for hosts already running. Returns the running hosts."""
    _validate_name("instance", spec.instance)
    with _podman_lock():
        prune(log=log)
        for release in sorted({h.release for h in spec.hosts}):
            images.ensure_image(release, log=log)
        key = _ensure_keypair(spec.instance)
        public_key = key.with_suffix(".pub").read_text()
        mgmt, lan = _ensure_networks(spec)
        existing = {c["Names"][0]: c for c in _containers(spec.instance)}
        for host in spec.hosts:
            name = container_name(spec.instance, host.name)
            current = existing.get(name)
            if current is None:
                if log:
                    print(f"{host.name}: starting container {name} (Debian {host.release})")
                _run_container(spec, host, mgmt, lan)
            elif current.get("State") != "running":
                if log:
                    print(f"{host.name}: restarting stopped container {name}")
                podman.run("start", name)
    deadline = time.monotonic() + BOOT_TIMEOUT
    hosts: list[LabHost] = []
    known: list[str] = []
    for host in spec.hosts:
        name = container_name(spec.instance, host.name)
        _wait_booted(name, deadline)
        _authorize(name, public_key)
        lab_host = _lab_host(_inspect(name))
        if not lab_host.mgmt_ip:
            raise ContainerError(f"{name} has no address on {mgmt}")
        _wait_tcp(lab_host.mgmt_ip, 22, deadline)
        key_type, key_data = _host_key(name)
        known.append(f"{lab_host.mgmt_ip} {key_type} {key_data}")
        hosts.append(lab_host)
    kh = known_hosts_file(spec.instance)
    kh.write_text("\n".join(known) + "\n")
    kh.chmod(0o600)
    if spec.lan_bridge_cidr:
        _bridge_address(lan, spec.lan_bridge_cidr)
    (instance_dir(spec.instance) / "instance.json").write_text(
        json.dumps({"spec": asdict(spec), "hosts": [asdict(h) for h in hosts]}, indent=2)
    )
    return hosts


def ssh_args(instance: str) -> list[str]:
    """ssh options that reach the instance's hosts, checking their host keys."""
    return [
        "-i",
        str(key_file(instance)),
        "-o",
        f"UserKnownHostsFile={known_hosts_file(instance)}",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
    ]


def groups_of_hosts(inventory: Path) -> dict[str, set[str]]:
    """host -> the groups hosts.yml puts it in (children included)."""
    data = yaml.safe_load((inventory / "hosts.yml").read_text()) or {}
    found: dict[str, set[str]] = {}

    def walk(name: str, group: dict[str, Any] | None) -> None:
        for host in _hosts_of(group):
            found.setdefault(host, set()).add(name)
        for child_name, child in ((group or {}).get("children") or {}).items():
            walk(child_name, child)

    walk("all", data.get("all"))
    return found


# What a lab host serves on a published container port, by the groups it is in.
PUBLISHED_SERVICES = {443: (("jenkins", "Jenkins"), ("kibana", "Kibana"))}


def summary(inventory: Path, instance: str = "lab") -> list[str]:
    """After a deploy: where the lab's web UIs answer on this machine, and where their credentials are."""
    spec = spec_from_inventory(inventory, instance)
    groups = groups_of_hosts(inventory)
    lines = ["Web interfaces (published on this machine):"]
    for host in spec.hosts:
        for mapping in host.publish:
            parts = mapping.split(":")  # address:host port:container port
            if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
                continue
            address, port, inner = parts[0], int(parts[1]), int(parts[2])
            for group, product in PUBLISHED_SERVICES.get(inner, ()):
                if group in groups.get(host.name, set()):
                    lines.append(f"  {product:<8} https://{address}:{port}/  ({host.name}:{inner})")
    if len(lines) == 1:
        lines.append("  none: no host_vars sets alur_lab_publish")
    secrets_dir = inventory / ".secrets"
    password = vault_password_file(instance)
    lines += [
        f"Certificates are signed by the lab's CA: {inventory / '.pki' / 'ca.crt'} (curl --cacert, or trust it).",
        f"Credentials (vault-encrypted; vault password in {password}):",
    ]
    for host in spec.hosts:
        if "jenkins" in groups.get(host.name, set()):
            user = _jenkins_admin_user(inventory, host.name)
            lines.append(f"  Jenkins user {user}: {secrets_dir / host.name / 'jenkins_admin_password.vault'}")
    if any("elasticsearch" in g for g in groups.values()):
        lines.append(f"  Elastic user elastic and service users: {secrets_dir / 'elasticstack' / 'secrets.vault.yml'}")
    lines.append(f"  read one with: ansible-vault view FILE --vault-password-file {password}")
    return lines


def _jenkins_admin_user(inventory: Path, host: str) -> str:
    """jenkins_admin_user as the inventory sets it for `host` (the role's default, admin, when unset)."""
    from alur.inventory import Inventory

    try:
        return str(Inventory(inventory, project_root()).value(host, "jenkins_admin_user", default="admin"))
    except Exception:  # a summary line must not stop the summary: say where to look
        return "(see jenkins_admin_user)"


def bundle_of(inventory: Path) -> tuple[Path | None, bool]:
    """The bundle (and stand-in consent) an earlier `alur lab up --bundle` chose for this lab inventory:
    a plain `alur lab up` (restarting a stopped host) keeps it. `alur lab down` forgets it."""
    path = inventory / CONNECTION_FILE
    data = yaml.safe_load(path.read_text()) if path.is_file() else None
    lab_vars = ((data or {}).get("all") or {}).get("vars") or {}
    # A lab brought up before the artifacts_* names wrote the old alur_* ones.
    source = lab_vars.get("artifacts_source", lab_vars.get("alur_artifact_source"))
    folder = lab_vars.get("artifacts_bundle_dir", lab_vars.get("alur_bundle_dir"))
    if source != "bundle" or not folder:
        return None, False
    return Path(folder), bool(lab_vars.get("artifacts_allow_standins", lab_vars.get("alur_allow_standins")))


def vault_password_file(instance: str) -> Path:
    """The lab's vault password, made once (0600) and kept by `alur lab down`: the roles store the secrets
    they generate (admin passwords, keys) vault-encrypted with it under the inventory's .secrets folder."""
    path = state_dir() / "labs" / f"{instance}.vault-password"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    return path


def write_connection_inventory(
    inventory: Path,
    instance: str,
    hosts: Sequence[LabHost],
    bundle: Path | None = None,
    allow_standins: bool = False,
) -> Path:
    """Write the connection part of a lab inventory, so plain ansible-playbook reaches the hosts.

    With a bundle, the lab installs vendor products from it (artifacts_source: bundle); stand-in
    packages only when allow_standins says so.
    """
    common = " ".join(ssh_args(instance)[2:])
    lab_vars: dict[str, Any] = {
        "ansible_user": OPERATOR,
        "ansible_ssh_private_key_file": str(key_file(instance)),
        "ansible_ssh_common_args": common,
    }
    if bundle is not None:
        lab_vars.update(artifacts_source="bundle", artifacts_bundle_dir=str(bundle.resolve()))
        if allow_standins:
            lab_vars["artifacts_allow_standins"] = True
    content = {
        "all": {
            "vars": lab_vars,
            "hosts": {h.name: {"ansible_host": h.mgmt_ip} for h in hosts},
        }
    }
    path = inventory / CONNECTION_FILE
    header = (
        f"# Written by `alur lab up` for lab instance {instance!r}: how to reach the lab's containers.\n"
        "# Not versioned; `alur lab down` removes it.\n"
    )
    path.write_text("---\n" + header + yaml.safe_dump(content, sort_keys=True))
    return path


def status(instance: str) -> list[LabHost]:
    hosts = []
    for entry in _containers(instance):
        name = entry["Names"][0]
        lab_host = _lab_host(_inspect(name))
        if lab_host.state == "running":
            out = podman.run("exec", name, "ip", "-o", "-4", "addr", "show", "dev", "eth1", check=False).stdout
            lab_host.lan_addresses = [line.split()[3] for line in out.splitlines() if len(line.split()) > 3]
        hosts.append(lab_host)
    return sorted(hosts, key=lambda h: h.name)


def down(instance: str, inventory: Path | None = None, log: bool = True) -> int:
    """Remove every container, network and key of the instance. Returns how many containers went."""
    containers = [c["Names"][0] for c in _containers(instance)]
    if containers:
        podman.run("rm", "--force", "--time", "0", *containers)
    for net in _networks(instance):
        podman.run("network", "rm", "--force", net.get("name") or net.get("Name", ""), check=False)
    shutil.rmtree(instance_dir(instance), ignore_errors=True)
    if inventory is not None:
        (inventory / CONNECTION_FILE).unlink(missing_ok=True)
    if log and containers:
        print(f"lab {instance}: removed {len(containers)} container(s)")
    return len(containers)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune(log: bool = True) -> list[str]:
    """Remove instances left behind by test runs whose process is gone."""
    stale: set[str] = set()
    for item in [*_containers(), *_networks()]:
        labels = item.get("Labels") or item.get("labels") or {}
        owner = labels.get(podman.LABEL_OWNER_PID)
        instance = labels.get(podman.LABEL_INSTANCE)
        if owner and instance and not _pid_alive(int(owner)):
            stale.add(instance)
    for instance in sorted(stale):
        if log:
            print(f"removing leftovers of lab instance {instance} (its test run is gone)")
        down(instance, log=False)
    return sorted(stale)


def molecule_instances(instance: str, hosts: Sequence[LabHost]) -> list[dict[str, Any]]:
    """The instance_config Molecule's default driver expects."""
    return [
        {
            "instance": h.name,
            "address": h.mgmt_ip,
            "user": OPERATOR,
            "port": 22,
            "identity_file": str(key_file(instance)),
        }
        for h in hosts
    ]
