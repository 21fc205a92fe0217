"""alur.accelerate: when a run goes through Mitogen, and what it tells Ansible."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import pytest
from ee_images import image_info

from alur import accelerate


@pytest.fixture(autouse=True)
def clean_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(accelerate.SWITCH, raising=False)
    monkeypatch.delenv("ANSIBLE_STRATEGY", raising=False)


def test_installed_and_supported_means_mitogen_linear_from_the_installed_package() -> None:
    chosen = accelerate.choose()
    assert chosen.used, chosen.description
    assert chosen.env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    plugins = Path(chosen.env["ANSIBLE_STRATEGY_PLUGINS"])
    # The strategy Ansible will load by that name is in the folder alur names.
    assert (plugins / "mitogen_linear.py").is_file()
    assert chosen.description.startswith("Mitogen 0.3.")


@pytest.mark.parametrize("value", ["0", "off", "no", "False"])
def test_the_switch_turns_it_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(accelerate.SWITCH, value)
    chosen = accelerate.choose()
    assert not chosen.used and chosen.env == {}
    assert f"ALUR_ACCELERATE={value}" in chosen.description


def test_no_accelerate_and_an_operators_own_strategy_win(monkeypatch: pytest.MonkeyPatch) -> None:
    assert accelerate.choose(enabled=False) == accelerate.Accelerator(False, "plain strategy (--no-accelerate)")
    monkeypatch.setenv("ANSIBLE_STRATEGY", "free")
    chosen = accelerate.choose()
    assert not chosen.used and chosen.env == {} and "free" in chosen.description


@pytest.mark.parametrize(("core", "used"), [((2, 18), False), ((2, 19), True), ((2, 21), True), ((2, 22), False)])
def test_an_unsupported_core_falls_back_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, core: tuple[int, int], used: bool
) -> None:
    monkeypatch.setattr(accelerate, "_core_version", lambda: core)
    chosen = accelerate.choose()
    assert chosen.used is used
    if not used:
        assert chosen.env == {}
        assert f"not {core[0]}.{core[1]}" in chosen.description and "2.19 to 2.21" in chosen.description


def test_without_mitogen_the_plain_strategy_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        accelerate.importlib.util, "find_spec", lambda name: None if name == "ansible_mitogen" else real(name)
    )
    chosen = accelerate.choose()
    assert not chosen.used and "not installed" in chosen.description and ".[fast]" in chosen.description


# --- inside an execution environment: the image's Mitogen and ansible-core, not this host's ----------------


def test_an_image_runs_its_own_mitogen(monkeypatch: pytest.MonkeyPatch) -> None:
    # This host's core (outside Mitogen's range) says nothing about the image's.
    monkeypatch.setattr(accelerate, "_core_version", lambda: (2, 18))
    chosen = accelerate.choose(image=image_info())
    assert chosen.used, chosen.description
    assert chosen.env == {
        "ANSIBLE_STRATEGY_PLUGINS": "/opt/alur-ee/lib/python3.13/site-packages/ansible_mitogen/plugins/strategy",
        "ANSIBLE_STRATEGY": "mitogen_linear",
    }
    assert chosen.description == "Mitogen 0.3.50 (mitogen_linear)"


def test_an_image_without_mitogen_runs_the_plain_strategy_and_says_which_image() -> None:
    chosen = accelerate.choose(image=image_info(mitogen=None))
    assert not chosen.used and chosen.env == {}
    assert chosen.description == "plain strategy: Mitogen is not installed in some/image"


@pytest.mark.parametrize("core", ["2.18.3", "2.22.0"])
def test_an_image_whose_core_mitogen_does_not_support_falls_back(monkeypatch: pytest.MonkeyPatch, core: str) -> None:
    monkeypatch.setattr(accelerate, "_core_version", lambda: (2, 19))
    chosen = accelerate.choose(image=image_info(core=core))
    assert not chosen.used and chosen.env == {}
    shown = ".".join(core.split(".")[:2])
    assert chosen.description == f"plain strategy: Mitogen 0.3.50 supports ansible-core 2.19 to 2.21, not {shown}"


def test_the_switches_win_inside_an_image_too(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not accelerate.choose(enabled=False, image=image_info()).used
    monkeypatch.setenv(accelerate.SWITCH, "0")
    assert not accelerate.choose(image=image_info()).used


def test_an_image_whose_mitogen_has_no_strategy_folder_runs_the_plain_strategy() -> None:
    # The probe found the distribution but not the ansible_mitogen package: nothing for Ansible to load.
    chosen = accelerate.choose(image=replace(image_info(), mitogen_strategies=None))
    assert not chosen.used and chosen.env == {}
    assert "not installed in some/image" in chosen.description
