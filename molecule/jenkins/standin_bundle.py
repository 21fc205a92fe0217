"""Make this scenario's bundle: the CI stand-in packages plus a stand-in file for every plugin of the lockfile.

    python molecule/jenkins/standin_bundle.py OUT

The stand-in bundle of tests/standins holds no plugins yet; this adds one small archive per lockfile entry
(a zip whose META-INF/MANIFEST.MF names the plugin and version, as a real .jpi does), written with the same
bundle writer `alur bundle create` uses. Not Jenkins plugins: nothing here runs in a JVM.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests" / "standins")]

import build  # noqa: E402 - tests/standins/build.py, on the path above

from alur import bundle  # noqa: E402

LOCKFILE = ROOT / "roles" / "jenkins" / "files" / "plugins.lock"


def standin_plugin(path: Path, plugin: str, version: str) -> None:
    manifest = (
        "Manifest-Version: 1.0\r\n"
        f"Short-Name: {plugin}\r\n"
        f"Plugin-Version: {version}\r\n"
        f"Long-Name: alur CI stand-in for the {plugin} plugin (not a Jenkins plugin)\r\n\r\n"
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in (("META-INF/MANIFEST.MF", manifest), ("README.alur-standin", "CI stand-in.\n")):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            archive.writestr(info, text)


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    source = build.ensure_bundle()
    manifest = json.loads((source / bundle.MANIFEST).read_text())
    jenkins = manifest["products"]["jenkins"]["packages"]
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        plugins = []
        for plugin, version in bundle.read_lockfile(LOCKFILE).items():
            path = Path(tmp) / f"{plugin}.jpi"
            standin_plugin(path, plugin, version)
            plugins.append(bundle.PluginFile(plugin, version, path, source="molecule/jenkins/standin_bundle.py"))
        debs = {"jenkins": [(source / p["file"], p["source"]) for p in jenkins]}
        bundle.write_bundle(out, debs, plugins, standin=True)
    print(bundle.verify(out).path)


if __name__ == "__main__":
    main()
