from __future__ import annotations

from pathlib import Path

import pytest

from alur import images
from alur.errors import ContainerError


def test_mirror_taken_from_deb822_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = tmp_path / "sources.list.d"
    sources.mkdir()
    (sources / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
    )
    monkeypatch.setattr(images, "Path", _rooted(tmp_path))
    monkeypatch.delenv("ALUR_DEBIAN_MIRROR", raising=False)
    source = images.host_apt_source()
    assert source.mirror == "http://mirror.example/debian"
    assert source.security == "http://mirror.example/debian-security"


def test_mirror_override_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALUR_DEBIAN_MIRROR", "http://other.example/debian")
    assert images.host_apt_source().mirror == "http://other.example/debian"


def test_no_mirror_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "Path", _rooted(tmp_path))
    monkeypatch.delenv("ALUR_DEBIAN_MIRROR", raising=False)
    with pytest.raises(ContainerError, match="ALUR_DEBIAN_MIRROR"):
        images.host_apt_source()


def test_recipe_hash_changes_with_the_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    source = images.AptSource("http://m.example/debian", None)
    first = images.recipe_hash("13", source)
    assert first == images.recipe_hash("13", source)
    assert first != images.recipe_hash("12", source)
    monkeypatch.setattr(images, "PACKAGES", (*images.PACKAGES, "vim"))
    assert first != images.recipe_hash("13", source)


def test_unknown_release_is_refused() -> None:
    with pytest.raises(ContainerError, match="unknown release"):
        images.ensure_image("11")


def _rooted(root: Path) -> type[Path]:
    """A Path whose absolute /etc/apt/... paths resolve under `root` (sources.list.d lives there)."""

    class Rooted(type(Path())):  # type: ignore[misc]
        def __new__(cls, *parts: str) -> Path:
            text = str(Path(*parts))
            if text.startswith("/etc/apt/"):
                text = str(root / text.removeprefix("/etc/apt/"))
            return Path(text)

    return Rooted
