from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from alur import podman
from alur.errors import ContainerError


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALUR_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("CONTAINERS_CONF", raising=False)
    return tmp_path


def probe_results(*codes: int) -> list[subprocess.CompletedProcess[str]]:
    return [subprocess.CompletedProcess([], c, "", "" if c == 0 else "rlimit: operation not permitted") for c in codes]


def test_defaults_kept_when_they_work(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = probe_results(0)
    monkeypatch.setattr(podman, "_probe", lambda image, env: results.pop(0))
    assert "defaults" in podman.ensure_runtime("img")
    assert not (state / "containers.conf").exists()


def test_walks_down_limits_until_a_container_starts(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    results = probe_results(1, 1, 0)

    def probe(image: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        conf = env.get("CONTAINERS_CONF")
        seen.append(Path(conf).read_text() if conf else "defaults")
        return results.pop(0)

    monkeypatch.setattr(podman, "_probe", probe)
    message = podman.ensure_runtime("img")
    conf = (state / "containers.conf").read_text()
    assert 'runtime = "runc"' in conf
    assert seen[0] == "defaults" and seen[1] != seen[2]
    assert "wrote" in message
    assert podman.podman_env()["CONTAINERS_CONF"] == str(state / "containers.conf")


def test_gives_up_with_podmans_words(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(podman, "_probe", lambda image, env: probe_results(1)[0])
    with pytest.raises(ContainerError, match="operation not permitted"):
        podman.ensure_runtime("img")
    assert not (state / "containers.conf").exists()


def test_candidate_limits_never_exceed_the_hard_limits() -> None:
    import resource

    hard_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    for nofile, nproc in podman._candidate_limits():
        assert hard_nofile == resource.RLIM_INFINITY or nofile <= hard_nofile
        assert nproc >= 4096


def test_an_image_field_or_label_is_read_with_podmans_template_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, ...]] = []
    answers = {"there": (0, "0123abcd\n"), "unlabelled": (0, "\n"), "missing": (125, "")}

    def fake_run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        asked.append(args)
        code, out = answers[args[-1]]
        return subprocess.CompletedProcess(args, code, out, "Error: no such image" if code else "")

    monkeypatch.setattr(podman, "run", fake_run)
    assert podman.image_field("there", "{{.Id}}") == "0123abcd"
    assert asked[-1] == ("image", "inspect", "--format", "{{.Id}}", "there")
    # An image without the label answers an empty line; a missing image an error: neither is a value.
    assert podman.image_label("unlabelled", "io.alur.recipe") is None
    assert asked[-1][3] == '{{ index .Labels "io.alur.recipe" }}'
    assert podman.image_label("missing", "io.alur.recipe") is None
