"""The Filebeat stand-in's contract rules (tests/standins/contract/filebeat.yml): each test runs `filebeat test config`
as a local process on a filebeat.yml in a temporary folder and shows it refusing a violation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "standins" / "program" / "service.py"


def check_config(folder: Path, inputs: str, *extra: str) -> subprocess.CompletedProcess[str]:
    config = folder / "filebeat.yml"
    config.write_text(f"filebeat.inputs:\n{inputs}output.logstash:\n  hosts: ['127.0.0.1:5044']\n")
    config.chmod(0o600)
    return subprocess.run(
        [sys.executable, str(PROGRAM), "filebeat", "test", "config", "--path.config", str(folder), *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


# The inputs roles/filebeat writes (templates/etc/filebeat/filebeat.yml.j2): they must pass.
ROLE_INPUTS = (
    "  - type: journald\n    id: alur-journald\n"
    "  - type: filestream\n    id: alur-syslog\n    paths: [/var/log/syslog]\n"
    "  - type: filestream\n    id: alur-nginx\n    paths: [/var/log/nginx/*.log]\n"
)


def test_the_roles_inputs_pass(tmp_path: Path) -> None:
    checked = check_config(tmp_path, ROLE_INPUTS)
    assert checked.returncode == 0 and "Config OK" in checked.stdout, checked.stderr


@pytest.mark.parametrize("kind", ["log", "container"])
def test_log_and_container_inputs_need_allow_deprecated_use(tmp_path: Path, kind: str) -> None:
    refused = check_config(tmp_path, f"  - type: {kind}\n    paths: [/var/log/*.log]\n")
    assert refused.returncode == 1 and f"the {kind} input is deprecated" in refused.stderr, refused.stderr
    allowed = check_config(tmp_path, f"  - type: {kind}\n    allow_deprecated_use: true\n    paths: [/var/log/*.log]\n")
    assert allowed.returncode == 0, allowed.stderr


def test_filestream_input_needs_an_id(tmp_path: Path) -> None:
    refused = check_config(tmp_path, "  - type: filestream\n    paths: [/var/log/syslog]\n")
    assert refused.returncode == 1 and "input without ID" in refused.stderr, refused.stderr


def test_filestream_ids_must_be_unique(tmp_path: Path) -> None:
    twice = "  - type: filestream\n    id: same\n    paths: [/var/log/a]\n" * 2
    refused = check_config(tmp_path, twice)
    assert refused.returncode == 1 and 'duplicated IDs: "same"' in refused.stderr, refused.stderr
    # A journald input may share nothing with filestream ids: only filestream inputs are compared.
    mixed = "  - type: journald\n    id: same\n  - type: filestream\n    id: same\n    paths: [/var/log/a]\n"
    assert check_config(tmp_path, mixed).returncode == 0


def test_config_file_writable_by_others_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "filebeat.yml"
    check_config(tmp_path, ROLE_INPUTS)
    config.chmod(0o664)
    base = [sys.executable, str(PROGRAM), "filebeat", "test", "config", "--path.config", str(tmp_path)]
    refused = subprocess.run(base, capture_output=True, text=True, check=False, timeout=60)
    assert refused.returncode == 1 and "can only be writable by the owner" in refused.stderr, refused.stderr
    os.chown(config, 65534, 65534)
    config.chmod(0o644)
    foreign = subprocess.run(base, capture_output=True, text=True, check=False, timeout=60)
    assert foreign.returncode == 1 and "must be owned by the user identifier" in foreign.stderr, foreign.stderr
    lifted = subprocess.run([*base, "--strict.perms=false"], capture_output=True, text=True, check=False, timeout=60)
    assert lifted.returncode == 0, lifted.stderr
