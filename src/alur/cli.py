"""The `alur` command line. Thin: parsing and printing; the work lives in the modules."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from alur import __version__, images, lab, podman
from alur.errors import AlurError
from alur.paths import project_root

console = Console()


def _lab_inventory(inventory: str | None) -> Path:
    return Path(inventory) if inventory else project_root() / "inventory" / "lab"


@click.group()
@click.version_option(__version__, prog_name="alur")
def cli() -> None:
    """Provision a DevOps flow (static network, Jenkins, Elastic stack) on Debian hosts."""


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
def lab_up(
    inventory: str | None,
    instance: str,
    platforms_json: str | None,
    lan_bridge: str | None,
    owner_pid: int | None,
    as_json: bool,
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
        path = lab.write_connection_inventory(_lab_inventory(inventory), instance, hosts)
        print(f"inventory connection file: {path}")
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


if __name__ == "__main__":
    main()
