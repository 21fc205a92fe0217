"""alur.ee without podman: which image a run uses, what the build takes from this machine, when the image is
rebuilt, what a run inside it mounts, and the command that repeats it by hand."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from ee_images import image_info

from alur import __version__, ee
from alur.errors import AlurError

ROOT = Path(__file__).resolve().parents[2]

# --- which image --------------------------------------------------------------------------------------


@pytest.fixture
def no_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ee.SWITCH, raising=False)


def test_the_default_image_is_tagged_with_alurs_version() -> None:
    assert ee.default_image() == f"localhost/alur-ee:{__version__}"


@pytest.mark.usefixtures("no_switch")
def test_without_the_option_or_the_switch_the_run_stays_on_this_host() -> None:
    assert ee.choice(None) is None


@pytest.mark.parametrize("value", ["", "0", "off", "OFF", "no", "false", "  "])
def test_a_switch_that_says_no_keeps_the_run_on_this_host(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(ee.SWITCH, value)
    assert ee.choice(None) is None


@pytest.mark.usefixtures("no_switch")
def test_the_option_alone_means_alurs_own_image_and_a_named_image_wins() -> None:
    assert ee.choice("") == ee.default_image()
    assert ee.choice("quay.io/someone/ee:1") == "quay.io/someone/ee:1"


@pytest.mark.parametrize(("value", "image"), [("1", None), ("yes", None), ("On", None), ("some/image", "some/image")])
def test_the_switch_names_an_image_or_asks_for_the_default(
    monkeypatch: pytest.MonkeyPatch, value: str, image: str | None
) -> None:
    monkeypatch.setenv(ee.SWITCH, value)
    assert ee.choice(None) == (image or ee.default_image())


def test_the_option_beats_the_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ee.SWITCH, "from/environment")
    assert ee.choice("from/option") == "from/option"
    assert ee.choice("") == ee.default_image()


# --- what the build takes from this machine -----------------------------------------------------------

BUILD_ENV = (
    "ALUR_EE_CA_BUNDLE",
    "ALUR_EE_PIP_INDEX_URL",
    "ALUR_EE_PIP_EXTRA_INDEX_URL",
    "PIP_CERT",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
)


@pytest.fixture
def host_pip(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """This machine's pip settings as the build sees them, with none of the real environment or pip.conf."""
    for name in BUILD_ENV:
        monkeypatch.delenv(name, raising=False)
    settings: dict[str, list[str]] = {}
    monkeypatch.setattr(ee, "_host_pip_setting", lambda name: list(settings.get(name, [])))
    return settings


def bundle(path: Path, text: str = "-----BEGIN CERTIFICATE-----\n") -> Path:
    path.write_text(text)
    return path


def test_pip_conf_names_the_indexes_and_the_secret_bundle() -> None:
    inputs = ee.BuildInputs(
        ca_bundle=Path("/somewhere/ca.pem"),
        index_url="https://mirror.example/simple",
        extra_index_urls=("https://a.example/simple", "http://b.example/simple"),
    )
    assert inputs.pip_conf() == (
        "[global]\n"
        "index-url = https://mirror.example/simple\n"
        "extra-index-url = https://a.example/simple http://b.example/simple\n"
        "cert = /run/secrets/ca-bundle\n"
    )


def test_pip_conf_without_a_bundle_names_no_cert() -> None:
    assert ee.BuildInputs(ca_bundle=None, index_url=None).pip_conf() == "[global]\n"
    conf = ee.BuildInputs(ca_bundle=None, index_url="https://m.example/simple").pip_conf()
    assert "cert" not in conf and "index-url = https://m.example/simple" in conf


def test_the_ca_bundle_comes_from_alurs_setting_first_then_pips_then_the_tls_libraries(
    host_pip: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mine, pips, conf, requests, ssl = (bundle(tmp_path / f"{n}.pem") for n in ("mine", "pip", "conf", "req", "ssl"))
    monkeypatch.setenv("ALUR_EE_CA_BUNDLE", str(mine))
    monkeypatch.setenv("PIP_CERT", str(pips))
    host_pip["cert"] = [str(conf)]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(requests))
    monkeypatch.setenv("SSL_CERT_FILE", str(ssl))
    assert ee.build_inputs().ca_bundle == mine
    # A setting that names no file is passed over.
    monkeypatch.setenv("ALUR_EE_CA_BUNDLE", str(tmp_path / "missing.pem"))
    assert ee.build_inputs().ca_bundle == pips
    monkeypatch.delenv("PIP_CERT")
    assert ee.build_inputs().ca_bundle == conf
    host_pip["cert"] = []
    assert ee.build_inputs().ca_bundle == requests
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    assert ee.build_inputs().ca_bundle == ssl
    monkeypatch.delenv("SSL_CERT_FILE")
    system = Path("/etc/ssl/certs/ca-certificates.crt")
    assert ee.build_inputs().ca_bundle == (system if system.is_file() else None)


def test_a_bundle_puts_the_cert_line_in_pip_conf(host_pip: dict[str, list[str]], tmp_path: Path) -> None:
    host_pip["cert"] = [str(bundle(tmp_path / "ca.pem"))]
    inputs = ee.build_inputs(trust_ca=True)
    assert inputs.ca_bundle == tmp_path / "ca.pem" and inputs.trust_ca
    assert "cert = /run/secrets/ca-bundle\n" in inputs.pip_conf()
    assert str(tmp_path) not in inputs.pip_conf()


def test_indexes_a_container_cannot_reach_are_dropped(host_pip: dict[str, list[str]]) -> None:
    host_pip["index-url"] = ["file:///opt/wheels"]
    host_pip["extra-index-url"] = ["file:///srv/more", "https://a.example/simple", "http://b.example/simple"]
    inputs = ee.build_inputs()
    assert inputs.index_url is None
    assert inputs.extra_index_urls == ("https://a.example/simple", "http://b.example/simple")
    assert "file://" not in inputs.pip_conf()
    host_pip["index-url"] = ["https://mirror.example/simple"]
    assert ee.build_inputs().index_url == "https://mirror.example/simple"


def test_alurs_own_index_settings_override_pips(
    host_pip: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    host_pip["index-url"] = ["https://mirror.example/simple"]
    host_pip["extra-index-url"] = ["https://a.example/simple"]
    monkeypatch.setenv("ALUR_EE_PIP_INDEX_URL", "https://build.example/simple")
    monkeypatch.setenv("ALUR_EE_PIP_EXTRA_INDEX_URL", "https://c.example/simple file:///local")
    inputs = ee.build_inputs()
    assert inputs.index_url == "https://build.example/simple"
    assert inputs.extra_index_urls == ("https://c.example/simple",)


def test_pips_own_settings_come_from_its_environment_before_its_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The user's pip.conf is read after /etc's, so its values win over whatever this machine has there.
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    conf = tmp_path / ".config" / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(
        "[global]\nindex-url = https://global.example/simple\n[install]\nindex-url = https://install.example/simple\n"
    )
    assert ee._host_pip_setting("index-url") == ["https://install.example/simple"]
    monkeypatch.setenv("PIP_INDEX_URL", "https://env.example/simple")
    assert ee._host_pip_setting("index-url") == ["https://env.example/simple"]
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://x.example/simple https://y.example/simple")
    assert ee._host_pip_setting("extra-index-url") == ["https://x.example/simple", "https://y.example/simple"]


# --- when the image is rebuilt ------------------------------------------------------------------------


@pytest.fixture
def source(tmp_path: Path) -> Path:
    copy = tmp_path / "execution-environment"
    copy.mkdir()
    for name in ee.BUILD_FILES:
        shutil.copy2(ROOT / ee.SOURCE_DIR / name, copy / name)
    return copy


def test_the_recipe_changes_with_every_build_file(source: Path) -> None:
    plain = ee.BuildInputs(ca_bundle=None, index_url=None)
    first = ee.recipe_hash(source, "base-1", plain)
    assert len(first) == 16 and first == ee.recipe_hash(source, "base-1", plain)
    for name in ee.BUILD_FILES:
        original = (source / name).read_bytes()
        (source / name).write_bytes(b"#" + original)
        assert ee.recipe_hash(source, "base-1", plain) != first, name
        (source / name).write_bytes(original)
        assert ee.recipe_hash(source, "base-1", plain) == first, name


def test_the_recipe_changes_with_the_base_image(source: Path) -> None:
    plain = ee.BuildInputs(ca_bundle=None, index_url=None)
    assert ee.recipe_hash(source, "base-1", plain) != ee.recipe_hash(source, "base-2", plain)


def test_a_kept_bundle_is_part_of_the_recipe_and_a_secret_one_is_not(source: Path, tmp_path: Path) -> None:
    ca = bundle(tmp_path / "ca.pem", "first\n")
    plain = ee.recipe_hash(source, "base-1", ee.BuildInputs(ca_bundle=None, index_url=None))
    # Only a secret for the pip step: the image is the same whatever the bundle or the index.
    secret = ee.BuildInputs(ca_bundle=ca, index_url="https://mirror.example/simple")
    assert ee.recipe_hash(source, "base-1", secret) == plain
    kept = ee.BuildInputs(ca_bundle=ca, index_url=None, trust_ca=True)
    with_first = ee.recipe_hash(source, "base-1", kept)
    assert with_first != plain
    ca.write_text("second\n")
    assert ee.recipe_hash(source, "base-1", kept) not in {plain, with_first}
    assert ee.recipe_hash(source, "base-1", secret) == plain


def test_a_missing_build_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: Path) -> None:
    project = tmp_path
    (project / "site.yml").write_text("---\n[]\n")
    (project / "roles").mkdir()
    monkeypatch.setenv("ALUR_PROJECT_DIR", str(project))
    assert ee.source_dir() == source
    (source / "entrypoint.sh").unlink()
    with pytest.raises(AlurError, match=r"execution-environment: missing entrypoint\.sh$"):
        ee.source_dir()


# --- what is inside -----------------------------------------------------------------------------------

INFO = image_info()


def test_image_info_describes_itself_and_reads_its_release() -> None:
    assert INFO.describe() == "some/image (ansible-core 2.21.5, Python 3.13.5)"
    assert INFO.core_tuple == (2, 21)
    assert ee.ImageInfo("i", "x", "2.22.0rc1", "3.13.5").core_tuple == (2, 22)


def test_inspect_asks_the_image_once_per_image_id(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALUR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(ee, "_image_id", lambda ref: INFO.image_id if ref in {"some/image", "other/name"} else None)
    probes: list[tuple[str, ...]] = []
    found = {k: v for k, v in INFO.__dict__.items() if k not in {"image", "image_id"}}

    def podman_run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        probes.append(args)
        return subprocess.CompletedProcess(args, 0, "some warning\n" + json.dumps(found) + "\n", "")

    monkeypatch.setattr(ee.podman, "run", podman_run)
    assert ee.inspect("some/image") == INFO
    [probe] = probes
    assert probe[:4] == ("run", "--rm", "--network=none", "some/image") and probe[4:6] == ("python3", "-c")
    assert (tmp_path / "state" / "ee" / f"{INFO.image_id[:24]}.json").is_file()
    assert ee.inspect("some/image") == INFO
    assert len(probes) == 1
    # The same image by another of its names: the cached answer, under the name the run will start.
    assert ee.inspect("other/name").image == "other/name"
    assert len(probes) == 1


def test_inspect_of_a_missing_image_says_how_to_build_alurs_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ALUR_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(ee, "_image_id", lambda ref: None)
    with pytest.raises(AlurError, match=r"^execution environment other/image not found$"):
        ee.inspect("other/image")
    with pytest.raises(AlurError, match=r"not found \(make ee builds it\)$"):
        ee.inspect(ee.default_image())


# --- a run inside it ----------------------------------------------------------------------------------


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A project, an inventory and a vault password beside it, an extra-vars file and a log folder elsewhere."""
    places = {name: tmp_path / name for name in ("project", "inventory", "secrets", "vars", "logs", "state")}
    for path in places.values():
        path.mkdir()
    (places["project"] / "group_vars").mkdir()
    (places["inventory"] / "hosts.yml").write_text("---\n")
    (places["secrets"] / "pw").write_text("x\n")
    (places["vars"] / "site.yml").write_text("---\n")
    monkeypatch.setenv("ALUR_STATE_DIR", str(places["state"]))
    return {name: path.resolve() for name, path in places.items()}


def box_for(layout: dict[str, Path]) -> ee.Container:
    project, state = layout["project"], layout["state"]
    return ee.container(
        INFO,
        project,
        files=[
            layout["inventory"],
            layout["secrets"] / "pw",
            layout["vars"] / "site.yml",
            project / "group_vars" / "all.yml",  # inside the project: mounted with it
            state / "lab" / "id_ed25519",  # inside the state dir
            "relative/vars.yml",
        ],
        env={
            "ANSIBLE_LOG_PATH": str(layout["logs"] / "ansible.log"),  # not written yet: its folder is mounted
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(project / ".alur" / "facts" / "inv-0123"),
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_ROLES_PATH": "roles",
        },
        runner_mounts=[layout["inventory"], layout["secrets"] / "pw"],
    )


def mounted(entries: tuple[str, ...]) -> list[Path]:
    paths = []
    for entry in entries:
        host, inside = entry.split(":")
        assert host == inside, entry  # each at its own path
        paths.append(Path(host))
    assert len(paths) == len(set(paths)), entries
    return paths


def test_every_folder_the_run_names_is_mounted_once_at_its_own_path(layout: dict[str, Path]) -> None:
    box = box_for(layout)
    # runner mounts the project, the inventory and the vault password file's folder itself: podman refuses a
    # second mount on the same path. A named file is mounted alone, a log's folder whole (Ansible creates the log).
    named = layout["vars"] / "site.yml"
    assert sorted(mounted(box.mounts)) == sorted([layout["state"], named, layout["logs"]])
    # The command that repeats the run by hand has no runner to add them.
    shown = [p for k, p in layout.items() if k != "vars"] + [named]
    assert sorted(mounted(box.shown_mounts)) == sorted(shown)
    assert box.info is INFO


def test_a_folder_inside_a_mounted_one_is_not_mounted_again(layout: dict[str, Path]) -> None:
    inner = layout["vars"] / "deeper"
    inner.mkdir()
    for name in ("x.yml",):
        (inner / name).write_text("{}\n")
    box = ee.container(
        INFO, layout["project"], [inner / "x.yml", layout["vars"] / "site.yml", layout["project"] / "a"], {}
    )
    named = [inner / "x.yml", layout["vars"] / "site.yml"]
    assert sorted(mounted(box.mounts)) == sorted([layout["state"], *named])
    assert sorted(mounted(box.shown_mounts)) == sorted([layout["project"], layout["state"], *named])


def test_settings_that_name_a_host_or_image_path_and_system_folders_are_never_mounted(
    layout: dict[str, Path],
) -> None:
    # A host's interpreter or temp folder is no file of the controller; a system folder would hide the image's.
    env = {
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
        "ANSIBLE_BECOME_EXE": "/usr/bin/sudo",
        "ANSIBLE_REMOTE_TEMP": "/var/tmp",
        "ANSIBLE_VAULT_PASSWORD_FILE": "/etc/hostname",
        "ANSIBLE_LOG_PATH": "/tmp/ansible.log",
        "ANSIBLE_ROLES_PATH": f"{layout['vars']}:/usr/share/ansible/roles",
    }
    box = ee.container(INFO, layout["project"], [], env)
    assert sorted(mounted(box.mounts)) == sorted([layout["state"], layout["vars"]])


def test_the_root_home_and_usr_folders_are_never_mounted(layout: dict[str, Path]) -> None:
    # A file named at the top of them would put the host's whole / (or /home, /usr) over the image's.
    box = ee.container(INFO, layout["project"], ["/site.yml", "/home/no-such-user", "/usr/no-such-file"], {})
    assert sorted(mounted(box.shown_mounts)) == sorted([layout["project"], layout["state"]])


def test_as_root_the_run_is_root_with_roots_home(layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ee.os, "getuid", lambda: 0)
    box = box_for(layout)
    assert box.options == ("--network=host", "--user=0:0")
    assert box.env == {"HOME": "/root"}


def test_as_a_user_the_run_keeps_the_users_id(layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ee.os, "getuid", lambda: 1000)
    box = box_for(layout)
    assert box.options == ("--network=host", "--userns=keep-id")
    assert box.env == {}


def test_by_hand_is_a_podman_run_with_every_mount_and_variable_and_the_image_last() -> None:
    box = ee.Container(
        INFO,
        mounts=("/state:/state",),
        options=("--network=host", "--user=0:0"),
        env={"HOME": "/root"},
        shown_mounts=("/project:/project", "/state:/state"),
    )
    assert box.by_hand("/project", {"ANSIBLE_STRATEGY": "mitogen_linear"}) == [
        "podman", "run", "--rm", "-it", "--network=host", "--user=0:0", "--workdir", "/project",
        "-v", "/project:/project", "-v", "/state:/state",
        "-e", "HOME=/root", "-e", "ANSIBLE_STRATEGY=mitogen_linear",
        "some/image",
    ]  # fmt: skip
    # Without the shown mounts (a Container made by hand), the ones it has.
    bare = ee.Container(INFO, mounts=("/state:/state",))
    bare_command = ["podman", "run", "--rm", "-it", "--workdir", "/p", "-v", "/state:/state", "some/image"]
    assert bare.by_hand("/p", {}) == bare_command


def test_by_hand_of_a_real_container_mounts_what_the_run_sees(layout: dict[str, Path]) -> None:
    box = box_for(layout)
    command = box.by_hand(str(layout["project"]), {})
    volumes = [command[i + 1] for i, arg in enumerate(command) if arg == "-v"]
    assert volumes == list(box.shown_mounts)
    assert command[-1] == "some/image" and "--network=host" in command
