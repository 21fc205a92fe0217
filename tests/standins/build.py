"""Build the CI stand-in packages (dpkg-deb) and the stand-in bundle, in the format `alur bundle create` writes.

    python tests/standins/build.py [--out DIR] [--force]     # default DIR: <project>/.alur/standin-bundle

`ensure_bundle()` is the helper tests and the Molecule scenarios use: it rebuilds only when this builder,
the stand-in program or the pinned versions changed (a fingerprint of those inputs is kept in the manifest).
The packages are named like the vendor's, versioned `<vendor version>+standin`, Architecture all, and depend
only on Debian packages. See README.md beside this file for what they imitate and what they do not.
"""

# ruff: noqa: E501 - unit files and maintainer scripts are written out verbatim, vendor-length lines included
from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Run as a program by the venv's Python (Molecule's prepare uses ansible_playbook_python), where alur is installed.
from alur import bundle
from alur.inventory import Inventory

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

STANDIN = "+standin"
DEPENDS = "python3, python3-yaml, init-system-helpers"
DEFAULT_OUT = ROOT / ".alur" / "standin-bundle"
# The Jenkins plugins the role installs: the bundle holds one stand-in archive per entry.
PLUGINS_LOCK = ROOT / "roles" / "jenkins" / "files" / "plugins.lock"
# Each pinned plugin's minimum core and plugin dependencies, as its real manifest states them.
PLUGIN_REQUIREMENTS = ROOT / "roles" / "jenkins" / "files" / "plugins.deps.yml"


@dataclass
class Package:
    name: str
    version: str
    description: str
    files: dict[str, str] = field(default_factory=dict)  # path -> content
    executables: set[str] = field(default_factory=set)
    conffiles: list[str] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)
    postinst: str = ""
    postrm: str = ""


def _program(product: str, package: str) -> str:
    return f"/usr/share/{package}/alur-standin/service.py"


PROGRAM = HERE / "program"
CONTRACT = HERE / "contract"


def program_inputs() -> list[Path]:
    """The stand-in program's modules and the contract data it loads: every package carries all of them."""
    return sorted(PROGRAM.glob("*.py")) + sorted(CONTRACT.glob("*.yml"))


def program_files(package: str, product_version: str) -> dict[str, str]:
    folder = Path(_program(package, package)).parent
    files = {}
    for path in program_inputs():
        target = folder / "contract" / path.name if path.parent == CONTRACT else folder / path.name
        files[str(target)] = path.read_text().replace("@VERSION@", product_version)
    return files


def _wrapper(package: str, mode: str, preamble: str = "") -> str:
    return f'#!/bin/sh\n# alur CI stand-in wrapper, not the vendor\'s program.\n{preamble}exec /usr/bin/python3 {_program(mode, package)} {mode} "$@"\n'


SYSTEM_USER = """
if ! getent group {user} >/dev/null; then groupadd --system {user}; fi
if ! getent passwd {user} >/dev/null; then
    useradd --system --gid {user} --home-dir {home} --no-create-home --shell {login_shell} --comment "{comment}" {user}
fi
"""

# What debhelper's dh_installsystemd writes for a unit that is enabled and started on install.
ENABLE_AND_START = """
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ]; then
    deb-systemd-helper unmask '{unit}' >/dev/null || true
    if deb-systemd-helper --quiet was-enabled '{unit}'; then
        deb-systemd-helper enable '{unit}' >/dev/null || true
    else
        deb-systemd-helper update-state '{unit}' >/dev/null || true
    fi
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        if [ -n "$2" ]; then _dh_action=restart; else _dh_action=start; fi
        deb-systemd-invoke $_dh_action '{unit}' >/dev/null || true
    fi
fi
"""

RELOAD_ONLY = """
if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || true; fi
"""

POSTRM = """
if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || true; fi
if [ "$1" = "purge" ]; then
    deb-systemd-helper purge '{unit}' >/dev/null || true
fi
"""


def packages(jenkins_version: str, elastic_version: str) -> list[Package]:
    label = (
        "Stand-in for CI, NOT the vendor's package: built by Alur's tests (tests/standins) to exercise packaging paths"
    )
    jenkins = Package(
        "jenkins",
        f"{jenkins_version}{STANDIN}",
        f"alur CI stand-in for Jenkins {jenkins_version}\n {label}.",
        files={
            "/usr/bin/jenkins": _wrapper("jenkins", "jenkins"),
            "/usr/lib/systemd/system/jenkins.service": """\
# alur CI stand-in for the Jenkins unit: same name, user and environment variables as the vendor's.
[Unit]
Description=Jenkins Continuous Integration Server (alur CI stand-in)
Requires=network.target
After=network.target

[Service]
Type=notify
NotifyAccess=main
ExecStart=/usr/bin/jenkins
Restart=on-failure
SuccessExitStatus=143
User=jenkins
Group=jenkins
Environment="JENKINS_HOME=/var/lib/jenkins"
WorkingDirectory=/var/lib/jenkins
Environment="JENKINS_WEBROOT=/var/cache/jenkins/war"
Environment="JAVA_OPTS=-Djava.awt.headless=true"
Environment="JENKINS_PORT=8080"
TimeoutStartSec=90

[Install]
WantedBy=multi-user.target
""",
        },
        executables={"/usr/bin/jenkins"},
        directories=["/var/lib/jenkins", "/var/cache/jenkins", "/var/log/jenkins"],
        postinst=SYSTEM_USER.format(user="jenkins", home="/var/lib/jenkins", login_shell="/bin/bash", comment="Jenkins")
        + "chown jenkins:jenkins /var/lib/jenkins /var/cache/jenkins /var/log/jenkins\n"
        + "chmod 0750 /var/cache/jenkins /var/log/jenkins\n"
        + ENABLE_AND_START.format(unit="jenkins.service"),
        postrm=POSTRM.format(unit="jenkins.service"),
    )
    es_unit = """\
# alur CI stand-in for the Elasticsearch unit: same name, user, environment and entry point as the vendor's.
[Unit]
Description=Elasticsearch (alur CI stand-in)
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
NotifyAccess=all
RuntimeDirectory=elasticsearch
PrivateTmp=true
Environment=ES_HOME=/usr/share/elasticsearch
Environment=ES_PATH_CONF=/etc/elasticsearch
Environment=PID_DIR=/run/elasticsearch
Environment=ES_SD_NOTIFY=true
EnvironmentFile=-/etc/default/elasticsearch
WorkingDirectory=/usr/share/elasticsearch
User=elasticsearch
Group=elasticsearch
ExecStart=/usr/share/elasticsearch/bin/systemd-entrypoint -p ${PID_DIR}/elasticsearch.pid --quiet
StandardOutput=journal
StandardError=inherit
LimitNOFILE=65535
LimitNPROC=4096
LimitAS=infinity
LimitFSIZE=infinity
TimeoutStopSec=0
KillSignal=SIGTERM
KillMode=process
SendSIGKILL=no
SuccessExitStatus=143
TimeoutStartSec=900

[Install]
WantedBy=multi-user.target
"""
    elasticsearch = Package(
        "elasticsearch",
        f"{elastic_version}{STANDIN}",
        f"alur CI stand-in for Elasticsearch {elastic_version}\n {label}.",
        files={
            "/usr/share/elasticsearch/bin/systemd-entrypoint": _wrapper("elasticsearch", "elasticsearch"),
            "/usr/share/elasticsearch/bin/elasticsearch": _wrapper("elasticsearch", "elasticsearch"),
            "/usr/share/elasticsearch/bin/elasticsearch-keystore": _wrapper(
                "elasticsearch",
                "elasticsearch-keystore",
                ': "${ES_PATH_CONF:=/etc/elasticsearch}"; export ES_PATH_CONF\n',
            ),
            "/usr/lib/systemd/system/elasticsearch.service": es_unit,
            "/etc/default/elasticsearch": "# Elasticsearch service environment (alur CI stand-in)\nES_PATH_CONF=/etc/elasticsearch\n",
            "/etc/elasticsearch/elasticsearch.yml": (
                "# Elasticsearch settings (alur CI stand-in ships the vendor's defaults)\n"
                "path.data: /var/lib/elasticsearch\npath.logs: /var/log/elasticsearch\n"
            ),
            "/etc/elasticsearch/jvm.options": "# JVM options (alur CI stand-in)\n-XX:+UseG1GC\n",
            "/etc/elasticsearch/log4j2.properties": "# log4j2 (alur CI stand-in: not read)\n",
        },
        executables={
            "/usr/share/elasticsearch/bin/systemd-entrypoint",
            "/usr/share/elasticsearch/bin/elasticsearch",
            "/usr/share/elasticsearch/bin/elasticsearch-keystore",
        },
        conffiles=[
            "/etc/default/elasticsearch",
            "/etc/elasticsearch/elasticsearch.yml",
            "/etc/elasticsearch/jvm.options",
            "/etc/elasticsearch/log4j2.properties",
        ],
        directories=["/etc/elasticsearch/jvm.options.d", "/var/lib/elasticsearch", "/var/log/elasticsearch"],
        postinst=SYSTEM_USER.format(
            user="elasticsearch", home="/nonexistent", login_shell="/bin/false", comment="elasticsearch user"
        )
        + "chown -R root:elasticsearch /etc/elasticsearch && chmod 2750 /etc/elasticsearch\n"
        + "chown elasticsearch:elasticsearch /var/lib/elasticsearch /var/log/elasticsearch\n"
        + "chmod 2750 /var/lib/elasticsearch /var/log/elasticsearch\n"
        + "/usr/share/elasticsearch/bin/elasticsearch-keystore create\n"
        + 'echo "### NOT starting on installation (alur CI stand-in, like the vendor package)"\n'
        + RELOAD_ONLY,
        postrm=POSTRM.format(unit="elasticsearch.service"),
    )
    logstash_version = f"1:{elastic_version}-1{STANDIN}"
    logstash = Package(
        "logstash",
        logstash_version,
        f"alur CI stand-in for Logstash {elastic_version}\n {label}.",
        files={
            "/usr/share/logstash/bin/logstash": _wrapper("logstash", "logstash"),
            "/usr/share/logstash/bin/logstash-keystore": _wrapper("logstash", "logstash-keystore"),
            "/usr/lib/systemd/system/logstash.service": """\
# alur CI stand-in for the Logstash unit: same name, user and command line as the vendor's.
[Unit]
Description=logstash (alur CI stand-in)

[Service]
Type=simple
User=logstash
Group=logstash
EnvironmentFile=-/etc/default/logstash
EnvironmentFile=-/etc/sysconfig/logstash
ExecStart=/usr/share/logstash/bin/logstash "--path.settings" "/etc/logstash"
Restart=always
WorkingDirectory=/
Nice=19
LimitNOFILE=16384
TimeoutStopSec=infinity

[Install]
WantedBy=multi-user.target
""",
            "/etc/logstash/logstash.yml": "# Logstash settings (alur CI stand-in ships the vendor's defaults)\npath.data: /var/lib/logstash\npath.logs: /var/log/logstash\n",
            "/etc/logstash/pipelines.yml": '# Pipelines (vendor default)\n- pipeline.id: main\n  path.config: "/etc/logstash/conf.d/*.conf"\n',
            "/etc/logstash/jvm.options": "# JVM options (alur CI stand-in)\n-Xms1g\n-Xmx1g\n",
            "/etc/logstash/log4j2.properties": "# log4j2 (alur CI stand-in: not read)\n",
            "/etc/logstash/startup.options": "# startup options (alur CI stand-in: not read)\n",
        },
        executables={"/usr/share/logstash/bin/logstash", "/usr/share/logstash/bin/logstash-keystore"},
        conffiles=[
            "/etc/logstash/logstash.yml",
            "/etc/logstash/pipelines.yml",
            "/etc/logstash/jvm.options",
            "/etc/logstash/log4j2.properties",
            "/etc/logstash/startup.options",
        ],
        directories=["/etc/logstash/conf.d", "/var/lib/logstash", "/var/log/logstash"],
        postinst=SYSTEM_USER.format(
            user="logstash",
            home="/usr/share/logstash",
            login_shell="/usr/sbin/nologin",
            comment="LogStash Service User",
        )
        + "chown logstash:logstash /var/lib/logstash /var/log/logstash\n"
        + RELOAD_ONLY,
        postrm=POSTRM.format(unit="logstash.service"),
    )
    kibana = Package(
        "kibana",
        f"{elastic_version}{STANDIN}",
        f"alur CI stand-in for Kibana {elastic_version}\n {label}.",
        files={
            "/usr/share/kibana/bin/kibana": _wrapper("kibana", "kibana"),
            "/usr/share/kibana/bin/kibana-keystore": _wrapper(
                "kibana", "kibana-keystore", ': "${KBN_PATH_CONF:=/etc/kibana}"; export KBN_PATH_CONF\n'
            ),
            "/usr/lib/systemd/system/kibana.service": """\
# alur CI stand-in for the Kibana unit: same name, user and environment as the vendor's.
[Unit]
Description=Kibana (alur CI stand-in)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=kibana
Group=kibana
PrivateTmp=true
Environment=KBN_HOME=/usr/share/kibana
Environment=KBN_PATH_CONF=/etc/kibana
EnvironmentFile=-/etc/default/kibana
EnvironmentFile=-/etc/sysconfig/kibana
ExecStart=/usr/share/kibana/bin/kibana
Restart=on-failure
RestartSec=3
StartLimitBurst=3
StartLimitInterval=60
WorkingDirectory=/usr/share/kibana

[Install]
WantedBy=multi-user.target
""",
            "/etc/kibana/kibana.yml": "# Kibana settings (alur CI stand-in ships the vendor's defaults: everything commented)\n",
            "/etc/kibana/node.options": "## Node command line options (alur CI stand-in)\n",
            "/etc/default/kibana": "# Kibana service environment (alur CI stand-in)\n",
        },
        executables={"/usr/share/kibana/bin/kibana", "/usr/share/kibana/bin/kibana-keystore"},
        conffiles=["/etc/kibana/kibana.yml", "/etc/kibana/node.options", "/etc/default/kibana"],
        directories=["/var/lib/kibana", "/var/log/kibana"],
        postinst=SYSTEM_USER.format(
            user="kibana", home="/home/kibana", login_shell="/sbin/nologin", comment="kibana service user"
        )
        + "chown kibana:kibana /var/lib/kibana /var/log/kibana\nchown -R root:kibana /etc/kibana && chmod 2750 /etc/kibana\n"
        + RELOAD_ONLY,
        postrm=POSTRM.format(unit="kibana.service"),
    )
    path_opts = "--path.home /usr/share/filebeat --path.config /etc/filebeat --path.data /var/lib/filebeat --path.logs /var/log/filebeat"
    filebeat = Package(
        "filebeat",
        f"{elastic_version}{STANDIN}",
        f"alur CI stand-in for Filebeat {elastic_version}\n {label}.",
        files={
            "/usr/share/filebeat/bin/filebeat": _wrapper("filebeat", "filebeat"),
            "/usr/bin/filebeat": f'#!/bin/sh\n# alur CI stand-in wrapper, like the vendor\'s /usr/bin/filebeat\nexec /usr/share/filebeat/bin/filebeat {path_opts} "$@"\n',
            "/usr/lib/systemd/system/filebeat.service": f"""\
# alur CI stand-in for the Filebeat unit: same name and command line as the vendor's.
[Unit]
Description=Filebeat sends log files to Logstash or directly to Elasticsearch (alur CI stand-in).
Wants=network-online.target
After=network-online.target

[Service]
UMask=0027
Environment="GODEBUG='madvdontneed=1'"
Environment="BEAT_LOG_OPTS="
Environment="BEAT_CONFIG_OPTS=-c /etc/filebeat/filebeat.yml"
Environment="BEAT_PATH_OPTS={path_opts}"
ExecStart=/usr/share/filebeat/bin/filebeat --environment systemd $BEAT_LOG_OPTS $BEAT_CONFIG_OPTS $BEAT_PATH_OPTS
Restart=always

[Install]
WantedBy=multi-user.target
""",
            "/etc/filebeat/filebeat.yml": (
                "# Filebeat settings (alur CI stand-in ships a vendor-like default)\n"
                "filebeat.inputs:\n  - type: filestream\n    id: my-filestream-id\n    enabled: false\n"
                '    paths: [/var/log/*.log]\noutput.elasticsearch:\n  hosts: ["localhost:9200"]\n'
            ),
        },
        executables={"/usr/share/filebeat/bin/filebeat", "/usr/bin/filebeat"},
        conffiles=["/etc/filebeat/filebeat.yml"],
        directories=["/etc/filebeat/modules.d", "/var/lib/filebeat", "/var/log/filebeat"],
        postinst=RELOAD_ONLY,
        postrm=POSTRM.format(unit="filebeat.service"),
    )
    return [jenkins, elasticsearch, logstash, kibana, filebeat]


def build_deb(package: Package, out_dir: Path, work: Path) -> Path:
    root = work / package.name
    upstream_version = package.version.split(":", 1)[-1]
    # The program reports the vendor's product version (what X-Jenkins or GET / would say), not the package's.
    product_version = package.description.split("\n", 1)[0].rsplit(" ", 1)[1]
    files = {**package.files, **program_files(package.name, product_version)}
    for path, content in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        target.chmod(0o755 if path in package.executables or path.endswith("/service.py") else 0o644)
    for directory in package.directories:
        (root / directory.lstrip("/")).mkdir(parents=True, exist_ok=True)
    doc = root / "usr" / "share" / "doc" / package.name
    doc.mkdir(parents=True, exist_ok=True)
    (doc / "README.alur-standin").write_text(
        f"{package.name} {package.version} is an alur CI stand-in, not the vendor's package.\n"
        "It imitates the packaging contract (names, users, paths, unit, ports, health endpoints) only.\n"
    )
    control = root / "DEBIAN"
    control.mkdir(parents=True, exist_ok=True)
    size_kib = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) // 1024 + 1
    (control / "control").write_text(
        f"Package: {package.name}\nVersion: {package.version}\nArchitecture: all\n"
        f"Maintainer: Alur CI <ci@alur.invalid>\nInstalled-Size: {size_kib}\nDepends: {DEPENDS}\n"
        f"Section: misc\nPriority: optional\nDescription: {package.description}\n"
    )
    if package.conffiles:
        (control / "conffiles").write_text("".join(f"{c}\n" for c in package.conffiles))
    for script, body in (("postinst", package.postinst), ("postrm", package.postrm)):
        if body:
            (control / script).write_text(f"#!/bin/sh\n# alur CI stand-in maintainer script\nset -e\n{body}\nexit 0\n")
            (control / script).chmod(0o755)
    deb = out_dir / f"{package.name}_{upstream_version}_all.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(deb)],
        check=True,
        capture_output=True,
        text=True,
    )
    return deb


def pinned_versions() -> tuple[str, str]:
    """The project's pins: the artifacts role's settings as Ansible resolves them (no inventory, no -e)."""
    cfg = Inventory(None, ROOT).artifacts_settings()
    return str(cfg["artifacts_jenkins_version"]), str(cfg["artifacts_elastic_version"])


def manifest_line(name: str, value: str) -> str:
    """One main-section attribute as java.util.jar.Manifest writes it: `Name: value`, CRLF, no line longer than
    72 bytes; a longer one goes on in continuation lines that begin with one space."""
    data = f"{name}: {value}".encode()
    lines = [data[:72]] + [b" " + data[start : start + 71] for start in range(72, len(data), 71)]
    return "".join(line.decode() + "\r\n" for line in lines)


def plugin_dependencies(required: dict[str, str], optional: dict[str, str]) -> str:
    """The Plugin-Dependencies value: `id:version` comma-separated, optional ones marked `;resolution:=optional`."""
    entries = [f"{plugin}:{version}" for plugin, version in required.items()]
    entries += [f"{plugin}:{version};resolution:=optional" for plugin, version in optional.items()]
    return ",".join(entries)


def standin_plugin(path: Path, plugin: str, version: str, requirements: dict[str, Any] | None = None) -> None:
    """A zip whose META-INF/MANIFEST.MF names the plugin and version, as a real .jpi does, with the real plugin's
    `Jenkins-Version` and `Plugin-Dependencies` (from `requirements`, an entry of plugins.deps.yml) so that a
    Jenkins reading it sees the same requirements; nothing in it runs in a JVM."""
    attributes = [
        ("Manifest-Version", "1.0"),
        ("Short-Name", plugin),
        ("Plugin-Version", version),
        ("Long-Name", f"alur CI stand-in for the {plugin} plugin (not a Jenkins plugin)"),
    ]
    if requirements is not None:
        attributes.append(("Jenkins-Version", str(requirements["jenkins_version"])))
        required = {str(k): str(v) for k, v in (requirements.get("dependencies") or {}).items()}
        optional = {str(k): str(v) for k, v in (requirements.get("optional_dependencies") or {}).items()}
        if required or optional:
            attributes.append(("Plugin-Dependencies", plugin_dependencies(required, optional)))
    manifest = "".join(manifest_line(name, value) for name, value in attributes) + "\r\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in (("META-INF/MANIFEST.MF", manifest), ("README.alur-standin", "CI stand-in.\n")):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), text)


def plugin_requirements() -> dict[str, dict[str, Any]]:
    """plugins.deps.yml's `plugins` mapping: id -> version, jenkins_version, (optional_)dependencies, source."""
    loaded = yaml.safe_load(PLUGIN_REQUIREMENTS.read_text())
    return dict(loaded["plugins"])


def standin_plugins(work: Path) -> list[bundle.PluginFile]:
    work.mkdir(parents=True, exist_ok=True)
    requirements = plugin_requirements()
    plugins = []
    for plugin, version in bundle.read_lockfile(PLUGINS_LOCK).items():
        entry = requirements.get(plugin)
        if entry is None or str(entry["version"]) != version:
            raise SystemExit(f"{PLUGIN_REQUIREMENTS}: no requirements for {plugin} {version} (the lockfile's pin)")
        standin_plugin(work / f"{plugin}.jpi", plugin, version, entry)
        plugins.append(bundle.PluginFile(plugin, version, work / f"{plugin}.jpi", source="tests/standins/build.py"))
    return plugins


def inputs_fingerprint(versions: tuple[str, str]) -> str:
    digest = hashlib.sha256()
    inputs = (
        HERE / "build.py",
        *program_inputs(),
        *sorted((ROOT / "src" / "alur" / "bundle").glob("*.py")),
        PLUGINS_LOCK,
        PLUGIN_REQUIREMENTS,
    )
    for path in inputs:
        digest.update(path.read_bytes())
    digest.update(json.dumps(versions).encode())
    return digest.hexdigest()


def build_bundle(out: Path) -> Path:
    versions = pinned_versions()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="alur-standins-") as tmp:
        work = Path(tmp)
        debs_dir = work / "debs"
        debs_dir.mkdir()
        debs = {
            p.name: [(build_deb(p, debs_dir, work / "tree"), "tests/standins/build.py")] for p in packages(*versions)
        }
        plugins = standin_plugins(work / "plugins")
        extra = {"standin_inputs": inputs_fingerprint(versions)}
        return bundle.write_bundle(out, debs, plugins, standin=True, extra=extra)


def ensure_bundle(out: Path = DEFAULT_OUT, force: bool = False) -> Path:
    """The stand-in bundle at `out`, rebuilt when its inputs changed or it fails `alur bundle verify`.

    Molecule scenarios running side by side (make test) all ask for it: one builds, the others wait.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    with (out.parent / f".{out.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_bundle(out, force)


def _ensure_bundle(out: Path, force: bool) -> Path:
    manifest = out / bundle.MANIFEST
    if not force and manifest.is_file():
        try:
            current = json.loads(manifest.read_text()).get("standin_inputs") == inputs_fingerprint(pinned_versions())
            if current:
                bundle.verify(out)
                return out
        except (ValueError, bundle.BundleError):
            pass
    if out.exists():
        shutil.rmtree(out)
    return build_bundle(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    args = parser.parse_args()
    path = ensure_bundle(args.out.resolve(), args.force)
    print(path)


if __name__ == "__main__":
    main()
