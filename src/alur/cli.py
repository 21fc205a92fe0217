"""The `alur` command line. Thin: parsing and printing; the work lives in the modules."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from alur import __version__, images, lab, podman
from alur.bundle.vendors import PRODUCTS
from alur.errors import AlurError
from alur.exitcodes import EXIT_CODES_HELP, ExitCode
from alur.paths import project_root

# Piped output keeps whole table rows and problem lines: wider than rich's 80-column default.
console = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)


def _lab_inventory(inventory: str | None) -> Path:
    return Path(inventory) if inventory else project_root() / "inventory" / "lab"


class _Group(click.Group):
    """User-facing errors become one line on stderr and their exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AlurError as exc:
            click.echo(f"alur: error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="alur")
def cli() -> None:
    """Provision a DevOps flow (static network, Jenkins, Elastic stack) on Debian hosts."""


# --- options shared by the commands that load an inventory -----------------------------------

_inventory_option = click.option(
    "-i",
    "--inventory",
    "inventory",
    required=True,
    type=click.Path(path_type=Path),
    help="Inventory folder or file, as for ansible-playbook -i.",
)
_accelerate_option = click.option(
    "--accelerate/--no-accelerate",
    default=True,
    help="Run through Mitogen when installed and supported (default), or Ansible's own strategy "
    "(also ALUR_ACCELERATE=0).",
)
_ee_option = click.option(
    "--ee",
    "ee_image",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[IMAGE]",
    help="Run Ansible inside an execution environment: IMAGE, or alone alur's own (localhost/alur-ee:<version>, "
    "ansible-core 2.21; make ee builds it). Also ALUR_EE=IMAGE or ALUR_EE=1.",
)
_limit_option = click.option("-l", "--limit", help="Only these hosts (an Ansible host pattern).")
_vault_options = [
    click.option(
        "--vault-password-file", "vault_password_files", multiple=True, help="Passed to ansible-playbook; repeatable."
    ),
    click.option("--vault-id", "vault_ids", multiple=True, help="Passed to ansible-playbook; repeatable."),
    click.option(
        "-e",
        "--extra-vars",
        "extra_vars",
        multiple=True,
        help="Passed to ansible-playbook; prefer @FILE (vault-encrypted for secrets).",
    ),
]


def _with_vault(function: Any) -> Any:
    for option in reversed(_vault_options):
        function = option(function)
    return function


def _vault(vault_password_files: tuple[str, ...], vault_ids: tuple[str, ...]) -> Any:
    from alur.inventory import VaultOptions

    return VaultOptions(password_files=vault_password_files, vault_ids=vault_ids)


@cli.command("check", epilog=EXIT_CODES_HELP)
@_inventory_option
@click.option("--offline", is_flag=True, help="Only the inventory rules: contact no host.")
@_limit_option
@_ee_option
@_with_vault
def check_command(
    inventory: Path,
    offline: bool,
    limit: str | None,
    ee_image: str | None,
    vault_password_files: tuple[str, ...],
    vault_ids: tuple[str, ...],
    extra_vars: tuple[str, ...],
) -> None:
    """Validate an inventory before anything runs: role variables against their argument_specs,
    cross-host rules, secrets, sizes; then (unless --offline) a preflight of every host over SSH."""
    from alur import check, display, ee
    from alur.deploy import say_support
    from alur.inventory import Inventory
    from alur.runs import Censor

    loaded = Inventory(inventory, project_root(), _vault(vault_password_files, vault_ids), extra_vars)
    chosen = ee.choice(ee_image)
    image = ee.inspect(chosen) if chosen else None
    say_support(console, image)
    report = check.run_check(loaded, offline=offline, limit=limit, image=image)
    display.print_check(console, report, Censor(loaded.secret_values()))
    sys.exit(int(report.exit_code()))


def _run_options(**values: Any) -> Any:
    from alur import ee
    from alur.deploy import RunOptions

    vault = _vault(values.pop("vault_password_files"), values.pop("vault_ids"))
    return RunOptions(vault=vault, **{**values, "ee": ee.choice(values.get("ee"))})


@cli.command("plan", epilog=EXIT_CODES_HELP)
@_inventory_option
@_limit_option
@click.option("-t", "--tags", help="Only tasks with these tags.")
@_accelerate_option
@_ee_option
@_with_vault
def plan_command(
    inventory: Path,
    limit: str | None,
    tags: str | None,
    accelerate: bool,
    ee_image: str | None,
    vault_password_files: tuple[str, ...],
    vault_ids: tuple[str, ...],
    extra_vars: tuple[str, ...],
) -> None:
    """Show which hosts and tasks a deploy would change: site.yml with --check --diff, summarised."""
    from alur.deploy import execute

    options = _run_options(
        inventory=inventory,
        limit=limit,
        tags=tags,
        extra_vars=extra_vars,
        vault_password_files=vault_password_files,
        vault_ids=vault_ids,
        accelerate=accelerate,
        ee=ee_image,
    )
    _, code = execute("plan", options, console)
    sys.exit(int(code))


@cli.command("deploy", epilog=EXIT_CODES_HELP)
@_inventory_option
@_limit_option
@click.option("-t", "--tags", help="Only tasks with these tags (ansible-playbook --tags).")
@click.option("--skip-tags", help="Skip tasks with these tags.")
@click.option("--retry-failed", is_flag=True, help="Only the hosts that failed or were unreachable in the last deploy.")
@click.option("--skip-check", is_flag=True, help="Do not run `alur check` first.")
@click.option("-f", "--forks", type=int, help="Parallel hosts (default: ansible.cfg).")
@click.option("-v", "--verbose", "verbosity", count=True, help="ansible-playbook -v (repeat for more).")
@click.option("--plain", is_flag=True, help="Plain progress lines even on a terminal.")
@_accelerate_option
@_ee_option
@_with_vault
def deploy_command(
    inventory: Path,
    limit: str | None,
    tags: str | None,
    skip_tags: str | None,
    retry_failed: bool,
    skip_check: bool,
    forks: int | None,
    verbosity: int,
    plain: bool,
    accelerate: bool,
    ee_image: str | None,
    vault_password_files: tuple[str, ...],
    vault_ids: tuple[str, ...],
    extra_vars: tuple[str, ...],
) -> None:
    """Run site.yml against the inventory: `alur check` first, live progress, a recap per host and
    the slowest tasks. Every run is an ordinary ansible-playbook run, recorded under .alur/runs with
    the command line that reproduces it by hand."""
    from alur.deploy import execute

    options = _run_options(
        inventory=inventory,
        limit=limit,
        tags=tags,
        skip_tags=skip_tags,
        retry_failed=retry_failed,
        skip_check=skip_check,
        forks=forks,
        verbosity=verbosity,
        extra_vars=extra_vars,
        vault_password_files=vault_password_files,
        vault_ids=vault_ids,
        live=False if plain else None,
        accelerate=accelerate,
        ee=ee_image,
    )
    _, code = execute("deploy", options, console)
    sys.exit(int(code))


@cli.group("runs", invoke_without_command=True)
@click.pass_context
def runs_group(ctx: click.Context) -> None:
    """List the recorded runs (deploy, plan), newest first."""
    if ctx.invoked_subcommand is None:
        from alur import display, runs

        display.print_runs(console, runs.list_runs())


@runs_group.command("show")
@click.argument("run_id")
@click.option("--log", is_flag=True, help="Also print ansible-playbook's output of the run.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def runs_show(run_id: str, log: bool, as_json: bool) -> None:
    """Show one run (an id from `alur runs`, or `last`)."""
    from alur import display, runs

    summary = runs.load(run_id)
    if as_json:
        print(json.dumps(asdict(summary), indent=2))
        return
    display.print_run(console, summary, runs.events(summary.id) if log else None)


@cli.command(
    "status",
    epilog="Exit codes: 0 every host and service healthy; 4 a service is down; 5 a host is unreachable; "
    "2 invalid input.",
)
@_inventory_option
@_limit_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--html", "html", type=click.Path(path_type=Path), help="Write an HTML report with a topology picture.")
@_with_vault
def status_command(
    inventory: Path,
    limit: str | None,
    as_json: bool,
    html: Path | None,
    vault_password_files: tuple[str, ...],
    vault_ids: tuple[str, ...],
    extra_vars: tuple[str, ...],
) -> None:
    """Health of what is deployed: each host reachable, its addresses, each service up, version, URL."""
    from alur import display, report, status
    from alur.inventory import Inventory

    loaded = Inventory(inventory, project_root(), _vault(vault_password_files, vault_ids), extra_vars)
    result = status.collect(loaded, limit)
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        display.print_status(console, result)
    if html:
        path = report.write_html(result, html)
        if not as_json:
            console.print(f"HTML report: {path}")
    if any(not h.reachable for h in result.hosts):
        sys.exit(int(ExitCode.HOSTS_UNREACHABLE))
    if not result.healthy:
        sys.exit(int(ExitCode.HOSTS_FAILED))


@cli.group("bundle")
def bundle_group() -> None:
    """Offline bundles of the vendor packages and Jenkins plugins (for artifacts_source: bundle)."""


@bundle_group.command("create")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder to create (must not exist).")
@click.option("-i", "--inventory", type=click.Path(exists=True, path_type=Path), help="Take products and pins from it.")
@click.option("-p", "--product", "products", multiple=True, type=click.Choice(PRODUCTS), help="This product.")
@click.option("--plugins", type=click.Path(exists=True, path_type=Path), help="Jenkins plugin lockfile (id:version).")
@click.option("--temurin/--no-temurin", default=None, help="Temurin 21 for Debian 12 Jenkins hosts (default: yes).")
@click.option("--temurin-release", default="bookworm", show_default=True, help="Debian release Temurin is for.")
@click.option("--arch", default="amd64", show_default=True, help="Debian architecture of the hosts.")
@click.option("--base-url", help="Fetch every vendor URL from BASE/<host>/<path> (an internal mirror, or a test).")
@_with_vault
def bundle_create(
    out: Path,
    inventory: Path | None,
    products: tuple[str, ...],
    plugins: Path | None,
    temurin: bool | None,
    temurin_release: str,
    arch: str,
    base_url: str | None,
    vault_password_files: tuple[str, ...],
    vault_ids: tuple[str, ...],
    extra_vars: tuple[str, ...],
) -> None:
    """Download the pinned packages (and plugins) for an inventory, checked against the vendors' checksums.
    The pins are the artifacts role's settings as the inventory and -e give them (artifacts_*)."""
    from alur.bundle.create import create, request_for
    from alur.bundle.layout import PLUGINS_LOCK
    from alur.inventory import Inventory

    loaded = Inventory(inventory, project_root(), _vault(vault_password_files, vault_ids), extra_vars)
    default_lock = project_root() / "roles" / "jenkins" / "files" / PLUGINS_LOCK
    lock = plugins or (default_lock if default_lock.is_file() else None)
    _print_bundle(create(request_for(loaded, out, products, lock, temurin, temurin_release, arch, base_url)))


@bundle_group.command("verify")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
def bundle_verify(bundle: Path) -> None:
    """Check every file of a bundle against SHA256SUMS and its indexes against the manifest."""
    from alur.bundle.create import verify

    _print_bundle(verify(bundle))


def _print_bundle(report: Any) -> None:
    kind = " (CI stand-ins, not vendor packages)" if report.standin else ""
    print(f"bundle {report.path}: OK, {report.files} files{kind}")
    for product, packages in sorted(report.products.items()):
        print(f"  {product}: {', '.join(packages)}")
    if report.plugins:
        print(f"  jenkins plugins: {report.plugins}")


@cli.group("ee")
def ee_group() -> None:
    """alur's execution environment: ansible-core 2.21 in an image, as AWX and ansible-navigator run it."""


@ee_group.command("build")
@click.option("--force", is_flag=True, help="Rebuild even when the inputs are unchanged.")
@click.option(
    "--trust-build-ca",
    is_flag=True,
    help="Keep the build's CA bundle (ALUR_EE_CA_BUNDLE, else pip's) in the image as its system bundle.",
)
def ee_build(force: bool, trust_build_ca: bool) -> None:
    """Build localhost/alur-ee:<version> from execution-environment/ when its inputs changed."""
    from alur import ee

    ee.ensure_image(force=force, trust_ca=trust_build_ca)


@ee_group.command("info")
@click.argument("image", required=False)
def ee_info(image: str | None) -> None:
    """The versions inside an execution environment (default: alur's own), as JSON."""
    import json
    from dataclasses import asdict

    from alur import ee

    print(json.dumps(asdict(ee.inspect(image or ee.default_image())), indent=2))


@ee_group.command("lock")
def ee_lock() -> None:
    """Resolve execution-environment/requirements.in on the image's Python and rewrite requirements.lock."""
    from alur import ee

    ee.lock()


@cli.group("lab")
def lab_group() -> None:
    """The local lab: Debian containers with systemd and SSH, standing in for real servers."""


@lab_group.command("image")
@click.option("--release", type=click.Choice([*images.RELEASES, "all"]), default="all", show_default=True)
@click.option("--force", is_flag=True, help="Rebuild even when the recipe is unchanged.")
def lab_image(release: str, force: bool) -> None:
    """Build the base images (debootstrap + podman import) when their recipe changed."""
    releases = list(images.RELEASES) if release == "all" else [release]
    refs = [images.ensure_image(r, force=force) for r in releases]
    print(podman.ensure_runtime(refs[0]))


@lab_group.command("up")
@click.option("-i", "--inventory", help="Lab inventory folder (default: inventory/lab).")
@click.option("--instance", default="lab", show_default=True, help="Name of this lab instance.")
@click.option("--platforms-json", help="Hosts as a JSON list of {name, release} (Molecule's platforms).")
@click.option("--lan-bridge", help="CIDR to give this machine on the lab network (manage hosts through it).")
@click.option("--owner-pid", type=int, help="Remove this instance once that process is gone (test runs).")
@click.option("--json", "as_json", is_flag=True, help="Print Molecule's instance config as JSON.")
@click.option(
    "--bundle",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Install vendor products from this bundle (alur bundle create) instead of the vendors' repositories.",
)
@click.option("--allow-standins", is_flag=True, help="Accept a bundle of CI stand-in packages (tests only).")
def lab_up(
    inventory: str | None,
    instance: str,
    platforms_json: str | None,
    lan_bridge: str | None,
    owner_pid: int | None,
    as_json: bool,
    bundle: Path | None,
    allow_standins: bool,
) -> None:
    """Start the lab's hosts (a no-op for hosts already up) and write the inventory's connection file."""
    if platforms_json:
        platforms = json.loads(platforms_json)
        specs = tuple(
            lab.HostSpec(name=p["name"], release=str(p.get("release", images.DEFAULT_RELEASE))) for p in platforms
        )
        spec = lab.LabSpec(instance=instance, hosts=specs, lan_bridge_cidr=lan_bridge, owner_pid=owner_pid)
    else:
        base = lab.spec_from_inventory(_lab_inventory(inventory), instance, owner_pid)
        spec = lab.LabSpec(base.instance, base.hosts, lan_bridge, owner_pid)
    runtime = podman.ensure_runtime(images.image_ref(spec.hosts[0].release))
    if not as_json:
        print(runtime)
    hosts = lab.up(spec, log=not as_json)
    if as_json:
        print(json.dumps(lab.molecule_instances(instance, hosts)))
        return
    if not platforms_json:
        if bundle is None:
            bundle, allow_standins = lab.bundle_of(_lab_inventory(inventory))
        path = lab.write_connection_inventory(_lab_inventory(inventory), instance, hosts, bundle, allow_standins)
        if bundle is not None:
            print(f"vendor packages from bundle {bundle}{' (stand-ins allowed)' if allow_standins else ''}")
        print(f"inventory connection file: {path}")
        print(f"vault password for the secrets the roles generate: {lab.vault_password_file(instance)}")
    _print_hosts(hosts)


@lab_group.command("down")
@click.option("-i", "--inventory", help="Lab inventory folder (default: inventory/lab).")
@click.option("--instance", default="lab", show_default=True)
def lab_down(inventory: str | None, instance: str) -> None:
    """Remove every container, network, key and file the lab instance made."""
    inv = _lab_inventory(inventory) if instance == "lab" or inventory else None
    removed = lab.down(instance, inventory=inv)
    if not removed:
        print(f"lab {instance}: nothing to remove")


@lab_group.command("summary")
@click.option("-i", "--inventory", help="Lab inventory folder (default: inventory/lab).")
@click.option("--instance", default="lab", show_default=True)
def lab_summary(inventory: str | None, instance: str) -> None:
    """Where the lab's web interfaces answer on this machine and where their credentials are kept."""
    for line in lab.summary(_lab_inventory(inventory), instance):
        print(line)


@lab_group.command("status")
@click.option("--instance", default="lab", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def lab_status(instance: str, as_json: bool) -> None:
    """List the instance's hosts: container state, management address, lab addresses."""
    hosts = lab.status(instance)
    if as_json:
        print(json.dumps([asdict(h) for h in hosts], indent=2))
        return
    if not hosts:
        print(f"lab {instance}: not running (alur lab up)")
        return
    _print_hosts(hosts)


@lab_group.command("ssh", context_settings={"ignore_unknown_options": True})
@click.option("--instance", default="lab", show_default=True)
@click.argument("host")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def lab_ssh(instance: str, host: str, command: tuple[str, ...]) -> None:
    """Open an SSH session (or run COMMAND) on a lab host as the operator account."""
    match = [h for h in lab.status(instance) if h.name == host]
    if not match or not match[0].mgmt_ip:
        raise AlurError(f"lab {instance} has no running host {host!r} (alur lab status)")
    args = ["ssh", *lab.ssh_args(instance), f"{lab.OPERATOR}@{match[0].mgmt_ip}", *command]
    os.execvp("ssh", args)  # noqa: S606 - hand the terminal to ssh, as `ssh` itself would be run


@lab_group.command("prune")
def lab_prune() -> None:
    """Remove lab instances left behind by test runs whose process is gone."""
    removed = lab.prune()
    if not removed:
        print("nothing to prune")


def _print_hosts(hosts: list[lab.LabHost]) -> None:
    table = Table("host", "container", "state", "Debian", "management", "lab network")
    for h in hosts:
        table.add_row(
            h.name,
            h.container,
            h.state,
            h.release,
            h.mgmt_ip or "-",
            ", ".join(h.lan_addresses) or "-",
        )
    console.print(table)


def main() -> None:
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except AlurError as exc:
        print(f"alur: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))


if __name__ == "__main__":
    main()
