from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alur import lab
from alur.errors import AlurError


def write_inventory(root: Path) -> Path:
    inv = root / "lab"
    (inv / "host_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(
        "all:\n  children:\n"
        "    web:\n      hosts:\n        app1:\n        app2:\n"
        "    db:\n      hosts:\n        app1:\n"
    )
    (inv / "host_vars" / "app2.yml").write_text('alur_lab_release: "12"\nalur_lab_publish: ["127.0.0.1:8443:443"]\n')
    return inv


def test_spec_reads_hosts_once_with_their_release(tmp_path: Path) -> None:
    spec = lab.spec_from_inventory(write_inventory(tmp_path), "lab")
    assert [(h.name, h.release, h.publish) for h in spec.hosts] == [
        ("app1", "13", ()),
        ("app2", "12", ("127.0.0.1:8443:443",)),
    ]


def test_spec_without_hosts_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AlurError, match=r"hosts\.yml"):
        lab.spec_from_inventory(tmp_path, "lab")


@pytest.mark.parametrize("name", ["", "-x", "a b", "a/b", "ü", "a_b"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(AlurError):
        lab._validate_name("host", name)


def test_connection_inventory_checks_host_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALUR_STATE_DIR", str(tmp_path / "state"))
    hosts = [lab.LabHost("app1", "alur-lab-app1", "running", "13", "10.89.0.5")]
    path = lab.write_connection_inventory(tmp_path, "lab", hosts)
    data = yaml.safe_load(path.read_text())["all"]
    assert data["hosts"] == {"app1": {"ansible_host": "10.89.0.5"}}
    assert data["vars"]["ansible_user"] == "alur"
    assert "StrictHostKeyChecking=yes" in data["vars"]["ansible_ssh_common_args"]
    assert str(tmp_path / "state" / "labs" / "lab" / "known_hosts") in data["vars"]["ansible_ssh_common_args"]
    assert "artifacts_source" not in data["vars"]  # the vendors' repositories, the roles' default


def test_a_lab_on_a_bundle_takes_stand_ins_only_when_told(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALUR_STATE_DIR", str(tmp_path / "state"))
    hosts = [lab.LabHost("app1", "alur-lab-app1", "running", "13", "10.89.0.5")]
    plain = yaml.safe_load(lab.write_connection_inventory(tmp_path, "lab", hosts, tmp_path / "b").read_text())
    assert plain["all"]["vars"]["artifacts_source"] == "bundle"
    assert plain["all"]["vars"]["artifacts_bundle_dir"] == str(tmp_path / "b")
    assert "artifacts_allow_standins" not in plain["all"]["vars"]
    told = lab.write_connection_inventory(tmp_path, "lab", hosts, tmp_path / "b", allow_standins=True)
    assert yaml.safe_load(told.read_text())["all"]["vars"]["artifacts_allow_standins"] is True
    # A later plain `alur lab up` keeps the choice; without a connection file there is none.
    assert lab.bundle_of(tmp_path) == (tmp_path / "b", True)
    told.unlink()
    assert lab.bundle_of(tmp_path) == (None, False)


def test_a_lab_brought_up_under_the_old_names_keeps_its_bundle(tmp_path: Path) -> None:
    old = {"alur_artifact_source": "bundle", "alur_bundle_dir": str(tmp_path / "b"), "alur_allow_standins": True}
    (tmp_path / lab.CONNECTION_FILE).write_text(yaml.safe_dump({"all": {"vars": old, "hosts": {}}}))
    assert lab.bundle_of(tmp_path) == (tmp_path / "b", True)


def test_prune_removes_only_instances_whose_owner_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    items = [
        {"Labels": {"io.alur.instance": "dead", "io.alur.owner-pid": "999999999"}},
        {"Labels": {"io.alur.instance": "alive", "io.alur.owner-pid": "1"}},
        {"Labels": {"io.alur.instance": "lab"}},
    ]
    removed: list[str] = []
    monkeypatch.setattr(lab, "_containers", lambda instance=None: items)
    monkeypatch.setattr(lab, "_networks", lambda instance=None: [])
    monkeypatch.setattr(lab, "down", lambda instance, **_: removed.append(instance) or 0)
    assert lab.prune(log=False) == ["dead"]
    assert removed == ["dead"]


def test_the_lab_vault_password_is_made_once_private_and_outlives_the_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALUR_STATE_DIR", str(tmp_path / "state"))
    first = lab.vault_password_file("lab")
    assert first.stat().st_mode & 0o777 == 0o600 and len(first.read_text().strip()) >= 32
    assert lab.vault_password_file("lab").read_text() == first.read_text()
    assert first.parent != lab.instance_dir("lab")  # `alur lab down` removes the instance folder, not this


def test_summary_names_the_published_ui_and_where_the_credentials_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lab, "state_dir", lambda: tmp_path / "state")
    inv = tmp_path / "lab"
    (inv / "host_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(
        "all:\n  children:\n    jenkins:\n      hosts:\n        ci:\n"
        "    elasticsearch:\n      hosts:\n        logs:\n    kibana:\n      hosts:\n        logs:\n"
    )
    (inv / "host_vars" / "ci.yml").write_text('alur_lab_publish: ["127.0.0.1:8443:443"]\njenkins_admin_user: chief\n')
    (inv / "host_vars" / "logs.yml").write_text('alur_lab_publish: ["127.0.0.1:5443:443", "127.0.0.1:9999:22"]\n')
    text = "\n".join(lab.summary(inv, "lab"))
    assert "Jenkins  https://127.0.0.1:8443/  (ci:443)" in text
    assert "Kibana   https://127.0.0.1:5443/  (logs:443)" in text
    assert "9999" not in text, "only ports a known UI serves are listed"
    assert f"Jenkins user chief: {inv / '.secrets' / 'ci' / 'jenkins_admin_password.vault'}" in text
    assert str(inv / ".secrets" / "elasticstack" / "secrets.vault.yml") in text
    password = tmp_path / "state" / "labs" / "lab.vault-password"
    assert f"--vault-password-file {password}" in text and password.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(("owner", "published"), [(None, True), (1234, False)])
def test_only_an_operators_lab_publishes_ports(
    owner: int | None, published: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(lab.podman, "run", lambda *args, **_: calls.append(args))
    host = lab.HostSpec("ci", publish=("127.0.0.1:8443:443",))
    lab._run_container(lab.LabSpec("lab", (host,), owner_pid=owner), host, "mgmt-net", "lan-net")
    assert ("--publish" in calls[0]) is published
