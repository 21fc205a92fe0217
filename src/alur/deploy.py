"""`alur deploy` and `alur plan`: load and check the inventory, run site.yml through the runner seam,
follow it live, record it, and say how it went (with an exit code per outcome)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from rich.console import Console

from alur import accelerate, check, display, ee, runner, runs, support
from alur.errors import AlurError
from alur.exitcodes import ExitCode, from_host_counts
from alur.inventory import Inventory, VaultOptions, absolute_extra_vars, ansible_config_value
from alur.paths import project_root, state_dir


@dataclass(frozen=True)
class RunOptions:
    inventory: Path
    limit: str | None = None
    tags: str | None = None
    skip_tags: str | None = None
    extra_vars: tuple[str, ...] = ()
    vault: VaultOptions = field(default_factory=VaultOptions)
    forks: int | None = None
    verbosity: int = 0
    retry_failed: bool = False
    skip_check: bool = False
    live: bool | None = None  # None: live view when the output is a terminal
    accelerate: bool = True  # Mitogen when installed and supported (alur.accelerate)
    ee: str | None = None  # the execution environment image to run in (alur.ee); None: this host's ansible-core


def load_inventory(options: RunOptions) -> Inventory:
    return Inventory(options.inventory, project_root(), options.vault, options.extra_vars)


def _absolute(options: RunOptions) -> RunOptions:
    """Files named on the command line, relative to where alur started: ansible-playbook runs elsewhere."""
    return replace(
        options,
        inventory=Path(options.inventory).absolute(),
        extra_vars=absolute_extra_vars(options.extra_vars),
        vault=options.vault.absolute(),
    )


def _retry_limit(options: RunOptions, inventory: Inventory, console: Console) -> str | None:
    """The --limit of a retry: the hosts the last deploy of this inventory failed or could not reach."""
    last = runs.last_deploy(options.inventory)
    if last is None:
        raise AlurError(f"--retry-failed: no earlier deploy of {options.inventory} recorded (see `alur runs`)")
    hosts = runs.retry_hosts(last)
    if options.limit:
        hosts = sorted(set(hosts) & set(inventory.resolve(options.limit)))
    if not hosts:
        where = " in --limit" if options.limit else ""
        console.print(f"last deploy {last.id} left no failed or unreachable host{where}: nothing to retry")
        return None
    console.print(f"retrying {', '.join(hosts)} (failed or unreachable in run {last.id})")
    peers = _peers_of(hosts, inventory)
    if peers:
        console.print(f"and {', '.join(peers)}, whose configuration lists them")
    return ",".join(hosts + peers)


# group -> the group whose hosts' configuration lists its hosts, read from them while the play runs:
# a Jenkins controller pins each agent's SSH host key, which it cannot read while that agent is down.
PEER_GROUPS = {"jenkins_agents": "jenkins"}


def _peers_of(hosts: list[str], inventory: Inventory) -> list[str]:
    """The hosts a retry of `hosts` must run again too, so that their view of `hosts` is completed."""
    groups = inventory.groups()
    peers: set[str] = set()
    for group, peer_group in PEER_GROUPS.items():
        if set(hosts) & set(groups.get(group, [])):
            peers |= set(groups.get(peer_group, []))
    return sorted(peers - set(hosts))


def _host_key_checking_env(project: Path) -> dict[str, str]:
    """ansible-runner turns host key checking off unless told: tell it what ansible.cfg says."""
    import os

    if "ANSIBLE_HOST_KEY_CHECKING" in os.environ:
        return {}
    value = ansible_config_value(project, "HOST_KEY_CHECKING")
    return {"ANSIBLE_HOST_KEY_CHECKING": "True" if value else "False"}


def _fact_cache_env(project: Path, inventory: Path) -> dict[str, str]:
    """One fact cache per inventory: ansible.cfg's jsonfile cache is keyed by host name only, so two
    inventories that both name a host `ci` (staging and production, or two labs) would share its facts."""
    import hashlib
    import os

    if "ANSIBLE_CACHE_PLUGIN_CONNECTION" in os.environ:
        return {}
    key = hashlib.sha256(str(inventory.resolve()).encode()).hexdigest()[:12]
    return {"ANSIBLE_CACHE_PLUGIN_CONNECTION": str(project / ".alur" / "facts" / f"{inventory.resolve().name}-{key}")}


def _runner_dir() -> Path:
    """Where ansible-runner may write while a run lasts (private, emptied after each run)."""
    path = state_dir() / "runner"
    path.mkdir(mode=0o700, exist_ok=True)
    path.chmod(0o700)
    return path


def execute(kind: str, options: RunOptions, console: Console) -> tuple[runs.Summary | None, ExitCode]:
    """Run site.yml (kind "deploy", or "plan": --check --diff). Returns the run's summary and exit code."""
    project = project_root()
    if not options.inventory.exists():
        raise AlurError(f"inventory {options.inventory} not found")
    options = _absolute(options)
    inventory = load_inventory(options)
    censor = runs.Censor(inventory.secret_values())
    limit = options.limit
    if options.retry_failed:
        limit = _retry_limit(options, inventory, console)
        if limit is None:
            return None, ExitCode.OK
    targets = inventory.resolve(limit)
    if not targets:
        raise AlurError(f"--limit {limit} matches no host of {options.inventory}")
    image = ee.inspect(options.ee) if options.ee else None
    say_support(console, image)
    if kind == "deploy" and not options.skip_check:
        report = check.run_check(inventory, offline=False, limit=limit, image=image)
        display.print_check(console, report, censor)
        code = report.exit_code()
        if code != ExitCode.OK:
            console.print("deploy not started: fix the problems above, or pass --skip-check")
            return None, code
    speed = accelerate.choose(options.accelerate, image)
    console.print(f"{kind}: {speed.description}" + (f", inside {image.describe()}" if image else ""))
    envvars = {**_host_key_checking_env(project), **_fact_cache_env(project, options.inventory), **speed.env}
    request = runner.PlaybookRequest(
        project_dir=project,
        inventory=options.inventory,
        private_data_dir=_runner_dir() / f"{kind}-{time.time_ns()}",
        limit=limit,
        tags=options.tags,
        skip_tags=options.skip_tags,
        check=kind == "plan",
        diff=kind == "plan",
        extra_vars=options.extra_vars,
        vault_args=tuple(options.vault.cli_args()),
        forks=options.forks,
        verbosity=options.verbosity,
        envvars=envvars,
    )
    if image:
        request = in_image(image, request)
    # The strategy variables belong to the command that reproduces the run: they are what made it accelerated.
    environment = {**runner.user_environment(), **speed.env}
    record = runs.RunRecord.create(
        kind=kind,
        inventory=options.inventory,
        playbook=request.playbook,
        limit=limit,
        tags=options.tags,
        check=request.check,
        command=_by_hand(request, environment),
        cwd=str(project),
        env={} if request.container else environment,
        censor=censor,
        accelerator=speed.description,
        execution_environment=_image_record(image),
    )
    started = time.monotonic()

    def on_event(event: runner.Event) -> None:
        record.add(event)
        progress.handle(event)

    with display.RunProgress(console, targets, censor, live=options.live) as progress:
        result = runner.run_playbook(request, on_event)
    if request.container is None:
        record.set_command(result.command, result.cwd, environment)
    failed = sum(1 for s in result.stats.values() if s.failed)
    unreachable = sum(1 for s in result.stats.values() if s.unreachable)
    code = ExitCode.INTERRUPTED if result.status == "canceled" else from_host_counts(failed, unreachable, result.rc)
    summary = record.finish(result.status, result.rc, int(code), result.stats, started)
    if kind == "plan":
        display.print_plan(console, summary)
    else:
        display.print_recap(console, summary, int(code))
    return summary, code


def say_support(console: Console, image: ee.ImageInfo | None) -> None:
    """Once per command: the ansible-core that will run is past its end of life (and what to do about it)."""
    if image is None:
        line = support.notice(support.host_core())
    else:
        line = support.notice(image.ansible_core, where=image.image)
    if line:
        console.print(f"[yellow]note:[/yellow] {line}", highlight=False)


def in_image(image: ee.ImageInfo, request: runner.PlaybookRequest) -> runner.PlaybookRequest:
    """What a request needs to run inside the execution environment: this process's ANSIBLE_* settings (runner
    passes no other environment into the container) and the container with every file the run names mounted."""
    import os

    envvars = {**{k: v for k, v in os.environ.items() if k.startswith("ANSIBLE_")}, **request.envvars}
    named = [v[1:] for v in request.extra_vars if v[:1] == "@"]
    # runner mounts these itself (-i, --vault-password-file; the project is its working directory)
    args = list(request.vault_args)
    vault_files = [args[i + 1] for i, a in enumerate(args[:-1]) if a in {"--vault-password-file", "--vault-pass-file"}]
    by_runner: list[str | Path] = [request.inventory.resolve(), *vault_files]
    vault_ids = [v.split("@", 1)[-1] for i, v in enumerate(args[1:]) if args[i] == "--vault-id"]
    box = ee.container(image, request.project_dir, [*by_runner, *named, *vault_ids], envvars, by_runner)
    return replace(request, envvars=envvars, container=box)


def _by_hand(request: runner.PlaybookRequest, environment: dict[str, str]) -> list[str]:
    """The command that reproduces the run: ansible-playbook, or for the execution environment the podman run of
    it (with the same variables)."""
    if request.container is None:
        return runner.command_line(request)
    return [*request.container.by_hand(str(request.project_dir), environment), *runner.command_line(request)]


def _image_record(image: ee.ImageInfo | None) -> dict[str, str] | None:
    if image is None:
        return None
    return {
        "image": image.image,
        "image_id": image.image_id,
        "ansible_core": image.ansible_core,
        "python": image.python,
    }
