"""alur.support: when a run's ansible-core is past its end of life, and what the one line says."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from alur import support


def test_nothing_is_said_while_a_release_is_maintained() -> None:
    ended = support.END_OF_LIFE[(2, 19)]
    assert support.notice("2.19.14", today=ended - timedelta(days=200)) is None
    # The matrix gives a month; its last day is still maintained.
    assert support.notice("2.19.14", today=ended) is None


def test_nothing_is_said_for_a_release_the_table_does_not_know() -> None:
    far = date(2999, 1, 1)
    assert support.notice("2.99.0", today=far) is None
    assert support.notice("2.17.1", today=far) is None


def test_the_day_after_the_end_the_host_is_told_to_use_the_execution_environment() -> None:
    ended = support.END_OF_LIFE[(2, 19)]
    line = support.notice("2.19.14", today=ended + timedelta(days=1))
    assert line is not None
    assert line.startswith("ansible-core 2.19.14 on this host")
    assert f"reached its end of life on {ended.isoformat()}" in line
    # The remedy comes after the facts.
    assert "--ee" in line and line.index("--ee") > line.index(ended.isoformat())
    assert "rebuild" not in line


def test_an_image_past_its_end_is_told_to_be_rebuilt_not_to_use_ee() -> None:
    line = support.notice("2.21.5", where="localhost/alur-ee:0.1.0", today=date(2028, 1, 1))
    assert line is not None
    assert line.startswith("ansible-core 2.21.5 on localhost/alur-ee:0.1.0 reached its end of life on 2027-11-30")
    assert "rebuild" in line and "requirements.in" in line
    assert "--ee" not in line
    # What the host's Python can run says nothing about an image.
    assert "this Python" not in line


@pytest.mark.parametrize(
    ("python", "why"),
    [((3, 11), True), ((3, 13), False)],
)
def test_the_host_hears_when_its_python_keeps_it_on_an_old_release(
    monkeypatch: pytest.MonkeyPatch, python: tuple[int, int], why: bool
) -> None:
    monkeypatch.setattr(support, "sys", SimpleNamespace(version_info=(*python, 0, "final", 0)))
    line = support.notice("2.19.14", today=date(2027, 1, 15))
    assert line is not None
    assert (f"(the newest this Python {python[0]}.{python[1]} runs)" in line) is why


def test_the_newest_release_a_controller_python_runs() -> None:
    assert support.newest_for((3, 11)) == (2, 19)
    assert support.newest_for((3, 12)) == (2, 21)
    assert support.newest_for((3, 13)) == (2, 21)


def test_end_of_life_reads_major_and_minor_only() -> None:
    assert support.end_of_life("2.21.5") == date(2027, 11, 30)
    assert support.end_of_life("2.21.0rc1") == date(2027, 11, 30)
    assert support.end_of_life("2.22.0") is None


def test_host_core_is_the_installed_ansible_core() -> None:
    from ansible.release import __version__

    assert support.host_core() == __version__
