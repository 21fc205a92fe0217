"""alur's execution environment: the image that runs the site with a supported ansible-core, and how a run
enters it.

The image (execution-environment/Containerfile) is built on localhost/alur-debian:13, which alur already
makes, because ansible-builder needs an RPM-based base and only Debian's archive and PyPI are reachable.
It holds ansible-core 2.21, ansible-runner, Mitogen, ansible-lint and the collections the roles use, laid
out as AWX and ansible-navigator expect (ansible-runner's /runner, any UID, tini as PID 1).

Like the base images it carries a hash of its inputs in a label and is rebuilt only when they change: the
build files, the base image and whether the build CA is kept. The host's CA bundle and pip settings are
build secrets, mounted for the pip step and in no layer, unless TRUST_BUILD_CA keeps the bundle.

A run with `--ee` goes through ansible-runner's process isolation: `podman run` of the image with the
project, the inventory and every file the run names mounted at the same path, so the paths in ansible.cfg,
the inventory and the run record mean the same thing inside and out (as ansible-navigator mounts them).
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from alur import __version__, images, podman, support
from alur.errors import AlurError, ContainerError
from alur.paths import project_root, state_dir

IMAGE_REPO = "localhost/alur-ee"
RECIPE_LABEL = "io.alur.ee-recipe"
RECIPE_VERSION = "1"
SOURCE_DIR = "execution-environment"
BUILD_FILES = ("Containerfile", "requirements.lock", "collections.txt", "extract_collections.py", "entrypoint.sh")
BASE_RELEASE = "13"
SWITCH = "ALUR_EE"
# Where pip finds the CA bundle inside the build (the secret's mount point).
SECRET_CA = "/run/secrets/ca-bundle"  # noqa: S105 (a path, not a password)


def default_image() -> str:
    return f"{IMAGE_REPO}:{__version__}"


def choice(option: str | None) -> str | None:
    """The image a run uses: --ee IMAGE, --ee alone (the default image), else ALUR_EE (an image, or 1/yes for
    the default); None runs in the host's own ansible-core."""
    if option is not None:
        return option or default_image()
    value = os.environ.get(SWITCH, "").strip()
    if value.lower() in {"", "0", "no", "false", "off"}:
        return None
    return default_image() if value.lower() in {"1", "yes", "true", "on"} else value


# --- build inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildInputs:
    """What the build needs from this machine to reach PyPI; none of it ends up in the image unless trust_ca."""

    ca_bundle: Path | None
    index_url: str | None
    extra_index_urls: tuple[str, ...] = ()
    trust_ca: bool = False

    def pip_conf(self) -> str:
        lines = ["[global]"]
        if self.index_url:
            lines.append(f"index-url = {self.index_url}")
        if self.extra_index_urls:
            lines.append("extra-index-url = " + " ".join(self.extra_index_urls))
        if self.ca_bundle:
            lines.append(f"cert = {SECRET_CA}")
        return "\n".join(lines) + "\n"


def _remote(urls: Iterable[str]) -> tuple[str, ...]:
    """Only the index URLs a container can reach: a file:// index of this machine is not in the image."""
    return tuple(u for u in urls if re.match(r"https?://", u))


def _host_pip_setting(name: str) -> list[str]:
    """A pip setting from the environment (PIP_INDEX_URL, ...) or this machine's pip configuration files."""
    env = os.environ.get("PIP_" + name.upper().replace("-", "_"))
    if env:
        return env.split()
    parser = configparser.ConfigParser()
    parser.read(["/etc/pip.conf", "/etc/xdg/pip/pip.conf", str(Path("~/.config/pip/pip.conf").expanduser())])
    for section in ("install", "global"):
        if parser.has_option(section, name):
            return parser.get(section, name).split()
    return []


def build_inputs(trust_ca: bool = False) -> BuildInputs:
    """ALUR_EE_CA_BUNDLE, ALUR_EE_PIP_INDEX_URL and ALUR_EE_PIP_EXTRA_INDEX_URL, else what this machine's pip
    uses (its cert and its http(s) indexes), else the system CA bundle and PyPI."""
    ca: Path | None = None
    for candidate in (
        os.environ.get("ALUR_EE_CA_BUNDLE"),
        os.environ.get("PIP_CERT"),
        *_host_pip_setting("cert")[:1],
        os.environ.get("REQUESTS_CA_BUNDLE"),
        os.environ.get("SSL_CERT_FILE"),
        "/etc/ssl/certs/ca-certificates.crt",
    ):
        if candidate and Path(candidate).is_file():
            ca = Path(candidate)
            break
    index = os.environ.get("ALUR_EE_PIP_INDEX_URL") or next(iter(_remote(_host_pip_setting("index-url"))), None)
    extra_setting = os.environ.get("ALUR_EE_PIP_EXTRA_INDEX_URL")
    extra = _remote(extra_setting.split() if extra_setting else _host_pip_setting("extra-index-url"))
    return BuildInputs(ca_bundle=ca, index_url=index, extra_index_urls=extra, trust_ca=trust_ca)


# --- the image ----------------------------------------------------------------------------------------


def source_dir() -> Path:
    path = project_root() / SOURCE_DIR
    missing = [name for name in BUILD_FILES if not (path / name).is_file()]
    if missing:
        raise AlurError(f"{path}: missing {', '.join(missing)}")
    return path


def _image_id(ref: str) -> str | None:
    return podman.image_field(ref, "{{.Id}}")


def recipe_hash(source: Path, base_id: str, inputs: BuildInputs) -> str:
    digest = hashlib.sha256()
    digest.update(f"{RECIPE_VERSION}\n{base_id}\n".encode())
    for name in BUILD_FILES:
        digest.update(f"{name}\n".encode() + (source / name).read_bytes())
    if inputs.trust_ca and inputs.ca_bundle:
        digest.update(b"trust\n" + inputs.ca_bundle.read_bytes())
    return digest.hexdigest()[:16]


def installed_recipe(ref: str) -> str | None:
    return podman.image_label(ref, RECIPE_LABEL)


def ensure_image(force: bool = False, trust_ca: bool = False, log: bool = True) -> str:
    """Build localhost/alur-ee:<version> unless an image from the same inputs exists. Returns its ref."""
    ref = default_image()
    source = source_dir()
    base = images.ensure_image(BASE_RELEASE, log=log)
    base_id = _image_id(base)
    if base_id is None:
        raise ContainerError(f"{base}: not found after building it")
    inputs = build_inputs(trust_ca)
    wanted = recipe_hash(source, base_id, inputs)
    if not force and installed_recipe(ref) == wanted:
        if log:
            print(f"{ref}: up to date (recipe {wanted})")
        return ref
    build_root = state_dir() / "build"
    build_root.mkdir(exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=build_root, prefix="ee-") as tmp:
        pip_conf = Path(tmp) / "pip.conf"
        pip_conf.write_text(inputs.pip_conf())
        pip_conf.chmod(0o600)
        command = [
            "build",
            "--network=host",
            "--pull=never",
            "--build-arg",
            f"BASE_IMAGE={base}",
            "--build-arg",
            f"TRUST_BUILD_CA={'yes' if inputs.trust_ca else 'no'}",
            "--secret",
            f"id=pip.conf,src={pip_conf}",
            "--label",
            f"{RECIPE_LABEL}={wanted}",
            "--label",
            f"{podman.LABEL_MANAGED}=true",
            "--label",
            f"org.opencontainers.image.version={__version__}",
            "--tag",
            ref,
            "--file",
            str(source / "Containerfile"),
        ]
        if inputs.ca_bundle:
            command[command.index("--label") : command.index("--label")] = [
                "--secret",
                f"id=ca-bundle,src={inputs.ca_bundle}",
            ]
        if log:
            where = inputs.index_url or "PyPI"
            ca = f", CA bundle {inputs.ca_bundle}" if inputs.ca_bundle else ""
            print(f"{ref}: building on {base} (packages from {where}{ca})")
        proc = subprocess.run(
            ["podman", *command, str(source)], capture_output=True, text=True, env=podman.podman_env(), check=False
        )
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise ContainerError(f"podman build of {ref} failed (exit {proc.returncode}): {tail}")
    if log:
        print(f"{ref}: built in {time.monotonic() - started:.1f} s (recipe {wanted})")
    return ref


# --- what is inside -----------------------------------------------------------------------------------

# Run inside the image: the versions a run record notes, and where Mitogen's strategy plugins are.
_PROBE = r"""
import importlib.metadata as md, importlib.util, json, pathlib, platform
from ansible.release import __version__ as core
spec = importlib.util.find_spec("ansible_mitogen")
strategies = None
if spec and spec.submodule_search_locations:
    strategies = str(pathlib.Path(next(iter(spec.submodule_search_locations))) / "plugins" / "strategy")
def version(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None
print(json.dumps({"ansible_core": core, "python": platform.python_version(),
                  "mitogen": version("mitogen"), "mitogen_strategies": strategies,
                  "ansible_runner": version("ansible-runner")}))
"""


@dataclass(frozen=True)
class ImageInfo:
    image: str
    image_id: str
    ansible_core: str
    python: str
    mitogen: str | None = None
    mitogen_strategies: str | None = None
    ansible_runner: str | None = None

    @property
    def core_tuple(self) -> tuple[int, ...]:
        return support.release(self.ansible_core)

    def describe(self) -> str:
        return f"{self.image} (ansible-core {self.ansible_core}, Python {self.python})"


def inspect(image: str) -> ImageInfo:
    """The image's ansible-core, Python and Mitogen, asked once per image ID (cached under the state dir)."""
    image_id = _image_id(image)
    if image_id is None:
        hint = " (make ee builds it)" if image == default_image() else ""
        raise AlurError(f"execution environment {image} not found{hint}")
    cache = state_dir() / "ee" / f"{image_id[:24]}.json"
    if cache.is_file():
        # The image by the name asked for: one ID can carry several names, and the run starts the one given.
        return replace(ImageInfo(**json.loads(cache.read_text())), image=image)
    proc = podman.run("run", "--rm", "--network=none", image, "python3", "-c", _PROBE, check=False)
    if proc.returncode != 0:
        raise AlurError(f"execution environment {image}: no ansible-core answered ({proc.stderr.strip()[-300:]})")
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    info = ImageInfo(image=image, image_id=image_id, **found)
    cache.parent.mkdir(mode=0o700, exist_ok=True)
    cache.write_text(json.dumps(asdict(info)))
    return info


# --- a run inside it ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Container:
    """How ansible-runner starts the run in the image: mounts (host:container:options) and podman options."""

    info: ImageInfo
    mounts: tuple[str, ...] = ()  # besides those ansible-runner makes itself
    options: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    shown_mounts: tuple[str, ...] = ()  # every folder the run sees, for the command that repeats it by hand

    def by_hand(self, workdir: str, env: Mapping[str, str]) -> list[str]:
        """A podman command line that runs the same command in the same image (secrets stay in their files)."""
        command = ["podman", "run", "--rm", "-it", *self.options, "--workdir", workdir]
        for mount in self.shown_mounts or self.mounts:
            command += ["-v", mount]
        for key, value in {**self.env, **env}.items():
            command += ["-e", f"{key}={value}"]
        return [*command, self.info.image]


# The ANSIBLE_* settings that name files or folders of the controller (the *_PATH ones lists of them); every other
# absolute value names a path on a managed host or in the image (ANSIBLE_REMOTE_TEMP, ANSIBLE_PYTHON_INTERPRETER,
# the image's own ANSIBLE_STRATEGY_PLUGINS) and is not mounted.
CONTROLLER_PATHS = (
    "ANSIBLE_CONFIG",
    "ANSIBLE_INVENTORY",
    "ANSIBLE_CACHE_PLUGIN_CONNECTION",
    "ANSIBLE_LOG_PATH",
    "ANSIBLE_ROLES_PATH",
    "ANSIBLE_COLLECTIONS_PATH",
    "ANSIBLE_COLLECTIONS_PATHS",
)
# The system's own folders: never mounted over the image's (its Python, tini, its CA bundle).
_SYSTEM_TREES = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/proc", "/sys", "/dev")
_SYSTEM_TOPS = {"/", "/home", "/opt", "/root", "/run", "/srv", "/tmp", "/var", "/mnt", "/media"}  # noqa: S108


def _system(path: Path) -> bool:
    text = str(path)
    return text in _SYSTEM_TOPS or any(text == t or text.startswith(t + "/") for t in _SYSTEM_TREES)


def _outermost(paths: Iterable[Path]) -> list[Path]:
    """What to mount: each path once, none inside another that is mounted already, none of the system's."""
    chosen: list[Path] = []
    for path in sorted({p.resolve() for p in paths}, key=lambda p: len(p.parts)):
        if _system(path):
            continue
        if not any(path == c or c in path.parents for c in chosen):
            chosen.append(path)
    return chosen


def _folder(item: str | Path) -> Path | None:
    """The folder ansible-runner mounts for a file it is given (or the folder itself)."""
    text = str(item)
    if not text.startswith("/"):
        return None
    path = Path(text)
    return path if path.is_dir() else path.parent if path.parent.is_dir() else None


def _existing(item: str | Path) -> Path | None:
    """An absolute path that exists here: a file is mounted alone, not with the folder around it."""
    text = str(item)
    return Path(text) if text.startswith("/") and Path(text).exists() else None


def controller_paths(env: Mapping[str, str]) -> list[str]:
    """The paths among the settings in `env` that name the controller's files and folders."""
    found: list[str] = []
    for key, value in env.items():
        if key == "ANSIBLE_LOG_PATH":
            found.append(str(Path(value).parent))  # the log may not exist yet: Ansible creates it there
        elif key.startswith("ANSIBLE_") and (key.endswith("_FILE") or key in CONTROLLER_PATHS):
            found += [part for part in value.split(os.pathsep) if part]
    return found


def container(
    info: ImageInfo,
    project: Path,
    files: Iterable[str | Path],
    env: Mapping[str, str],
    runner_mounts: Iterable[str | Path] = (),
) -> Container:
    """The container for a run of `project`: every file the run names (vault password files, extra-vars files)
    and every controller path among the ANSIBLE_* settings passed in (the fact cache, ansible.cfg, ...), with the
    state dir (the lab's keys), each mounted at its own path; never a system folder (a setting naming /usr/bin/...
    would hide the image's own). ansible-runner mounts the project (the working directory) and the folders of
    the playbook, the inventory and the vault password files itself: those are not mounted twice (podman refuses
    two mounts on one path). The run uses the host's network, as the operator's ansible-playbook would, and the
    invoking user's UID (rootless podman: --userns=keep-id), so what it writes (generated secrets, the CA, the
    fact cache) belongs to the operator."""
    by_runner = [project, *(f for f in map(_folder, runner_mounts) if f)]
    named = [p for p in map(_existing, [*files, *controller_paths(env)]) if p]
    everything = _outermost([*by_runner, state_dir(), *named])
    mounted_by_runner = {p.resolve() for p in by_runner}
    mounts = tuple(f"{p}:{p}" for p in everything if p not in mounted_by_runner)
    shown = tuple(f"{p}:{p}" for p in everything)
    # ansible-runner mounts ~/.ssh itself (at /root/.ssh and /home/runner/.ssh) and passes SSH_AUTH_SOCK.
    if os.getuid() == 0:
        # ssh reads keys and known_hosts from the home its passwd entry names: root's is /root.
        return Container(info, mounts, ("--network=host", "--user=0:0"), {"HOME": "/root"}, shown)
    return Container(info, mounts, ("--network=host", "--userns=keep-id"), {}, shown)


# --- the lock -----------------------------------------------------------------------------------------

LOCK_HEADER = """\
# Pinned: everything the execution environment installs from PyPI (from requirements.in, resolved on Python 3.13).
# The build installs exactly these (pip --no-deps, then pip check). Refresh: alur ee lock.
"""


def lock(log: bool = True) -> Path:
    """Resolve requirements.in inside the base image (its Python 3.13) and write requirements.lock."""
    source = source_dir()
    base = images.ensure_image(BASE_RELEASE, log=log)
    inputs = build_inputs()
    script = (
        "set -eu; apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; "
        "python3 -m venv /tmp/v; PIP_CONFIG_FILE=/run/secrets/pip.conf /tmp/v/bin/pip install -q --only-binary=:all: "
        "-r /in/requirements.in; /tmp/v/bin/pip freeze --exclude pip"
    )
    with tempfile.TemporaryDirectory(dir=state_dir(), prefix="ee-lock-") as tmp:
        pip_conf = Path(tmp) / "pip.conf"
        pip_conf.write_text(inputs.pip_conf())
        mounts = ["-v", f"{source / 'requirements.in'}:/in/requirements.in:ro"]
        mounts += ["-v", f"{pip_conf}:/run/secrets/pip.conf:ro"]
        if inputs.ca_bundle:
            mounts += ["-v", f"{inputs.ca_bundle}:{SECRET_CA}:ro"]
        proc = podman.run("run", "--rm", "--network=host", *mounts, base, "sh", "-c", script, check=False)
    if proc.returncode != 0:
        raise ContainerError(f"resolving {source / 'requirements.in'} failed: {proc.stderr.strip()[-500:]}")
    pins = sorted((line for line in proc.stdout.splitlines() if "==" in line), key=str.lower)
    path = source / "requirements.lock"
    path.write_text(LOCK_HEADER + "\n".join(pins) + "\n")
    if log:
        print(f"{path}: {len(pins)} packages pinned")
    return path
