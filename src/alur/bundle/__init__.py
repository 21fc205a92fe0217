"""Offline bundles of vendor software: `alur bundle create` on a connected machine, `alur bundle verify` anywhere.

A bundle is a folder:

    manifest.json               format, creation time, products -> packages, Jenkins plugins
    SHA256SUMS                  sha256sum(1) lines for every other file in the bundle
    apt/<product>/Packages      a flat apt repository per product (Filename relative to that folder)
    apt/<product>/*.deb         the product's package and the vendor packages it depends on
    jenkins-plugins/plugins.lock  id:version of every plugin, dependencies included
    jenkins-plugins/<id>.jpi    the plugin files

The `artifacts` role copies the folders a host needs, checks every file against SHA256SUMS on the host
and points apt at it. Everything a bundle holds was checked against the vendor's own checksums, and the
checksums against the vendor's signing key (fingerprint pinned by the artifacts role's settings,
artifacts_*_key_fingerprint), before it was written.

Modules: layout (file names, the error), debian (dpkg versions, control stanzas, apt repositories), fetch
(downloads, signing keys), vendors (what Jenkins, Elastic and Adoptium ship, and where), plugins (the
Jenkins lockfile and its dependencies), create (write, verify, the create flow). The commands are in
alur.cli (`alur bundle`).
"""

from __future__ import annotations

from alur.bundle.create import (
    CreateRequest,
    VerifyReport,
    inventory_pins,
    read_sums,
    request_for,
    verify,
    write_bundle,
)
from alur.bundle.debian import AptRepo, compare_versions, deb_control, depends_names, format_stanza, parse_stanzas
from alur.bundle.fetch import Fetcher, Keyring
from alur.bundle.layout import (
    FORMAT,
    MANIFEST,
    PLUGINS_DIR,
    PLUGINS_LOCK,
    STANDIN_MARK,
    SUMS,
    BundleError,
    file_digest,
)
from alur.bundle.plugins import PluginFile, read_lockfile, resolve_plugins
from alur.bundle.vendors import PRODUCTS, package_version, products_for

__all__ = [
    "FORMAT",
    "MANIFEST",
    "PLUGINS_DIR",
    "PLUGINS_LOCK",
    "PRODUCTS",
    "STANDIN_MARK",
    "SUMS",
    "AptRepo",
    "BundleError",
    "CreateRequest",
    "Fetcher",
    "Keyring",
    "PluginFile",
    "VerifyReport",
    "compare_versions",
    "deb_control",
    "depends_names",
    "file_digest",
    "format_stanza",
    "inventory_pins",
    "package_version",
    "parse_stanzas",
    "products_for",
    "read_lockfile",
    "read_sums",
    "request_for",
    "resolve_plugins",
    "verify",
    "write_bundle",
]
