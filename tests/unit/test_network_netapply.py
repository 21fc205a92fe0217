"""The host-side helper of the network role: what it reads, what it bounces, in which order, which files.

Runs the helper's planning code against a fake root folder; the commands it runs on a host
(ifup, ip, systemd-run) are exercised by the Molecule scenario and the lockout test.
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELPER = ROOT / "roles" / "network" / "files" / "usr" / "local" / "sbin" / "alur-netapply"

MAIN = """# managed
auto lo
iface lo inet loopback

source /etc/network/interfaces.d/*
"""


BR0 = "# managed\nauto br0\niface br0 inet static\n    address 192.168.10.20/24\n    bridge_ports eth1\n"


def load(root: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("ALUR_NETAPPLY_ROOT", str(root))
    name = f"alur_netapply_{abs(hash(root))}"
    loader = SourceFileLoader(name, str(HELPER))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path / "etc/network/interfaces", MAIN)
    write(tmp_path / "etc/network/interfaces.d/alur-eth1", "auto eth1\niface eth1 inet manual\n")
    write(tmp_path / "etc/network/interfaces.d/alur-br0", BR0)
    write(tmp_path / "etc/network/interfaces.d/alur-eth2", "auto eth2\niface eth2 inet static\n  address 10.0.0.1/8\n")
    write(tmp_path / "etc/network/interfaces.d/notes", "# not the role's\n")
    write(tmp_path / "run/network/ifstate", "lo=lo\neth1=eth1\nbr0=br0\neth2=eth2\n")
    return tmp_path


def stage(root: Path, files: dict[str, str]) -> None:
    write(root / "var/lib/alur-network/staged/interfaces", MAIN)
    for name, text in files.items():
        write(root / "var/lib/alur-network/staged/interfaces.d" / name, text)


def test_parser_follows_source_and_reads_stanzas(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    helper = load(tree, monkeypatch)
    config = helper.live_config()
    assert sorted(config.interfaces) == ["br0", "eth1", "eth2", "lo"]
    assert config.interfaces["br0"]["stanzas"] == [
        {"family": "inet", "method": "static", "options": ["address 192.168.10.20/24", "bridge_ports eth1"]}
    ]
    assert config.members("br0") == ["eth1"]
    assert config.addresses("br0") == ["192.168.10.20/24"]
    assert config.is_auto("eth2")


def test_continuation_lines_and_comments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path / "etc/network/interfaces",
        "auto eth1\n# a comment\niface eth1 inet static\n  address \\\n 10.1.1.1\n  netmask 255.255.0.0\n",
    )
    helper = load(tmp_path, monkeypatch)
    config = helper.live_config()
    assert config.interfaces["eth1"]["stanzas"][0]["options"] == ["address 10.1.1.1", "netmask 255.255.0.0"]
    assert config.addresses("eth1") == ["10.1.1.1/16"]


def test_only_changed_interfaces_and_what_sits_on_them_bounce(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stage(
        tree,
        {
            # eth1 changes (mtu): br0, built on it, must bounce too; eth2 only changes a comment.
            "alur-eth1": "auto eth1\niface eth1 inet manual\n    mtu 1400\n",
            "alur-br0": BR0,
            "alur-eth2": "# another header\nauto eth2\niface eth2 inet static\n  address 10.0.0.1/8\n",
        },
    )
    helper = load(tree, monkeypatch)
    steps = helper.plan(helper.live_config(), helper.staged_config(), helper.ifstate())
    assert steps["changed"] == ["br0", "eth1"]
    assert steps["down"] == ["br0", "eth1"], "what sits on a port goes down first"
    assert steps["up"] == ["eth1", "br0"], "ports come up before the bridge"
    assert steps["not_up"] == []
    assert helper.file_changes() == [
        str(tree / "etc/network/interfaces.d/alur-eth1"),
        str(tree / "etc/network/interfaces.d/alur-eth2"),
    ]


def test_removed_interface_goes_down_only(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stage(
        tree,
        {
            "alur-eth1": "auto eth1\niface eth1 inet manual\n",
            "alur-br0": BR0,
        },
    )
    helper = load(tree, monkeypatch)
    steps = helper.plan(helper.live_config(), helper.staged_config(), helper.ifstate())
    assert steps["down"] == ["eth2"]
    assert steps["up"] == []
    assert str(tree / "etc/network/interfaces.d/alur-eth2") in helper.file_changes()


def test_auto_interface_that_is_down_is_brought_up(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tree / "run/network/ifstate", "lo=lo\neth1=eth1\nbr0=br0\n")
    helper = load(tree, monkeypatch)
    live = helper.live_config()
    steps = helper.plan(live, live, helper.ifstate())
    assert steps == {"changed": [], "down": [], "up": ["eth2"], "not_up": ["eth2"]}


def test_nothing_staged_means_nothing_changes(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    helper = load(tree, monkeypatch)
    assert helper.file_changes() == []
    steps = helper.plan(helper.live_config(), helper.staged_config(), helper.ifstate())
    assert steps["changed"] == [] and steps["up"] == [] and steps["down"] == []


def test_an_interface_also_defined_by_a_foreign_file_is_refused(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tree / "etc/network/interfaces.d/eth2-legacy", "iface eth2 inet dhcp\n")
    stage(tree, {"alur-eth2": "auto eth2\niface eth2 inet static\n  address 10.0.0.1/8\n"})
    helper = load(tree, monkeypatch)
    problems = helper.duplicates(helper.staged_config())
    assert len(problems) == 1
    assert problems[0].startswith(f"eth2 is also defined in {tree}/etc/network/interfaces.d/eth2-legacy")


def test_install_then_restore_puts_every_file_back(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    live_dir = tree / "etc/network/interfaces.d"
    before = {p.name: p.read_text() for p in live_dir.iterdir()}
    main_before = (tree / "etc/network/interfaces").read_text()
    helper = load(tree, monkeypatch)
    backup = tree / "backup"
    (backup / "interfaces.d").mkdir(parents=True)
    (backup / "interfaces").write_text(main_before)
    for path in live_dir.glob("alur-*"):
        (backup / "interfaces.d" / path.name).write_text(path.read_text())
    stage(tree, {"alur-eth1": "auto eth1\niface eth1 inet manual\n  mtu 9000\n", "alur-eth3": "auto eth3\n"})
    (tree / "var/lib/alur-network/staged/interfaces").write_text(MAIN + "# changed\n")

    installed = helper.install_staged()
    assert sorted(p.name for p in live_dir.iterdir()) == ["alur-eth1", "alur-eth3", "notes"]
    assert str(tree / "etc/network/interfaces") in installed

    restored = helper.restore_files(backup)
    assert {p.name: p.read_text() for p in live_dir.iterdir()} == before
    assert (tree / "etc/network/interfaces").read_text() == main_before
    assert sorted(restored) == sorted(
        [
            str(tree / "etc/network/interfaces"),
            str(live_dir / "alur-eth1"),
            f"{live_dir / 'alur-eth3'} (removed)",
            f"{live_dir / 'alur-br0'} (re-created)",
            f"{live_dir / 'alur-eth2'} (re-created)",
        ]
    )


def test_reconnect_follows_a_moved_management_address(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stage(tree, {"alur-eth2": "auto eth2\niface eth2 inet static\n  address 10.0.0.9\n  netmask 255.0.0.0\n"})
    helper = load(tree, monkeypatch)
    monkeypatch.setattr(helper, "iface_of", lambda address: "eth2" if address == "10.0.0.1" else "eth0")
    new = helper.staged_config()
    assert helper.reconnect_address("10.0.0.1", None, ["eth2"], new) == "10.0.0.9"
    assert helper.reconnect_address("10.0.0.1", None, ["eth1"], new) == "10.0.0.1", "eth2 is not bounced"
    assert helper.reconnect_address("10.89.0.5", None, ["eth2"], new) == "10.89.0.5", "eth0 is not touched"
    assert helper.reconnect_address("10.0.0.1", "10.0.0.77", ["eth2"], new) == "10.0.0.77"


def test_what_ifupdown_apply_stages_is_what_the_helper_installs(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ansible_collections.alur.site.plugins.module_utils.network import files

    wanted = files.wanted_files(
        MAIN, {"alur-eth1": "auto eth1\niface eth1 inet manual\n    mtu 1400\n", "alur-br0": BR0}
    )
    changed = [c.path for c in files.compare(wanted, files.read_live(tree)) if c.content_differs]
    files.stage(tree / "var/lib/alur-network/staged", wanted)
    helper = load(tree, monkeypatch)
    # The module and the helper agree on what changes: eth1 differs, eth2 is no longer wanted.
    assert changed == ["/etc/network/interfaces.d/alur-eth1", "/etc/network/interfaces.d/alur-eth2"]
    assert helper.file_changes() == [str(tree / path.lstrip("/")) for path in changed]
    helper.install_staged()
    assert not [c for c in files.compare(wanted, files.read_live(tree)) if c.content_differs]
