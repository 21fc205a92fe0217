"""The inventory as Ansible resolves it: hosts, roles per host, templated variables, connections, secrets."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alur_project import make_project, vault_encrypt, write_yaml

from alur.inventory import Inventory, InventoryError, Undetermined, VaultOptions

ROOT = Path(__file__).resolve().parents[2]


def test_hosts_groups_and_limits(tmp_path: Path) -> None:
    project, inventory = make_project(tmp_path, groups={"web": ["w1", "w2"], "db": ["d1"], "edge": ["w2"]})
    loaded = Inventory(inventory, project)
    assert loaded.hosts() == ["d1", "w1", "w2"]
    assert loaded.groups() == {"web": ["w1", "w2"], "db": ["d1"], "edge": ["w2"]}
    assert loaded.groups_of("w2") == ["edge", "web"]
    assert loaded.resolve("web:!edge") == ["w1"]
    assert loaded.resolve(None) == ["d1", "w1", "w2"]


def test_roles_come_from_the_plays_that_target_the_host(tmp_path: Path) -> None:
    plays = [
        {"name": "Base", "hosts": "all", "gather_facts": False, "roles": []},
        {"name": "Web", "hosts": "web", "gather_facts": False, "roles": [{"role": "web", "web_port": 81}]},
    ]
    project, inventory = make_project(tmp_path, groups={"web": ["w1"], "db": ["d1"]}, plays=plays)
    loaded = Inventory(inventory, project)
    [use] = loaded.roles_for("w1")
    assert (use.role.name, use.play, use.params) == ("web", "Web", {"web_port": 81})
    assert use.role.secret_options == ["web_admin_password", "web_tls_key"]
    assert use.role.generated_secret_options == ["web_admin_password"]
    assert loaded.roles_for("d1") == []
    assert loaded.role_names() == ["web"]


def test_values_are_templated_like_in_the_play(tmp_path: Path) -> None:
    project, inventory = make_project(
        tmp_path,
        host_vars={
            "h1": {"ansible_host": "192.0.2.1", "peer": "{{ hostvars['h2']['ansible_host'] }}"},
            "h2": {"ansible_host": "192.0.2.2", "needs_facts": "{{ ansible_facts['memtotal_mb'] // 2 }}"},
        },
        local=False,
    )
    loaded = Inventory(inventory, project)
    assert loaded.value("h1", "peer") == "192.0.2.2"
    assert loaded.value("h1", "web_port", play_index=0) == 8080  # the role's default, in its play
    assert loaded.value("h1", "absent", "fallback") == "fallback"
    with pytest.raises(Undetermined):
        loaded.value("h2", "needs_facts")


def test_connection_follows_the_ssh_variables(tmp_path: Path) -> None:
    project, inventory = make_project(
        tmp_path,
        local=False,
        host_vars={
            "h1": {
                "ansible_host": "10.0.0.7",
                "ansible_port": 2222,
                "ansible_user": "ops",
                "ansible_ssh_private_key_file": "/keys/id",
                "ansible_ssh_common_args": "-o UserKnownHostsFile=/keys/known_hosts -o StrictHostKeyChecking=yes",
                "ansible_become_password": "sudo-secret",
            },
            "h2": {"ansible_ssh_extra_args": "-oStrictHostKeyChecking=no"},
        },
    )
    loaded = Inventory(inventory, project)
    one = loaded.connection("h1")
    assert (one.address, one.port, one.user, one.key_file) == ("10.0.0.7", 2222, "ops", "/keys/id")
    assert (one.known_hosts_file, one.strict_host_key_checking) == ("/keys/known_hosts", True)
    assert one.become_password == "sudo-secret" and "sudo-secret" not in repr(one)  # noqa: S105
    two = loaded.connection("h2")
    assert (two.address, two.port, two.strict_host_key_checking) == ("h2", 22, False)
    assert "sudo-secret" in loaded.secret_values()


def test_vaulted_extra_vars_open_with_the_password_and_count_as_secrets(tmp_path: Path) -> None:
    project, inventory = make_project(tmp_path)
    secrets = tmp_path / "secrets.yml"
    secrets.write_text(vault_encrypt("---\napi_token: tok-from-the-vault\nharmless: 3\n", "pw-1"))
    (tmp_path / "pw").write_text("pw-1\n")
    loaded = Inventory(
        inventory,
        project,
        VaultOptions(password_files=(str(tmp_path / "pw"),)),
        extra_vars=(f"@{secrets}", "db_password=inline-secret", "web_port=81"),
    )
    assert loaded.value("h1", "api_token") == "tok-from-the-vault"
    assert loaded.value("h1", "web_port", play_index=0) == "81"
    found = loaded.secret_values()
    assert {"tok-from-the-vault", "inline-secret"} <= found
    assert "81" not in found


def test_without_the_vault_password_loading_fails_in_one_line(tmp_path: Path) -> None:
    project, inventory = make_project(tmp_path)
    write_yaml(inventory / "group_vars" / "all.yml", {"x": 1})
    (inventory / "group_vars" / "all.yml").write_text(vault_encrypt("---\nx: 1\n", "pw-2"))
    with pytest.raises(InventoryError) as raised:
        Inventory(inventory, project).value("h1", "x")
    assert "\n" not in str(raised.value) and "vault" in str(raised.value).lower()


def test_inline_vault_values_are_secrets(tmp_path: Path) -> None:
    project, inventory = make_project(tmp_path)
    ciphertext = textwrap.indent(vault_encrypt("inline-vaulted", "pw-3"), "  ")
    (inventory / "host_vars").mkdir()
    (inventory / "host_vars" / "h1.yml").write_text(f"---\nsomething: !vault |\n{ciphertext}\n")
    (tmp_path / "pw").write_text("pw-3\n")
    loaded = Inventory(inventory, project, VaultOptions(password_files=(str(tmp_path / "pw"),)))
    assert "inline-vaulted" in loaded.secret_values()


def test_a_missing_inventory_or_playbook(tmp_path: Path) -> None:
    project, inventory = make_project(tmp_path)
    with pytest.raises(InventoryError, match="not found"):
        Inventory(tmp_path / "nope", project)
    (project / "site.yml").unlink()
    with pytest.raises(InventoryError, match=r"site\.yml not found"):
        Inventory(inventory, project)


def test_artifacts_settings_take_the_deprecated_names_as_a_run_does(tmp_path: Path) -> None:
    """An inventory on the old alur_* names gets the same settings as one on artifacts_*; the new name wins
    where both are set, and what is derived from a pin (the Elastic repository's major) follows it."""
    old = {
        "alur_artifact_source": "mirror",
        "alur_mirror_url": "http://mirror.example/vendors",
        "alur_elastic_version": "8.19.15",
        "alur_jenkins_key_fingerprint": "A" * 40,
    }
    new = {
        "artifacts_source": "mirror",
        "artifacts_mirror_url": "http://mirror.example/vendors",
        "artifacts_elastic_version": "8.19.15",
        "artifacts_jenkins_key_fingerprint": "A" * 40,
    }
    project, inventory = make_project(tmp_path, host_vars={"h1": old, "h2": new})
    loaded = Inventory(inventory, project)  # the artifacts role: found on the roles_path, as a play finds it
    facts = {"distribution_release": "trixie"}
    h1, h2 = loaded.artifacts_settings("h1", facts), loaded.artifacts_settings("h2", facts)
    assert h1 == h2
    assert h1["artifacts_source"] == "mirror" and h1["artifacts_mirror_url"] == "http://mirror.example/vendors"
    assert h1["artifacts_elastic_repo_url"] == "https://artifacts.elastic.co/packages/8.x/apt"
    assert h1["artifacts_jenkins_key_fingerprint"] == "A" * 40 and h1["artifacts_temurin_repo_suite"] == "trixie"
    assert h1["artifacts_jenkins_version"] == Inventory(None, ROOT).artifacts_settings()["artifacts_jenkins_version"]
    both = Inventory(inventory, project, extra_vars=("artifacts_elastic_version=9.1.0",))
    assert both.artifacts_settings("h1")["artifacts_elastic_repo_url"].endswith("/packages/9.x/apt")
    # Without facts the Temurin suite is unknown (empty): the role's own check stops a run that needs it.
    assert loaded.artifacts_settings("h1")["artifacts_temurin_repo_suite"] == ""
    with pytest.raises(InventoryError, match="nope"):
        loaded.artifacts_settings("nope")


def test_alur_site_still_imports_after_ansible_loads_an_inventory() -> None:
    """Loading an inventory installs Ansible's collection finder, which then answers every ansible_collections
    import; `alur status` imports its service checks (and so alur.site's module_utils) only after that."""
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from ansible_collections.alur.site.plugins.module_utils import addresses  # plain Python, before Ansible
        from alur.inventory import Inventory
        root = Path(sys.argv[1])
        Inventory(root / "inventory" / "lab", root).hosts()
        import alur.service_checks.elastic
        from ansible_collections.alur.site.plugins.module_utils import lockfile, secrets
        print(addresses.url_host("fd00::1"), lockfile.pins("a:1"), secrets.__name__)
        """
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script, str(root)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[0] == "[fd00::1]"
