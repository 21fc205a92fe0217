"""What each vendor ships and where: the products, the groups that need them, the Debian version of a pin,
and Elastic's per-package downloads (a .deb with its .sha512 and .asc)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alur.bundle.debian import deb_control
from alur.bundle.fetch import Fetcher, Keyring
from alur.bundle.layout import BundleError

ELASTIC_PRODUCTS = ("elasticsearch", "logstash", "kibana", "filebeat")
PRODUCTS = ("jenkins", "temurin", *ELASTIC_PRODUCTS)
# Inventory group -> products a bundle for that inventory must hold.
GROUP_PRODUCTS: dict[str, tuple[str, ...]] = {
    "jenkins": ("jenkins",),
    "elasticsearch": ("elasticsearch",),
    "logstash": ("logstash",),
    "kibana": ("kibana",),
    "filebeat": ("filebeat",),
}
JAVA_GROUPS = ("jenkins", "jenkins_agents")
# Path of each Elastic package under the vendor's download area (artifacts.elastic.co/downloads).
ELASTIC_DOWNLOAD_PATHS = {
    "elasticsearch": "elasticsearch/elasticsearch-{version}-{arch}.deb",
    "logstash": "logstash/logstash-{version}-{arch}.deb",
    "kibana": "kibana/kibana-{version}-{arch}.deb",
    "filebeat": "beats/filebeat/filebeat-{version}-{arch}.deb",
}


def products_for(groups: Mapping[str, Sequence[str]], temurin: bool | None) -> list[str]:
    """The products an inventory with these groups (name -> hosts) installs; Temurin for Java hosts unless
    `temurin` is False."""
    found: list[str] = []
    for group, products in GROUP_PRODUCTS.items():
        if groups.get(group):
            found += products
    if temurin is not False and any(groups.get(g) for g in JAVA_GROUPS):
        found.append("temurin")
    return [p for p in PRODUCTS if p in found]


def package_version(product: str, cfg: Mapping[str, Any]) -> str:
    """The Debian version of a product's package for the pinned version (Logstash carries an epoch)."""
    if product == "jenkins":
        return str(cfg["artifacts_jenkins_version"])
    if product == "temurin":
        return str(cfg.get("artifacts_temurin_version") or "")
    version = str(cfg["artifacts_elastic_version"])
    return f"1:{version}-1" if product == "logstash" else version


def elastic_download(
    product: str, version: str, cfg: Mapping[str, Any], keyring: Keyring, fetcher: Fetcher, dest_dir: Path, arch: str
) -> tuple[Path, str]:
    """One Elastic package from the download area, checked against its .sha512, whose .asc is checked too."""
    url = f"{str(cfg['artifacts_elastic_download_url']).rstrip('/')}/" + ELASTIC_DOWNLOAD_PATHS[product].format(
        version=version, arch=arch
    )
    name = url.rsplit("/", 1)[1]
    dest = dest_dir / name
    sha512_file = dest_dir / f"{name}.sha512"
    sha512_file.write_bytes(fetcher.get(f"{url}.sha512"))
    signature = fetcher.try_get(f"{url}.asc")
    if signature is None:
        raise BundleError(f"elastic: no signature {url}.asc beside the package")
    (dest_dir / f"{name}.asc").write_bytes(signature)
    digest = fetcher.download(url, dest, "sha512")
    keyring.verify(dest, dest_dir / f"{name}.asc")
    expected = sha512_file.read_text().split()
    if not expected or expected[0].lower() != digest:
        raise BundleError(f"elastic: {url} does not match {name}.sha512")
    control = deb_control(dest)
    if control.get("Package") != product:
        raise BundleError(f"elastic: {name} holds package {control.get('Package')}, not {product}")
    return dest, url
