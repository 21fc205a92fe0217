"""The inventory as Ansible itself resolves it: hosts, groups, each host's merged variables, the roles
site.yml gives each host, how to reach each host, and the secret values that must never be written.

Ansible's own classes do the resolving (InventoryManager, VariableManager, Playbook, the templar), so
alur sees exactly what ansible-playbook would see. They are imported lazily: `alur --help` stays fast.
"""

from __future__ import annotations

import functools
import getpass
import os
import shlex
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alur.errors import AlurError

# Variable names whose values are secrets even when no argument_spec says so.
_SECRET_NAME_HINTS = ("password", "passwd", "secret", "token", "private_key", "api_key", "_pass")
_CONNECTION_SECRETS = (
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_become_password",
    "ansible_become_pass",
)


class InventoryError(AlurError):
    """The inventory, site.yml or a vault secret cannot be loaded."""


class Undetermined(Exception):
    """A value that cannot be known before the run (it needs facts, or a lookup on the controller)."""


@dataclass(frozen=True)
class VaultOptions:
    """How to open vault-encrypted values: the same options ansible-playbook takes."""

    password_files: tuple[str, ...] = ()
    vault_ids: tuple[str, ...] = ()

    def absolute(self) -> VaultOptions:
        """The same options with files made absolute: ansible-playbook runs from the project directory."""
        ids = []
        for entry in self.vault_ids:
            name, sep, source = entry.partition("@")
            if sep and source != "prompt":
                entry = f"{name}@{absolute_path(source)}"
            ids.append(entry)
        return VaultOptions(tuple(absolute_path(p) for p in self.password_files), tuple(ids))

    def cli_args(self) -> list[str]:
        args: list[str] = []
        for path in self.password_files:
            args += ["--vault-password-file", path]
        for vault_id in self.vault_ids:
            args += ["--vault-id", vault_id]
        return args


@dataclass(frozen=True)
class Connection:
    """How to reach a host over SSH, from its inventory variables (as ansible's ssh plugin reads them)."""

    host: str
    address: str
    port: int = 22
    user: str = field(default_factory=getpass.getuser)
    key_file: str | None = None
    password: str | None = field(default=None, repr=False)
    known_hosts_file: str | None = None
    strict_host_key_checking: bool = True
    become_method: str = "sudo"
    become_password: str | None = field(default=None, repr=False)
    python: str | None = None
    connection: str = "ssh"

    @property
    def is_local(self) -> bool:
        return self.connection == "local"

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class RoleSpec:
    """A role's `main` entry point as declared in meta/argument_specs.yml."""

    name: str
    path: Path
    options: dict[str, Any]

    @property
    def secret_options(self) -> list[str]:
        return [name for name, spec in self.options.items() if isinstance(spec, Mapping) and spec.get("no_log")]

    @property
    def generated_secret_options(self) -> list[str]:
        """Secrets the role generates when left empty: their description says so ("... generated")."""
        found = []
        for name in self.secret_options:
            description = self.options[name].get("description") or ""
            text = " ".join(description) if isinstance(description, list) else str(description)
            if "generat" in text.lower():
                found.append(name)
        return found


@dataclass(frozen=True)
class RoleUse:
    """A role applied to a host by one play of site.yml, with the parameters the play passes."""

    role: RoleSpec
    play: str
    play_index: int
    params: dict[str, Any]


def absolute_path(path: str) -> str:
    return str(Path(path).expanduser().absolute())


def absolute_extra_vars(values: Sequence[str]) -> tuple[str, ...]:
    """-e values with @FILE made absolute (relative to where alur was started)."""
    return tuple(f"@{absolute_path(v[1:])}" if v.startswith("@") else v for v in values)


def _ansible_env(project: Path) -> None:
    """Make in-process Ansible read the same ansible.cfg as ansible-playbook run from the project."""
    if "ANSIBLE_CONFIG" not in os.environ and (project / "ansible.cfg").is_file():
        os.environ["ANSIBLE_CONFIG"] = str(project / "ansible.cfg")


def ansible_config_value(project: Path, name: str) -> Any:
    """A setting of Ansible's effective configuration (e.g. HOST_KEY_CHECKING)."""
    _ansible_env(project)
    from ansible import constants

    return getattr(constants, name)


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in _CONNECTION_SECRETS or any(hint in lowered for hint in _SECRET_NAME_HINTS)


def plain(value: Any) -> Any:
    """Ansible's tagged and lazy containers as plain Python values (decrypting vaulted strings)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (str, bytes)):
        return "".join(value) if isinstance(value, str) else value
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    if isinstance(value, (Sequence, set, frozenset)):
        return [plain(v) for v in value]
    return str(value)


def _split_ssh_args(*values: Any) -> dict[str, str]:
    """`-o Key=Value` options of ansible_ssh_common_args / ansible_ssh_extra_args, keys lowercased."""
    options: dict[str, str] = {}
    for value in values:
        if not value:
            continue
        words = shlex.split(str(value))
        for index, word in enumerate(words):
            option = None
            if word == "-o" and index + 1 < len(words):
                option = words[index + 1]
            elif word.startswith("-o") and len(word) > 2:
                option = word[2:]
            if option and "=" in option:
                key, _, val = option.partition("=")
                options[key.strip().lower()] = val.strip()
    return options


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "yes", "true", "on", "y"}
    return bool(value)


class Inventory:
    """One inventory, loaded once, with the project's site.yml to know which roles each host gets."""

    def __init__(
        self,
        path: Path | None,
        project: Path,
        vault: VaultOptions = VaultOptions(),
        extra_vars: Sequence[str] = (),
        playbook: str = "site.yml",
    ) -> None:
        # Without an inventory (`alur bundle create` without -i) there are no hosts: only -e over the roles'
        # defaults. `path` is then the project, for messages.
        self.path: Path = path if path is not None else project
        self._sources = [str(path)] if path is not None else []
        self.project = project
        self.vault = vault
        self.extra_var_args = tuple(extra_vars)
        if path is not None and not path.exists():
            raise InventoryError(f"inventory {path} not found")
        _ansible_env(project)
        try:
            self._load(playbook)
        except AlurError:
            raise
        except Exception as exc:
            raise InventoryError(f"cannot load inventory {path}: {_one_line(exc)}") from exc

    # --- loading ----------------------------------------------------------------------------

    def _load(self, playbook: str) -> None:
        from ansible.inventory.manager import InventoryManager
        from ansible.parsing.dataloader import DataLoader
        from ansible.plugins.loader import init_plugin_loader
        from ansible.utils.display import Display
        from ansible.vars.hostvars import HostVars
        from ansible.vars.manager import VariableManager

        # Ansible warns on stderr about things the check reports itself (e.g. empty groups).
        Display().verbosity = 0
        _init_plugin_loader_once(init_plugin_loader, self.project / "collections")
        self._loader = DataLoader()
        self._loader.set_basedir(str(self.project))
        self._open_vault()
        self._inventory = InventoryManager(loader=self._loader, sources=self._sources, parse=bool(self._sources))
        self._vm = VariableManager(loader=self._loader, inventory=self._inventory)
        self._extra_vars = self._load_extra_vars()
        if self._extra_vars:
            self._vm._extra_vars = self._extra_vars  # the CLI's -e, as ansible-playbook would set it
        HostVars(inventory=self._inventory, variable_manager=self._vm, loader=self._loader)
        self._plays = self._load_plays(playbook)
        self._role_cache: dict[str, RoleSpec] = {}
        self._host_vars_cache: dict[str, Any] = {}

    def _open_vault(self) -> None:
        from ansible import constants
        from ansible.parsing.vault import VaultSecretsContext, get_file_vault_secret

        secrets: list[tuple[str, Any]] = []
        sources: list[tuple[str, str]] = []
        for entry in self.vault.vault_ids or tuple(constants.DEFAULT_VAULT_IDENTITY_LIST or ()):
            vault_id, sep, source = entry.partition("@")
            if sep and source != "prompt":
                sources.append((vault_id, source))
        for source in self.vault.password_files or (
            (constants.DEFAULT_VAULT_PASSWORD_FILE,) if constants.DEFAULT_VAULT_PASSWORD_FILE else ()
        ):
            sources.append((constants.DEFAULT_VAULT_IDENTITY, str(source)))
        for vault_id, source in sources:
            secret = get_file_vault_secret(filename=source, vault_id=vault_id, loader=self._loader)
            secret.load()
            secrets.append((vault_id, secret))
        self.has_vault_secret = bool(secrets)
        self._loader.set_vault_secrets(secrets)
        context = VaultSecretsContext.current(optional=True)
        if context is None:
            VaultSecretsContext.initialize(VaultSecretsContext(secrets))
        else:
            context.secrets = secrets  # a second inventory in the same process (tests)

    def _load_extra_vars(self) -> dict[str, Any]:
        from ansible.parsing.splitter import parse_kv
        from ansible.utils.vars import combine_vars

        merged: dict[str, Any] = {}
        for arg in self.extra_var_args:
            if arg.startswith("@"):
                data = self._loader.load_from_file(str(self._resolve(arg[1:])), trusted_as_template=True)
            elif arg[:1] in ("{", "["):
                data = self._loader.load(arg)
            else:
                data = parse_kv(arg)
            if not isinstance(data, Mapping):
                raise InventoryError(f"extra vars {arg!r} are not a mapping of names to values")
            merged = combine_vars(merged, data)
        return merged

    def _resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else Path.cwd() / candidate

    def _load_plays(self, playbook: str) -> list[Any]:
        from ansible.playbook import Playbook

        site = self.project / playbook
        if not site.is_file():
            raise InventoryError(f"{site} not found")
        return list(Playbook.load(str(site), variable_manager=self._vm, loader=self._loader).get_plays())

    # --- hosts and groups -------------------------------------------------------------------

    def hosts(self) -> list[str]:
        return sorted(h.name for h in self._inventory.get_hosts("all"))

    def groups(self) -> dict[str, list[str]]:
        """Every group with at least one host, with its hosts (children included)."""
        result: dict[str, list[str]] = {}
        for name, group in self._inventory.groups.items():
            if name in {"all", "ungrouped"}:
                continue
            result[name] = sorted(h.name for h in group.get_hosts())
        return result

    def groups_of(self, host: str) -> list[str]:
        found = self._inventory.get_host(host)
        if found is None:
            return []
        return sorted(g.name for g in found.get_groups() if g.name not in {"all", "ungrouped"})

    def resolve(self, pattern: str | None) -> list[str]:
        """The hosts a --limit pattern selects (all hosts when None)."""
        if not pattern:
            return self.hosts()
        return sorted({h.name for h in self._inventory.get_hosts(pattern)})

    # --- roles ------------------------------------------------------------------------------

    def role_spec(self, name: str, path: Path) -> RoleSpec:
        if name not in self._role_cache:
            options: dict[str, Any] = {}
            spec_file = path / "meta" / "argument_specs.yml"
            if spec_file.is_file():
                data = yaml.safe_load(spec_file.read_text()) or {}
                main = (data.get("argument_specs") or {}).get("main") or {}
                options = dict(main.get("options") or {})
            self._role_cache[name] = RoleSpec(name=name, path=path, options=options)
        return self._role_cache[name]

    def roles_for(self, host: str) -> list[RoleUse]:
        """Roles the plays of site.yml apply to this host, in play order."""
        uses: list[RoleUse] = []
        for index, play in enumerate(self._plays):
            if host not in self._play_hosts(play):
                continue
            for role in play.get_roles():
                spec = self.role_spec(role.get_name(), Path(role._role_path))
                params = dict(getattr(role, "_role_params", {}) or {})
                uses.append(RoleUse(role=spec, play=play.get_name(), play_index=index, params=params))
        return uses

    def _play_hosts(self, play: Any) -> set[str]:
        pattern = play.hosts
        if isinstance(pattern, (list, tuple)):
            pattern = ":".join(str(p) for p in pattern)
        return {h.name for h in self._inventory.get_hosts(str(pattern))}

    def role_names(self) -> list[str]:
        names = {use.role.name for host in self.hosts() for use in self.roles_for(host)}
        return sorted(names)

    # --- variables --------------------------------------------------------------------------

    def _vars(self, host: str, play_index: int | None = None) -> Any:
        key = f"{host}\0{play_index}"
        if key not in self._host_vars_cache:
            found = self._inventory.get_host(host)
            if found is None:
                raise InventoryError(f"host {host!r} is not in {self.path}")
            play = self._plays[play_index] if play_index is not None else None
            try:
                self._host_vars_cache[key] = self._vm.get_vars(play=play, host=found)
            except Exception as exc:  # Ansible reads group_vars/host_vars files only now
                raise InventoryError(f"cannot load the variables of {host} in {self.path}: {_one_line(exc)}") from exc
        return self._host_vars_cache[key]

    def has(self, host: str, name: str, play_index: int | None = None) -> bool:
        return name in self._vars(host, play_index)

    def raw(self, host: str, name: str, play_index: int | None = None) -> Any:
        return self._vars(host, play_index).get(name)

    def value(self, host: str, name: str, default: Any = None, play_index: int | None = None) -> Any:
        """A variable as the play would see it (templated); `default` when undefined.
        Raises Undetermined when it depends on something only the run knows (facts, lookups)."""
        variables = self._vars(host, play_index)
        if name not in variables:
            return default
        return self.template(host, variables[name], play_index)

    def template(self, host: str, value: Any, play_index: int | None = None) -> Any:
        from ansible.errors import AnsibleError, AnsibleUndefinedVariable
        from ansible.template import Templar

        templar = Templar(loader=self._loader, variables=self._vars(host, play_index))
        try:
            return plain(templar.template(value))
        except AnsibleUndefinedVariable as exc:
            raise Undetermined(_one_line(exc)) from exc
        except AnsibleError as exc:
            raise Undetermined(_one_line(exc)) from exc

    def artifacts_settings(self, host: str | None = None, facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The artifacts role's public settings (artifacts_*: versions, sources, keys) as a play gives them to
        `host`: the role's defaults under the inventory's variables and -e, templated by Ansible, so the
        deprecated alur_* names an inventory may still use resolve as they do in a run. Without a host, the
        defaults under -e only. `facts` stand in for the host's (the Temurin suite is its Debian codename).
        A setting that needs what only the run knows is left out."""
        from ansible.errors import AnsibleError
        from ansible.template import Templar
        from ansible.utils.vars import combine_vars

        defaults = self._artifacts_defaults()
        found = self._inventory.get_host(host) if host is not None else None
        if host is not None and found is None:
            raise InventoryError(f"host {host!r} is not in {self.path}")
        variables = combine_vars(defaults, self._vm.get_vars(host=found) if found is not None else self._extra_vars)
        if facts:
            variables["ansible_facts"] = combine_vars(variables.get("ansible_facts") or {}, dict(facts))
        templar = Templar(loader=self._loader, variables=variables)
        settings: dict[str, Any] = {}
        for name in defaults:
            if not name.startswith("artifacts_"):
                continue
            try:
                settings[name] = plain(templar.template(variables[name]))
            except AnsibleError:
                continue
        return settings

    def _artifacts_defaults(self) -> dict[str, Any]:
        """The artifacts role's defaults, from the role a play of this project finds (roles/, roles_path)."""
        if not hasattr(self, "_artifacts_defaults_cache"):
            from ansible.playbook.play import Play
            from ansible.playbook.role.include import RoleInclude
            from ansible.utils.vars import combine_vars

            defaults: dict[str, Any] = {}
            try:
                play = Play.load({"hosts": "all"}, variable_manager=self._vm, loader=self._loader)
                role = RoleInclude.load("artifacts", play=play, variable_manager=self._vm, loader=self._loader)
                folder = str(Path(role.get_role_path()) / "defaults")
                for path in self._loader.find_vars_files(folder, "main"):
                    defaults = combine_vars(defaults, self._loader.load_from_file(path, trusted_as_template=True))
            except Exception as exc:
                raise InventoryError(f"cannot read the artifacts role's defaults: {_one_line(exc)}") from exc
            self._artifacts_defaults_cache: dict[str, Any] = defaults
        return self._artifacts_defaults_cache

    def facts(self, host: str) -> dict[str, Any]:
        """Facts Ansible cached for the host on an earlier run (empty when none)."""
        facts = self._vars(host).get("ansible_facts") or {}
        return plain(facts) if isinstance(facts, Mapping) else {}

    def is_vaulted(self, value: Any) -> bool:
        """An inline !vault value, or a value read from a file that is vault-encrypted as a whole."""
        from ansible.parsing.vault import VaultHelper

        if VaultHelper.get_ciphertext(value, with_tags=False) is not None:
            return True
        try:
            from ansible._internal._datatag._tags import Origin
        except ImportError:  # an ansible-core without origin tags: only inline vault values are known
            return False
        origin = Origin.get_tag(value)
        return bool(origin and origin.path and _vault_file(origin.path))

    # --- connection -------------------------------------------------------------------------

    def connection(self, host: str) -> Connection:
        def first(*names: str, default: Any = None) -> Any:
            for name in names:
                try:
                    found = self.value(host, name)
                except Undetermined:
                    continue
                if found not in (None, ""):
                    return found
            return default

        from ansible import constants

        ssh_options = _split_ssh_args(
            _config_ssh_args(), first("ansible_ssh_common_args"), first("ansible_ssh_extra_args")
        )
        checking = first(
            "ansible_host_key_checking", "ansible_ssh_host_key_checking", default=constants.HOST_KEY_CHECKING
        )
        strict = _truthy(checking)
        if "stricthostkeychecking" in ssh_options:
            strict = ssh_options["stricthostkeychecking"].lower() in {"yes", "true"}
        known_hosts = ssh_options.get("userknownhostsfile")
        key = first(
            "ansible_ssh_private_key_file", "ansible_private_key_file", default=constants.DEFAULT_PRIVATE_KEY_FILE
        )
        user = first("ansible_user", "ansible_ssh_user", default=constants.DEFAULT_REMOTE_USER or getpass.getuser())
        if known_hosts and known_hosts != "/dev/null":
            known_hosts = str(Path(known_hosts).expanduser())
        return Connection(
            host=host,
            address=str(first("ansible_host", "ansible_ssh_host", default=host)),
            port=int(first("ansible_port", "ansible_ssh_port", default=22)),
            user=str(user),
            key_file=str(Path(str(key)).expanduser()) if key else None,
            password=first("ansible_password", "ansible_ssh_pass", "ansible_ssh_password"),
            known_hosts_file=known_hosts,
            strict_host_key_checking=strict,
            become_method=str(first("ansible_become_method", default="sudo")),
            become_password=first("ansible_become_password", "ansible_become_pass"),
            python=first("ansible_python_interpreter"),
            connection=str(first("ansible_connection", default="ssh")),
        )

    # --- secrets ----------------------------------------------------------------------------

    def secret_values(self) -> set[str]:
        """Every secret value alur can know of, to censor anything it writes or prints: vaulted values,
        options argument_specs mark no_log, connection passwords, secret-looking extra vars."""
        found: set[str] = set()
        for name, value in self._extra_vars.items():
            found.update(_secret_strings(self, value, force=is_secret_name(name)))
        for host in self.hosts():
            variables = self._vars(host)
            for name, value in variables.items():
                if name in {"hostvars", "groups", "vars"}:
                    continue
                found.update(_secret_strings(self, value, force=name in _CONNECTION_SECRETS))
            for use in self.roles_for(host):
                for option in use.role.secret_options:
                    try:
                        value = self.value(host, option, play_index=use.play_index)
                    except Undetermined:
                        continue
                    found.update(_secret_strings(self, value, force=True))
        return {s for s in found if len(s) >= 4}


@functools.lru_cache(maxsize=256)
def _vault_file(path: str) -> bool:
    try:
        with Path(path).open("rb") as handle:
            return handle.read(14) == b"$ANSIBLE_VAULT"
    except OSError:
        return False


def _secret_strings(inventory: Inventory, value: Any, force: bool) -> Iterator[str]:
    """Strings inside `value` that are secret: all of them when `force`, else only vaulted ones."""
    if inventory.is_vaulted(value):
        try:
            yield str(value)
        except Exception:
            return  # a value no secret opens is no value alur could leak
        return
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _secret_strings(inventory, item, force)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _secret_strings(inventory, item, force)
    elif force and isinstance(value, str) and "{{" not in value:
        yield "".join(value)


_plugin_loader_ready = False


def _init_plugin_loader_once(init: Any, collections: Path) -> None:
    """Install Ansible's collection finder, once per process (tests load many inventories).

    From then on that finder answers every `ansible_collections.*` import, and it only knows collections it loaded
    itself. So it is told where the project's collection lives, and the copy of `alur.site` that plain Python
    imported earlier (alur imports its module_utils) is dropped from sys.modules; otherwise the next import of an
    alur.site module fails with "collection metadata was not loaded". Modules that already hold the earlier copy
    keep using it: the module_utils keep no state.
    """
    global _plugin_loader_ready
    if not _plugin_loader_ready:
        for name in [n for n in sys.modules if n == "ansible_collections" or n.startswith("ansible_collections.")]:
            del sys.modules[name]
        init([str(collections)])
        _plugin_loader_ready = True


def _config_ssh_args() -> Any:
    """[ssh_connection] ssh_args of the effective ansible.cfg (None when unreadable)."""
    from ansible import constants

    try:
        return constants.config.get_config_value("ssh_args", plugin_type="connection", plugin_name="ssh")
    except Exception:
        return None


def _one_line(exc: BaseException) -> str:
    """An Ansible error as one line, with the file and line it points at when Ansible knows them."""
    error = exc.__cause__ if exc.__cause__ is not None and not str(exc).strip() else exc
    text = " ".join(str(getattr(error, "message", None) or error).split()) or type(error).__name__
    where = _origin(getattr(error, "obj", None))
    return f"{where}: {text}" if where and where not in text else text


def _origin(value: Any) -> str | None:
    if value is None:
        return None
    try:
        from ansible._internal._datatag._tags import Origin  # where Ansible read a value from
    except ImportError:
        return None
    origin = value if isinstance(value, Origin) else Origin.get_tag(value)
    return str(origin) if origin is not None else None


def split_hosts(values: Iterable[str]) -> str:
    return ",".join(sorted(set(values)))
