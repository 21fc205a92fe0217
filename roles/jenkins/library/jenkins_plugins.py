#!/usr/bin/python
"""Make $JENKINS_HOME/plugins hold exactly the plugin files of a lockfile."""

from __future__ import annotations

DOCUMENTATION = r"""
module: jenkins_plugins
short_description: Place Jenkins plugin files from a lockfile, report and correct drift
description:
  - Makes O(plugins_dir) hold exactly one C(<id>.jpi) per entry of O(plugins), at the listed version, as files;
    Jenkins is neither running nor asked (no HTTP API, no CSRF crumbs, no update center at run time).
  - Each entry's file comes from O(plugins[].path) (a file already on the host, e.g. from an alur bundle) or
    is downloaded once from O(plugins[].url) into O(cache_dir). Every file placed is checked to be that plugin
    at that version (its META-INF/MANIFEST.MF), and a given O(plugins[].sha256) must match.
  - Drift is reported in RV(drift) - a listed plugin missing or at another version, a plugin the list does
    not name - and corrected (unlisted ones only with O(remove_unlisted)). Exploded plugin folders of replaced
    or removed plugins are deleted so that Jenkins unpacks the new file on its next start.
  - Supports check mode (reports what it would change).
options:
  plugins_dir:
    description: The plugins folder, $JENKINS_HOME/plugins.
    type: path
    required: true
  plugins:
    description: The plugins to place.
    type: list
    elements: dict
    required: true
    suboptions:
      id: {description: Plugin id (short name)., type: str, required: true}
      version: {description: Plugin version., type: str, required: true}
      path: {description: A file on the host holding this plugin., type: path}
      url: {description: Where to download it when no path is given., type: str}
      sha256: {description: Expected SHA-256 of the file (hex)., type: str}
  cache_dir:
    description: Folder for downloaded files.
    type: path
  remove_unlisted:
    description: Remove plugins the list does not name.
    type: bool
    default: true
  owner: {description: Owner of the placed files., type: str}
  group: {description: Group of the placed files., type: str}
  validate_certs: {description: Check TLS certificates when downloading., type: bool, default: true}
author: Alur
"""

RETURN = r"""
drift:
  description: What differed from the list before this run, one line per plugin.
  returned: always
  type: list
  elements: str
placed:
  description: Plugin ids whose file was (or in check mode would be) written.
  returned: always
  type: list
  elements: str
removed:
  description: Plugin ids removed because the list does not name them.
  returned: always
  type: list
  elements: str
"""

import hashlib
import os
import shutil
import tempfile
import zipfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import fetch_url

EXTENSIONS = (".jpi", ".hpi")
# Files Jenkins keeps beside a plugin archive: disabled/pinned markers.
MARKERS = (".disabled", ".pinned")


def manifest(path):
    """Main attributes of a plugin archive's META-INF/MANIFEST.MF (continuation lines joined)."""
    try:
        with zipfile.ZipFile(path) as archive:
            text = archive.read("META-INF/MANIFEST.MF").decode("utf-8", errors="replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return {}
    attributes, key = {}, None
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if attributes:
                break
            continue
        if line.startswith(" ") and key:
            attributes[key] += line[1:]
        elif ":" in line:
            key, _, value = line.partition(":")
            attributes[key] = value.strip()
    return attributes


def identity(path):
    """(id, version) a plugin archive says it is."""
    attributes = manifest(path)
    return attributes.get("Short-Name"), attributes.get("Plugin-Version")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def installed(plugins_dir):
    """id -> archive path of every plugin archive in the folder."""
    found = {}
    if not os.path.isdir(plugins_dir):
        return found
    for name in sorted(os.listdir(plugins_dir)):
        stem, ext = os.path.splitext(name)
        if ext in EXTENSIONS and os.path.isfile(os.path.join(plugins_dir, name)):
            # A .jpi wins over an .hpi of the same plugin, as in Jenkins.
            if stem not in found or ext == ".jpi":
                found[stem] = os.path.join(plugins_dir, name)
    return found


class Placer:
    def __init__(self, module):
        self.module = module
        self.params = module.params

    def fail(self, msg):
        self.module.fail_json(msg=msg)

    def download(self, plugin):
        cache = self.params["cache_dir"]
        if not cache:
            self.fail(f"{plugin['id']}: a url needs cache_dir")
        target = os.path.join(cache, f"{plugin['id']}-{plugin['version']}.jpi")
        if os.path.isfile(target) and identity(target) == (plugin["id"], plugin["version"]):
            return target
        os.makedirs(cache, mode=0o755, exist_ok=True)
        response, info = fetch_url(self.module, plugin["url"], timeout=120)
        if info.get("status") != 200 or response is None:
            self.fail(f"{plugin['id']}:{plugin['version']}: cannot download {plugin['url']}: {info.get('status')} {info.get('msg')}")
        descriptor, partial = tempfile.mkstemp(dir=cache, prefix=".download-")
        with os.fdopen(descriptor, "wb") as handle:
            shutil.copyfileobj(response, handle)
        os.chmod(partial, 0o644)
        os.replace(partial, target)
        return target

    def source(self, plugin):
        if plugin.get("path"):
            if not os.path.isfile(plugin["path"]):
                self.fail(f"{plugin['id']}:{plugin['version']}: {plugin['path']} does not exist on the host")
            source = plugin["path"]
        elif plugin.get("url"):
            source = self.download(plugin)
        else:
            self.fail(f"{plugin['id']}: give a path or a url")
        found = identity(source)
        if found != (plugin["id"], plugin["version"]):
            self.fail(
                f"{source} is not {plugin['id']}:{plugin['version']} (its manifest says {found[0]}:{found[1]}); "
                "the bundle or the download is not what the lockfile names"
            )
        if plugin.get("sha256") and sha256(source) != plugin["sha256"].lower():
            self.fail(f"{source} does not match the SHA-256 given for {plugin['id']}:{plugin['version']}")
        return source

    def strays(self, plugins_dir, plugin_id):
        """Files beside the wanted <id>.jpi that Jenkins would also read: an .hpi copy, disabled/pinned markers."""
        names = [plugin_id + ".hpi"] + [plugin_id + ext + marker for ext in EXTENSIONS for marker in MARKERS]
        return [os.path.join(plugins_dir, n) for n in names if os.path.lexists(os.path.join(plugins_dir, n))]

    def remove(self, plugins_dir, plugin_id):
        """Delete every file of a plugin: archives, markers and the folder Jenkins unpacked it to."""
        for ext in EXTENSIONS:
            archive = os.path.join(plugins_dir, plugin_id + ext)
            for path in [archive] + [archive + marker for marker in MARKERS]:
                if os.path.lexists(path):
                    os.remove(path)
        exploded = os.path.join(plugins_dir, plugin_id)
        if os.path.isdir(exploded) and not os.path.islink(exploded):
            shutil.rmtree(exploded)

    def place(self, source, target):
        descriptor, partial = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".alur-")
        os.close(descriptor)
        shutil.copyfile(source, partial)
        os.chmod(partial, 0o644)
        if self.params["owner"] or self.params["group"]:
            shutil.chown(partial, self.params["owner"], self.params["group"])
        os.replace(partial, target)

    def run(self):
        plugins_dir = self.params["plugins_dir"]
        check = self.module.check_mode
        wanted = {}
        for plugin in self.params["plugins"]:
            if plugin["id"] in wanted:
                self.fail(f"{plugin['id']} is listed twice")
            wanted[plugin["id"]] = plugin
        present = installed(plugins_dir)
        drift, placed, removed = [], [], []

        for plugin_id, plugin in wanted.items():
            version = plugin["version"]
            target = os.path.join(plugins_dir, plugin_id + ".jpi")
            current = present.get(plugin_id)
            current_version = identity(current)[1] if current else None
            if current is None:
                # On a first install every plugin is missing: that is the install, not drift.
                if present:
                    drift.append(f"{plugin_id}: missing, lockfile {version}")
            elif current_version != version:
                drift.append(f"{plugin_id}: {current_version or 'unreadable'} installed, lockfile {version}")
            elif current != target:
                drift.append(f"{plugin_id}: installed as {os.path.basename(current)} (replaced by {plugin_id}.jpi)")
            needs_file = current != target or current_version != version
            # A bundle gives the very file: same version but other bytes is drift too (a hand-patched plugin).
            if not needs_file and plugin.get("path") and os.path.isfile(plugin["path"]):
                if sha256(current) != sha256(plugin["path"]):
                    drift.append(f"{plugin_id}: {version} installed, but not the file the bundle holds")
                    needs_file = True
            strays = [] if needs_file else self.strays(plugins_dir, plugin_id)
            if strays:
                drift.append(f"{plugin_id}: also {', '.join(os.path.basename(p) for p in strays)} (removed)")
            if needs_file:
                placed.append(plugin_id)
                if not check:
                    source = self.source(plugin)
                    os.makedirs(plugins_dir, mode=0o755, exist_ok=True)
                    self.remove(plugins_dir, plugin_id)
                    self.place(source, target)
            elif strays:
                placed.append(plugin_id)
                if not check:
                    for path in strays:
                        os.remove(path)

        for plugin_id in sorted(set(present) - set(wanted)):
            action = "removed" if self.params["remove_unlisted"] else "left in place"
            drift.append(f"{plugin_id}: not in the lockfile ({action})")
            if self.params["remove_unlisted"]:
                removed.append(plugin_id)
                if not check:
                    self.remove(plugins_dir, plugin_id)

        self.module.exit_json(changed=bool(placed or removed), drift=drift, placed=placed, removed=removed)


def main():
    module = AnsibleModule(
        argument_spec={
            "plugins_dir": {"type": "path", "required": True},
            "plugins": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "id": {"type": "str", "required": True},
                    "version": {"type": "str", "required": True},
                    "path": {"type": "path"},
                    "url": {"type": "str"},
                    "sha256": {"type": "str"},
                },
            },
            "cache_dir": {"type": "path"},
            "remove_unlisted": {"type": "bool", "default": True},
            "owner": {"type": "str"},
            "group": {"type": "str"},
            "validate_certs": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    Placer(module).run()


if __name__ == "__main__":
    main()
