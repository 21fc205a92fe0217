"""ansible-navigator.yml: ansible-navigator runs the site in the image alur builds, as `alur deploy --ee` does."""

from __future__ import annotations

from pathlib import Path

import yaml

from alur import ee

SETTINGS = Path(__file__).resolve().parents[2] / "ansible-navigator.yml"


def test_navigator_uses_alurs_image_as_built_here_and_keeps_no_artifact() -> None:
    settings = yaml.safe_load(SETTINGS.read_text())["ansible-navigator"]
    box = settings["execution-environment"]
    # A version bump renames the image make ee builds: the settings must follow it.
    assert box["image"] == ee.default_image()
    assert box["enabled"] is True and box["container-engine"] == "podman"
    assert box["pull"]["policy"] == "never"  # built locally, in no registry
    assert "--network=host" in box["container-options"]
    assert "ANSIBLE_VAULT_PASSWORD_FILE" in box["environment-variables"]["pass"]
    # The playbook artifact would keep every event of a run in the project.
    assert settings["playbook-artifact"]["enable"] is False
