"""alur.site.ifupdown_apply's decisions (module_utils/network/files): what differs, the diff it shows, and
whether it hands a change to alur-netapply, only sets owner and mode, or does nothing.

The module around them (staging, running alur-netapply, check mode on a host) runs in the Molecule scenario
and the lockout test; what it stages is read back by the helper in tests/unit/test_network_netapply.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.alur.site.plugins.module_utils.network import files

MAIN = b"# managed\nauto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n"
ETH1 = b"auto eth1\niface eth1 inet static\n    address 192.168.10.20\n"


def live(content: bytes, mode: int = 0o644, uid: int = 0) -> files.LiveFile:
    return files.LiveFile(content, mode, uid, 0)


def wanted(**fragments: str) -> dict[str, bytes]:
    return files.wanted_files(MAIN.decode(), {f"alur-{k}": v for k, v in fragments.items()})


def test_an_unchanged_host_has_nothing_to_do() -> None:
    now = {files.MAIN: live(MAIN), "/etc/network/interfaces.d/alur-eth1": live(ETH1)}
    changes = files.compare(wanted(eth1=ETH1.decode()), now)
    assert changes == []
    assert files.next_step(changes, auto_down=[]) == files.NOTHING
    assert files.diff(changes) == []


def test_a_changed_fragment_starts_a_change_and_shows_its_diff() -> None:
    now = {files.MAIN: live(MAIN), "/etc/network/interfaces.d/alur-eth1": live(ETH1)}
    new = ETH1.decode().replace("192.168.10.20", "192.168.10.21")
    changes = files.compare(wanted(eth1=new), now)
    assert [c.path for c in changes] == ["/etc/network/interfaces.d/alur-eth1"]
    assert files.next_step(changes, auto_down=[]) == files.START
    assert files.diff(changes) == [
        {
            "before_header": "/etc/network/interfaces.d/alur-eth1",
            "after_header": "/etc/network/interfaces.d/alur-eth1",
            "before": ETH1.decode(),
            "after": new,
        }
    ]


def test_a_fragment_no_longer_wanted_is_removed_and_a_new_one_created() -> None:
    now = {files.MAIN: live(MAIN), "/etc/network/interfaces.d/alur-eth9": live(b"iface eth9 inet manual\n")}
    changes = files.compare(wanted(eth1=ETH1.decode()), now)
    assert [(c.path, c.before is None, c.after is None) for c in changes] == [
        ("/etc/network/interfaces.d/alur-eth1", True, False),
        ("/etc/network/interfaces.d/alur-eth9", False, True),
    ]
    assert [(d["before_header"], d["after_header"]) for d in files.diff(changes)] == [
        ("/etc/network/interfaces.d/alur-eth1 (absent)", "/etc/network/interfaces.d/alur-eth1"),
        ("/etc/network/interfaces.d/alur-eth9", "/etc/network/interfaces.d/alur-eth9 (removed)"),
    ]
    assert files.next_step(changes, auto_down=[]) == files.START


def test_a_host_without_the_files_starts_a_change() -> None:
    changes = files.compare(wanted(eth1=ETH1.decode()), {})
    assert {c.path for c in changes} == {files.MAIN, "/etc/network/interfaces.d/alur-eth1"}
    assert files.next_step(changes, auto_down=[]) == files.START


def test_only_owner_or_mode_off_is_fixed_in_place_without_a_change() -> None:
    now = {files.MAIN: live(MAIN, mode=0o600), "/etc/network/interfaces.d/alur-eth1": live(ETH1, uid=1000)}
    changes = files.compare(wanted(eth1=ETH1.decode()), now)
    assert len(changes) == 2 and not any(c.content_differs for c in changes)
    assert files.next_step(changes, auto_down=[]) == files.FIX_ATTRIBUTES
    assert files.diff(changes) == [], "the diff shows content only"


def test_an_auto_interface_that_is_down_starts_a_change_with_no_file_changed() -> None:
    now = {files.MAIN: live(MAIN), "/etc/network/interfaces.d/alur-eth1": live(ETH1)}
    changes = files.compare(wanted(eth1=ETH1.decode()), now)
    assert files.next_step(changes, auto_down=["eth1"]) == files.START


@pytest.mark.parametrize("name", ["eth1", "alur-", "alur-../x", "../alur-eth1"])
def test_fragment_names_must_be_the_roles_own_files(name: str) -> None:
    with pytest.raises(ValueError, match="is not a file name starting with 'alur-'"):
        files.wanted_files("", {name: ""})


def test_live_files_are_the_main_file_and_the_prefixed_fragments_only(tmp_path: Path) -> None:
    (tmp_path / "etc/network/interfaces.d").mkdir(parents=True)
    (tmp_path / "etc/network/interfaces").write_bytes(MAIN)
    (tmp_path / "etc/network/interfaces.d/alur-eth1").write_bytes(ETH1)
    (tmp_path / "etc/network/interfaces.d/local-notes").write_text("# the admins'\n")
    found = files.read_live(tmp_path)
    assert sorted(found) == [files.MAIN, "/etc/network/interfaces.d/alur-eth1"]
    assert found[files.MAIN].content == MAIN


def test_staging_empties_the_folder_first(tmp_path: Path) -> None:
    staged = tmp_path / "staged"
    files.stage(staged, wanted(eth1=ETH1.decode(), eth2="auto eth2\n"))
    files.stage(staged, wanted(eth1=ETH1.decode()))
    assert sorted(p.name for p in (staged / "interfaces.d").iterdir()) == ["alur-eth1"]
    assert (staged / "interfaces").read_bytes() == MAIN
    assert (staged / "interfaces.d/alur-eth1").stat().st_mode & 0o777 == 0o644
