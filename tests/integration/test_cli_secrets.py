"""A real `alur deploy` (ansible-runner, ansible-playbook, local connection: no container needed) with
known secret values: none of them may appear in alur's output or anywhere under its state directory,
and the command line alur records reproduces the run by hand."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
VAULT_PASSWORD = "vault-pass-for-the-test"  # noqa: S105 - the known values the test hunts for
SECRETS = {
    "vault_app_token": "tok-3f9d1c77e2a8-from-vault",
    "vault_db_password": "db-pw-8c2e0b55d41f-from-vault",
}
ROLE_SECRET = "role-secret-6a1e4d9b03c2-inline-vault"  # noqa: S105
ENV_SECRET = "env-secret-0d5b7e2c91fa-in-environment"  # noqa: S105


def vault(plaintext: str) -> str:
    from ansible.parsing.vault import VaultLib, VaultSecret

    return VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))]).encrypt(plaintext).decode()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("secrets")
    project = root / "project"
    (project / "roles" / "app" / "meta").mkdir(parents=True)
    (project / "roles" / "app" / "tasks").mkdir()
    (project / "roles" / "app" / "meta" / "argument_specs.yml").write_text(
        textwrap.dedent(
            """\
            ---
            argument_specs:
              main:
                options:
                  app_admin_password: {type: str, required: true, no_log: true, description: Admin password.}
                  app_dir: {type: path, required: true, description: Where the app writes.}
            """
        )
    )
    (project / "roles" / "app" / "tasks" / "main.yml").write_text(
        textwrap.dedent(
            """\
            ---
            - name: Keep the token from the vaulted extra vars
              ansible.builtin.set_fact:
                app_token: "{{ vault_app_token }}"
              no_log: true

            - name: Write the secrets where the app reads them
              ansible.builtin.copy:
                dest: "{{ app_dir }}/{{ inventory_hostname }}.secrets"
                content: "{{ app_token }} {{ vault_db_password }} {{ app_admin_password }}\\n"
                mode: "0600"
              no_log: true

            - name: A task that fails with a secret in its arguments
              ansible.builtin.command: "false {{ app_admin_password }}"
              changed_when: false
              ignore_errors: true
              no_log: true

            - name: A careless task that prints a secret (alur must censor it)
              ansible.builtin.debug:
                msg: "token is {{ app_token }}"
            """
        )
    )
    (project / "site.yml").write_text(
        "---\n- name: App\n  hosts: all\n  gather_facts: false\n  roles:\n    - role: app\n"
    )
    output = root / "written"
    output.mkdir()
    inventory = root / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(
        f"---\nall:\n  vars:\n    ansible_connection: local\n    ansible_python_interpreter: {sys.executable}\n"
        f"    app_dir: {output}\n  hosts:\n    one:\n    two:\n"
    )
    inline = textwrap.indent(vault(ROLE_SECRET), "  ")
    for host in ("one", "two"):
        (inventory / "host_vars" / f"{host}.yml").write_text(f"---\napp_admin_password: !vault |\n{inline}\n")
    secrets_file = root / "secrets.yml"
    secrets_file.write_text(vault("---\n" + "".join(f"{k}: {v}\n" for k, v in SECRETS.items())))
    password_file = root / "vault-pass"
    password_file.write_text(VAULT_PASSWORD + "\n")
    return {
        "root": root,
        "project": project,
        "inventory": inventory,
        "secrets": secrets_file,
        "password": password_file,
        "output": output,
        "state": root / "state",
    }


def alur(paths: dict[str, Path], *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ALUR_PROJECT_DIR=str(paths["project"]), ALUR_STATE_DIR=str(paths["state"]))
    env["APP_SERVICE_TOKEN"] = ENV_SECRET  # an unrelated secret in the operator's environment
    env["COLUMNS"] = "200"
    return subprocess.run(
        [str(BIN / "alur"), *args], capture_output=True, text=True, check=False, env=env, cwd=paths["root"]
    )


def everything_written(state: Path) -> list[tuple[Path, bytes]]:
    return [(path, path.read_bytes()) for path in state.rglob("*") if path.is_file()]


def test_deploy_with_secrets_leaves_none_behind(project: dict[str, Path]) -> None:
    deploy = alur(
        project,
        "deploy",
        "-i",
        str(project["inventory"]),
        "-e",
        f"@{project['secrets']}",
        "--vault-password-file",
        str(project["password"]),
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    # The secrets did reach the play: the hosts' files hold them.
    written = (project["output"] / "one.secrets").read_text()
    assert written.split() == [SECRETS["vault_app_token"], SECRETS["vault_db_password"], ROLE_SECRET]
    # ... and the careless task's output was there to leak, censored.
    assert "token is ********" in alur(project, "runs", "show", "last", "--log").stdout

    known = [*SECRETS.values(), ROLE_SECRET, ENV_SECRET, VAULT_PASSWORD]
    shown = deploy.stdout + deploy.stderr
    for secret in known:
        assert secret not in shown
    files = everything_written(project["state"])
    assert {p.name for p, _ in files} >= {"command.txt", "events.jsonl", "summary.json"}
    for path, content in files:
        for secret in known:
            assert secret.encode() not in content, f"{secret} in {path}"
    # ansible-runner's private data dir (env, cmdline, artifacts) is gone.
    assert not any((project["state"] / "runner").iterdir())


def test_the_recorded_command_reproduces_the_run_by_hand(project: dict[str, Path]) -> None:
    shown = alur(project, "runs", "show", "last", "--json").stdout
    import json

    command = json.loads(shown)["command"]
    assert command.startswith(f"cd {project['project']} && ")
    assert "ansible-playbook" in command and f"@{project['secrets']}" in command
    by_hand = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1"),
    )
    assert by_hand.returncode == 0, by_hand.stdout[-3000:]
    assert "one                        : ok=5    changed=0" in by_hand.stdout and "failed=0" in by_hand.stdout


def test_plan_runs_in_check_mode_and_leaks_nothing(project: dict[str, Path]) -> None:
    (project["output"] / "two.secrets").unlink()
    plan = alur(
        project,
        "plan",
        "-i",
        str(project["inventory"]),
        "-e",
        f"@{project['secrets']}",
        "--vault-password-file",
        str(project["password"]),
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "1 of 2 host(s) would change: two" in plan.stdout
    assert not (project["output"] / "two.secrets").exists()  # check mode changed nothing
    for secret in [*SECRETS.values(), ROLE_SECRET]:
        assert secret not in plan.stdout
        for path, content in everything_written(project["state"]):
            assert secret.encode() not in content, f"{secret} in {path}"
