"""The Jenkins plugin set: plugins.lock checked against what each plugin requires (plugins.deps.yml).

plugins.deps.yml holds, per plugin, the minimum core and the required and optional plugin dependencies read
from the plugin's pom at its release (sources in the file). The checks here are the ones Jenkins makes when
it loads a plugin: every required dependency present at the required version or newer, and a core at least
the plugin's Jenkins-Version. Versions are ordered as Jenkins orders them (hudson.util.VersionNumber).
"""

from __future__ import annotations

import re
import zipfile
from functools import cmp_to_key
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.alur.site.plugins.module_utils import lockfile as plugin_lockfile

ROOT = Path(__file__).resolve().parents[2]
LOCKFILE = ROOT / "roles" / "jenkins" / "files" / "plugins.lock"
REQUIREMENTS = ROOT / "roles" / "jenkins" / "files" / "plugins.deps.yml"
CASC_TEMPLATE = ROOT / "roles" / "jenkins" / "templates" / "etc" / "jenkins" / "casc.d" / "alur.yaml.j2"

# Plugins the war stopped bundling with LTS 2.580.1 (docs/vendor-facts.md, "Jenkins"): a set that needs one
# of them must list it, since nothing else brings it.
DETACHED_SINCE_2580_1 = ("bouncycastle-api", "instance-identity", "mailer", "matrix-auth")
# Plugins Alur's own configuration needs, by the JCasC key that needs them.
CONFIGURATION_NEEDS = {"globalMatrix": "matrix-auth"}


# --- Jenkins' version order -------------------------------------------------------------------------------
# A port of the ordering of hudson.util.VersionNumber (jenkinsci/jenkins, core/src/main/java/hudson/util/
# VersionNumber.java), the Maven ComparableVersion variant Jenkins uses to compare plugin and core versions.
# A version is a list of items: integers, qualifier strings, and sub-lists opened by "-" between digits
# ("1.72.0-126.vd3dc87d22d6e" is [1, 72, [126, "v", 3, "dc", 87, "d", 22, "d", 6, "e"]]). Trailing null
# items (0, "", "ga", empty list) are dropped, so 1.0 == 1.

_QUALIFIERS = ("snapshot", "alpha", "beta", "milestone", "rc", "", "sp")
_ALIASES = {"ga": "", "final": "", "cr": "rc", "ea": "rc"}
_SHORT = {"a": "alpha", "b": "beta", "m": "milestone"}


class _Text(str):
    """A qualifier item; its order is the known qualifiers' order, then the others lexically after them."""

    def rank(self) -> str:
        return str(_QUALIFIERS.index(self)) if self in _QUALIFIERS else f"{len(_QUALIFIERS)}-{self}"


_RELEASE_RANK = _Text("").rank()
Item = int | _Text | list[Any]


def _text(value: str, followed_by_digit: bool) -> _Text:
    if followed_by_digit and value in _SHORT:
        value = _SHORT[value]
    return _Text(_ALIASES.get(value, value))


def _is_null(item: Item) -> bool:
    if isinstance(item, _Text):
        return item.rank() == _RELEASE_RANK
    if isinstance(item, list):
        return not item
    return item == 0


def _trim(items: list[Any]) -> None:
    while items and _is_null(items[-1]):
        items.pop()


def parse_version(version: str) -> list[Any]:
    text = version.lower()
    top: list[Any] = []
    current = top
    opened = [top]
    start, digits = 0, False

    def token(end: int, as_digits: bool) -> Item:
        chunk = text[start:end]
        return int(chunk) if as_digits else _text(chunk, False)

    for i, char in enumerate(text):
        if char in ".-":
            current.append(0 if i == start else token(i, digits))
            start = i + 1
            if char == "-" and digits:
                _trim(current)
                if i + 1 < len(text) and text[i + 1].isdigit():
                    sub: list[Any] = []
                    current.append(sub)
                    current = sub
                    opened.append(sub)
        elif char.isdigit():
            if not digits and i > start:
                current.append(_text(text[start:i], True))
                start = i
            digits = True
        else:
            if digits and i > start:
                current.append(int(text[start:i]))
                start = i
            digits = False
    if len(text) > start:
        current.append(token(len(text), digits))
    for items in reversed(opened):
        _trim(items)
    return top


def _compare_items(left: Item | None, right: Item | None) -> int:
    """<0, 0, >0 as left sorts before, with, after right; None is a missing item."""
    if left is None:
        return -_compare_items(right, None) if right is not None else 0
    if isinstance(left, int):
        if right is None:
            return 0 if left == 0 else 1
        if isinstance(right, int):
            return (left > right) - (left < right)
        return 1  # 1.1 > 1-sp and 1.1 > 1-1
    if isinstance(left, _Text):
        if right is None:
            return (left.rank() > _RELEASE_RANK) - (left.rank() < _RELEASE_RANK)
        if isinstance(right, _Text):
            return (left.rank() > right.rank()) - (left.rank() < right.rank())
        return -1  # a qualifier sorts before a number and before a sub-list
    if right is None:
        return _compare_items(left[0], None) if left else 0
    if isinstance(right, int):
        return -1  # 1-1 < 1.0.x
    if isinstance(right, _Text):
        return 1  # 1-1 > 1-sp
    for index in range(max(len(left), len(right))):
        a = left[index] if index < len(left) else None
        b = right[index] if index < len(right) else None
        result = _compare_items(a, b)
        if result:
            return result
    return 0


def compare_versions(left: str, right: str) -> int:
    return _compare_items(parse_version(left), parse_version(right))


def at_least(version: str, minimum: str) -> bool:
    return compare_versions(version, minimum) >= 0


# --- the plugin set ----------------------------------------------------------------------------------------


def read_lockfile(path: Path) -> dict[str, str]:
    """The lockfile as the role and alur.bundle read it (alur.site's parser)."""
    return plugin_lockfile.pins(path.read_text(), str(path))


def read_requirements(path: Path) -> dict[str, dict[str, Any]]:
    plugins: dict[str, dict[str, Any]] = yaml.safe_load(path.read_text())["plugins"]
    return plugins


def pinned_core() -> str:
    from alur.inventory import Inventory

    return str(Inventory(None, ROOT).artifacts_settings()["artifacts_jenkins_version"])


def configuration_needs() -> set[str]:
    casc = CASC_TEMPLATE.read_text()
    return {plugin for key, plugin in CONFIGURATION_NEEDS.items() if re.search(rf"^\s*{key}:", casc, re.MULTILINE)}


def plugin_set_problems(
    pins: dict[str, str],
    requirements: dict[str, dict[str, Any]],
    core: str,
    needed: frozenset[str] | set[str] = frozenset(),
) -> list[str]:
    """Why Jenkins `core` would not load every plugin of `pins`, given what each requires; [] when it would.

    `needed` names plugins the set must hold whatever the dependencies say (detached plugins the
    configuration uses).
    """
    problems = []
    for plugin in sorted(pins.keys() - requirements.keys()):
        problems.append(f"{plugin}: pinned but its requirements are not recorded")
    for plugin in sorted(requirements.keys() - pins.keys()):
        problems.append(f"{plugin}: requirements recorded but not pinned")
    for plugin, data in requirements.items():
        version = pins.get(plugin)
        if version is None:
            continue
        if str(data["version"]) != version:
            problems.append(f"{plugin}: pinned at {version}, requirements recorded for {data['version']}")
        if not at_least(core, str(data["jenkins_version"])):
            problems.append(f"{plugin} {version} needs Jenkins {data['jenkins_version']}, pinned core is {core}")
        for dependency, minimum in (data.get("dependencies") or {}).items():
            have = pins.get(dependency)
            if have is None:
                problems.append(f"{plugin} {version} needs {dependency} {minimum}, which is not pinned")
            elif not at_least(have, str(minimum)):
                problems.append(f"{plugin} {version} needs {dependency} {minimum} or newer, {have} is pinned")
    for plugin in sorted(set(needed) - pins.keys()):
        problems.append(f"{plugin}: needed (detached from the war since 2.580.1) but not pinned")
    return problems


def detached_needed(requirements: dict[str, dict[str, Any]], configuration: set[str]) -> set[str]:
    required = {dep for data in requirements.values() for dep in (data.get("dependencies") or {})}
    return set(DETACHED_SINCE_2580_1) & (required | configuration)


# --- tests ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("2.580", "2.580.1"),
        ("2.580.1", "2.580.2"),
        ("2.577", "2.580.2"),
        ("2.0", "2.0.0.99"),  # Jenkins' own examples: 2.0.1 > 2.0.0.99 > 2.0.0 (== 2.0)
        ("2.0.0.99", "2.0.1"),
        ("2.5.1", "2.6.1"),
        ("3.2.8", "3.3"),
        ("1932.v75cb_b_f1b_698d", "1933.v0ba_d4b_0c9f3c"),
        ("1412.v7737b_3405f86", "1429.v0810f1b_530f5"),
        ("1402.v94c9ce464861", "1402.1405.vc96e74964250"),  # a backport release sorts after its base
        ("1.72.0-126.vd3dc87d22d6e", "1.72.1-1.v0aa_b_b_5d9c1ff"),
        ("2.30.1.83-289.v8426fcd19371", "2.30.1.84-291.v9f17b_21896e2"),
        ("2.30.1.84-291.v9f17b_21896e2", "2.30.1.85.2-304.v4b_5b_62e59a_a_7"),
        ("20251224-185.v0cc18490c62c", "20260814-226.v20f9685d642c"),
        ("2.1.3-2", "2.1.5-1"),
        ("2.1229.ve86b_d02b_5e56", "2.1280.v0d4e5b_b_460ef"),
        ("1.0-SNAPSHOT", "1.0"),
        ("1.0-rc1", "1.0"),
    ],
)
def test_versions_are_ordered_as_jenkins_orders_them(older: str, newer: str) -> None:
    assert compare_versions(older, newer) < 0
    assert compare_versions(newer, older) > 0
    assert sorted([newer, older], key=cmp_to_key(compare_versions)) == [older, newer]


@pytest.mark.parametrize(("left", "right"), [("1.0", "1"), ("2.580.0", "2.580"), ("3.3", "3.3"), ("1-ga", "1")])
def test_equal_versions_compare_equal(left: str, right: str) -> None:
    assert compare_versions(left, right) == 0


def test_the_lockfile_and_the_requirements_name_the_same_plugins_and_versions() -> None:
    pins = read_lockfile(LOCKFILE)
    requirements = read_requirements(REQUIREMENTS)
    assert pins == {plugin: str(data["version"]) for plugin, data in requirements.items()}


def test_the_pinned_core_loads_every_plugin_of_the_lockfile() -> None:
    requirements = read_requirements(REQUIREMENTS)
    needed = detached_needed(requirements, configuration_needs())
    assert plugin_set_problems(read_lockfile(LOCKFILE), requirements, pinned_core(), needed) == []


def test_the_detached_plugins_the_set_needs_are_pinned() -> None:
    requirements = read_requirements(REQUIREMENTS)
    needed = detached_needed(requirements, configuration_needs())
    # Required by credentials, ssh-credentials and instance-identity; by mailer; by the JCasC globalMatrix.
    assert {"bouncycastle-api", "instance-identity", "matrix-auth"} <= needed
    assert needed <= read_lockfile(LOCKFILE).keys()


def test_every_source_names_a_repository_and_the_release_read() -> None:
    for plugin, data in read_requirements(REQUIREMENTS).items():
        source = data["source"]
        assert source["repository"].startswith("jenkinsci/"), plugin
        assert re.fullmatch(r"[0-9a-f]{40}", source["commit"]), plugin
        assert data["read_at"] == source["ref"] or source["ref"].endswith(str(data["read_at"])), plugin


def _break(requirements: dict[str, dict[str, Any]], plugin: str, change: dict[str, Any]) -> dict[str, dict[str, Any]]:
    broken = {
        name: {**data, "dependencies": dict(data.get("dependencies") or {})} for name, data in requirements.items()
    }
    for key, value in change.items():
        if key == "dependencies":
            broken[plugin]["dependencies"].update(value)
        else:
            broken[plugin][key] = value
    return broken


@pytest.mark.parametrize(
    ("plugin", "change", "expected"),
    [
        (
            "workflow-cps",
            {"dependencies": {"workflow-support": "1016.v0000000000000"}},
            "workflow-cps 4370.v49a_6937566b_6 needs workflow-support 1016.v0000000000000 or newer, "
            "1015.v785e5a_b_b_8b_22 is pinned",
        ),
        (
            "mailer",
            {"dependencies": {"jakarta-mail-api": "2.1.5-2"}},
            "needs jakarta-mail-api 2.1.5-2 or newer, 2.1.5-1 is pinned",
        ),
        ("credentials", {"dependencies": {"not-pinned-api": "1.0"}}, "needs not-pinned-api 1.0, which is not pinned"),
        ("configuration-as-code", {"jenkins_version": "2.580.3"}, "needs Jenkins 2.580.3, pinned core is 2.580.2"),
        ("structs", {"version": "363.v0000000000"}, "structs: pinned at 362.va_b_695ef4fdf9, requirements recorded"),
    ],
)
def test_the_check_refuses_a_broken_set(plugin: str, change: dict[str, Any], expected: str) -> None:
    requirements = read_requirements(REQUIREMENTS)
    problems = plugin_set_problems(read_lockfile(LOCKFILE), _break(requirements, plugin, change), "2.580.2")
    assert any(expected in problem for problem in problems), problems


def test_the_check_refuses_a_set_without_a_detached_plugin_it_needs(tmp_path: Path) -> None:
    lockfile = tmp_path / "plugins.lock"
    lockfile.write_text(re.sub(r"(?m)^matrix-auth:.*\n", "", LOCKFILE.read_text()))
    requirements = read_requirements(REQUIREMENTS)
    requirements.pop("matrix-auth")
    problems = plugin_set_problems(read_lockfile(lockfile), requirements, "2.580.2", {"matrix-auth"})
    assert problems == ["matrix-auth: needed (detached from the war since 2.580.1) but not pinned"]


def _manifest_attributes(raw: bytes) -> dict[str, str]:
    """The main section of a MANIFEST.MF: lines end in CRLF, at most 72 bytes, a leading space continues one."""
    lines = raw.decode().split("\r\n")
    assert all(len(line.encode()) <= 72 for line in lines), lines
    joined: list[str] = []
    for line in lines:
        if line.startswith(" "):
            joined[-1] += line[1:]
        elif line:
            joined.append(line)
        else:
            break
    return dict(line.split(": ", 1) for line in joined)


def test_the_standin_plugin_files_carry_the_real_requirements(tmp_path: Path) -> None:
    import build  # tests/standins/build.py, on pyproject's pytest pythonpath

    requirements = read_requirements(REQUIREMENTS)
    for plugin_file in build.standin_plugins(tmp_path):
        with zipfile.ZipFile(plugin_file.path) as archive:
            attributes = _manifest_attributes(archive.read("META-INF/MANIFEST.MF"))
        data = requirements[plugin_file.id]
        assert attributes["Short-Name"] == plugin_file.id
        assert attributes["Plugin-Version"] == plugin_file.version == data["version"]
        assert attributes["Jenkins-Version"] == data["jenkins_version"]
        expected = [f"{dep}:{version}" for dep, version in (data.get("dependencies") or {}).items()]
        expected += [f"{d}:{v};resolution:=optional" for d, v in (data.get("optional_dependencies") or {}).items()]
        assert attributes.get("Plugin-Dependencies", "").split(",") == (expected or [""])
