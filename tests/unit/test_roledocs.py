"""alur.roledocs: a role's README table and its defaults' comments both come from meta/argument_specs.yml."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from alur_project import write_yaml

from alur import roledocs

LONG = (
    "Administrator password (keep it in Ansible Vault); at least 12 characters. Unset: generated once and stored "
    "vault-encrypted in web_admin_password_file on the controller."
)
SPECS = {
    "argument_specs": {
        "main": {
            "short_description": "A web server",
            "options": {
                "web_port": {"type": "int", "description": "HTTP port the server listens on."},
                "web_users": {"type": "list", "description": ["Accounts;", "each with a name."]},
                "web_admin_password": {"type": "str", "description": LONG},
            },
        },
        "firewall": {
            "short_description": "Open the port",
            "options": {
                "web_port": {"type": "int", "description": "Port to open (another entry point's words)."},
                "web_allow_from": {"type": "list", "description": "Networks allowed in."},
            },
        },
    }
}
DEFAULTS = textwrap.dedent(
    """\
    ---
    # Settings of the web role. This paragraph is about the file, not a variable.

    # An old comment that says something else,
    # over two lines.
    web_port: 8080
    web_users: []
    # yamllint disable-line rule:line-length
    web_admin_password: ""
    # Not in argument_specs: its comment is its own.
    web_internal: true
    web_allow_from:
      # inside a value: not a variable's comment
      - 10.0.0.0/8
    """
)


def make_role(root: Path, defaults: str = DEFAULTS) -> Path:
    role = root / "roles" / "web"
    write_yaml(role / "meta" / "argument_specs.yml", SPECS)
    (role / "defaults").mkdir(parents=True)
    (role / "defaults" / "main.yml").write_text(defaults)
    (role / "README.md").write_text(f"# web\n\n## Variables\n\n{roledocs.BEGIN}\n{roledocs.END}\n")
    (root / "site.yml").write_text("---\n[]\n")
    return role


def test_descriptions_prefer_main_and_read_lists_as_one_sentence(tmp_path: Path) -> None:
    described = roledocs.descriptions(make_role(tmp_path))
    assert described["web_port"] == "HTTP port the server listens on."
    assert described["web_users"] == "Accounts; each with a name."
    assert described["web_allow_from"] == "Networks allowed in."


def test_each_described_variable_gets_its_description_right_above_it(tmp_path: Path) -> None:
    role = make_role(tmp_path)
    new = roledocs.render_defaults(DEFAULTS, roledocs.descriptions(role))
    assert new == textwrap.dedent(
        """\
        ---
        # Settings of the web role. This paragraph is about the file, not a variable.

        # HTTP port the server listens on.
        web_port: 8080
        # Accounts; each with a name.
        web_users: []
        # Administrator password (keep it in Ansible Vault); at least 12 characters. Unset: generated once and stored
        # vault-encrypted in web_admin_password_file on the controller.
        # yamllint disable-line rule:line-length
        web_admin_password: ""
        # Not in argument_specs: its comment is its own.
        web_internal: true
        # Networks allowed in.
        web_allow_from:
          # inside a value: not a variable's comment
          - 10.0.0.0/8
        """
    )
    assert all(len(line) <= roledocs.COMMENT_WIDTH for line in new.splitlines())
    # a second run changes nothing
    assert roledocs.render_defaults(new, roledocs.descriptions(role)) == new


def test_check_reports_stale_defaults_and_a_run_brings_them_in_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    role = make_role(tmp_path)
    monkeypatch.setenv("ALUR_PROJECT_DIR", str(tmp_path))
    assert roledocs.main(["--check"]) == 1
    assert "roles/web/defaults/main.yml" in capsys.readouterr().out
    assert (role / "defaults" / "main.yml").read_text() == DEFAULTS, "--check writes nothing"

    assert roledocs.main([]) == 0
    assert "# HTTP port the server listens on.\nweb_port: 8080" in (role / "defaults" / "main.yml").read_text()
    assert "| `web_port` | int | `8080` | HTTP port the server listens on. |" in (role / "README.md").read_text()
    capsys.readouterr()
    assert roledocs.main(["--check"]) == 0, capsys.readouterr().out

    # A description changed in argument_specs makes the comment stale again.
    specs = (role / "meta" / "argument_specs.yml").read_text()
    (role / "meta" / "argument_specs.yml").write_text(specs.replace("HTTP port the server", "TCP port the server"))
    assert roledocs.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "roles/web/defaults/main.yml" in out and "roles/web/README.md" in out
