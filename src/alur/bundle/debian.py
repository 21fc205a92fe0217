"""Debian's side of a bundle: dpkg version order, control stanzas (Packages, Release, a .deb's control),
and a vendor's apt repository read through its signed InRelease."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import re
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alur.bundle.fetch import Fetcher, Keyring
from alur.bundle.layout import BundleError


def _order(char: str) -> int:
    if char == "~":
        return -1
    if char.isdigit():
        return 0
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_part(a: str, b: str) -> int:
    while a or b:
        a_text = re.match(r"[^\d]*", a)
        b_text = re.match(r"[^\d]*", b)
        a_lead = a_text.group() if a_text else ""
        b_lead = b_text.group() if b_text else ""
        for i in range(max(len(a_lead), len(b_lead))):
            ca = _order(a_lead[i]) if i < len(a_lead) else 0
            cb = _order(b_lead[i]) if i < len(b_lead) else 0
            if ca != cb:
                return -1 if ca < cb else 1
        a, b = a[len(a_lead) :], b[len(b_lead) :]
        a_num = re.match(r"\d*", a)
        b_num = re.match(r"\d*", b)
        a_digits = a_num.group() if a_num else ""
        b_digits = b_num.group() if b_num else ""
        if int(a_digits or 0) != int(b_digits or 0):
            return -1 if int(a_digits or 0) < int(b_digits or 0) else 1
        a, b = a[len(a_digits) :], b[len(b_digits) :]
    return 0


def compare_versions(a: str, b: str) -> int:
    """dpkg's version ordering (epoch, upstream version, revision; `~` sorts before everything)."""

    def split(v: str) -> tuple[int, str, str]:
        epoch, _, rest = v.rpartition(":") if ":" in v else ("0", "", v)
        upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "0")
        return int(epoch or 0), upstream, revision

    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _compare_part(ua, ub) or _compare_part(ra, rb)


def parse_stanzas(text: str) -> list[dict[str, str]]:
    """Paragraphs of a Debian control-style file (Packages, Release, a .deb's control) as ordered dicts."""
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                stanzas.append(current)
            current, key = {}, ""
        elif line[0] in " \t" and key:
            current[key] += "\n" + line
        elif ":" in line:
            key, _, value = line.partition(":")
            current[key] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def format_stanza(stanza: dict[str, str]) -> str:
    return "".join(f"{k}: {v}\n" for k, v in stanza.items())


def depends_names(depends: str) -> list[list[str]]:
    """`a (>= 1) | b, c:any` -> [['a', 'b'], ['c']]: package names per alternative group."""
    groups = []
    for group in depends.split(","):
        names = [re.split(r"[\s(:\[]", alt.strip(), maxsplit=1)[0] for alt in group.split("|")]
        names = [n for n in names if n]
        if names:
            groups.append(names)
    return groups


def deb_control(path: Path) -> dict[str, str]:
    """The control stanza of a .deb, read with Python (ar + tar), or dpkg-deb for compressions it lacks."""
    with path.open("rb") as fh:
        if fh.read(8) != b"!<arch>\n":
            raise BundleError(f"{path.name} is not a Debian package (no ar header)")
        while header := fh.read(60):
            if len(header) < 60:
                break
            name = header[:16].decode().strip().rstrip("/")
            size = int(header[48:58].decode().strip())
            data = fh.read(size)
            if size % 2:
                fh.read(1)
            if not name.startswith("control.tar"):
                continue
            opener: dict[str, Callable[[bytes], bytes]] = {
                "control.tar": lambda b: b,
                "control.tar.gz": gzip.decompress,
                "control.tar.xz": lzma.decompress,
                "control.tar.bz2": bz2.decompress,
            }
            if name not in opener:
                return _dpkg_deb_control(path)
            with tarfile.open(fileobj=io.BytesIO(opener[name](data))) as tar:
                for member in tar.getmembers():
                    if member.name.lstrip("./") == "control":
                        extracted = tar.extractfile(member)
                        if extracted is None:
                            break
                        stanzas = parse_stanzas(extracted.read().decode())
                        if stanzas:
                            return stanzas[0]
            break
    raise BundleError(f"{path.name}: no control file found")


def _dpkg_deb_control(path: Path) -> dict[str, str]:
    try:
        out = subprocess.run(["dpkg-deb", "--field", str(path)], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BundleError(f"{path.name}: cannot read its control data (install dpkg): {exc}") from exc
    return parse_stanzas(out)[0]


def _open_index(name: str, data: bytes) -> str:
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    elif name.endswith(".xz"):
        data = lzma.decompress(data)
    elif name.endswith(".bz2"):
        data = bz2.decompress(data)
    return data.decode()


@dataclass
class AptRepo:
    """A vendor's apt repository: flat (`suite` ends with /) or with dists/; indexes checked through InRelease."""

    name: str
    url: str
    suite: str
    components: list[str]
    keyring: Keyring
    fetcher: Fetcher
    workdir: Path
    arch: str = "amd64"
    _index: list[dict[str, str]] | None = None

    @property
    def release_base(self) -> str:
        url = self.url.rstrip("/")
        return f"{url}/{self.suite}".rstrip("/") if self.suite.endswith("/") else f"{url}/dists/{self.suite}"

    def index(self) -> list[dict[str, str]]:
        if self._index is not None:
            return self._index
        base = self.release_base
        inrelease = self.fetcher.try_get(f"{base}/InRelease")
        release_file = self.workdir / f"{self.name}-Release"
        if inrelease is not None:
            release_file.write_bytes(inrelease)
            release = self.keyring.verify(release_file).decode()
        else:
            release_file.write_bytes(self.fetcher.get(f"{base}/Release"))
            signature = self.workdir / f"{self.name}-Release.gpg"
            signature.write_bytes(self.fetcher.get(f"{base}/Release.gpg"))
            self.keyring.verify(release_file, signature)
            release = release_file.read_text()
        fields = parse_stanzas(release)
        hashes: dict[str, tuple[str, int]] = {}
        for line in (fields[0].get("SHA256", "") if fields else "").splitlines():
            parts = line.split()
            if len(parts) == 3:
                hashes[parts[2]] = (parts[0], int(parts[1]))
        if not hashes:
            raise BundleError(f"{self.name}: {base}/InRelease lists no SHA256 checksums")
        wanted = (
            [""]
            if self.suite.endswith("/")
            else [f"{c}/binary-{a}/" for c in self.components for a in (self.arch, "all")]
        )
        stanzas: list[dict[str, str]] = []
        found_any = False
        for prefix in wanted:
            for name in (f"{prefix}Packages.xz", f"{prefix}Packages.gz", f"{prefix}Packages"):
                if name in hashes:
                    data = self.fetcher.get(f"{base}/{name}")
                    if hashlib.sha256(data).hexdigest() != hashes[name][0]:
                        raise BundleError(f"{self.name}: {base}/{name} does not match the signed Release file")
                    stanzas += parse_stanzas(_open_index(name, data))
                    found_any = True
                    break
        if not found_any:
            raise BundleError(f"{self.name}: the Release file at {base} lists no Packages index for {self.arch}")
        self._index = stanzas
        return stanzas

    def find(self, package: str, version: str = "") -> dict[str, str]:
        candidates = [
            s for s in self.index() if s.get("Package") == package and s.get("Architecture") in {self.arch, "all"}
        ]
        if version:
            candidates = [s for s in candidates if s.get("Version") == version]
        if not candidates:
            known = sorted({s["Version"] for s in self.index() if s.get("Package") == package}, key=version_key)
            have = f" (the repository has: {', '.join(known[-5:])})" if known else ""
            raise BundleError(f"{self.name}: no package {package} {version or ''} for {self.arch} at {self.url}{have}")
        return max(candidates, key=lambda s: version_key(s["Version"]))

    def closure(self, package: str, version: str) -> list[dict[str, str]]:
        """The package and every dependency this same repository provides (the rest comes from Debian)."""
        names = {s.get("Package") for s in self.index()}
        result: dict[str, dict[str, str]] = {}
        todo = [(package, version)]
        while todo:
            name, wanted = todo.pop()
            if name in result:
                continue
            stanza = self.find(name, wanted)
            result[name] = stanza
            for group in depends_names(stanza.get("Depends", "") + "," + stanza.get("Pre-Depends", "")):
                local = [n for n in group if n in names]
                if local and not any(n in result for n in group):
                    todo.append((local[0], ""))
        return list(result.values())

    def download(self, stanza: dict[str, str], dest_dir: Path) -> Path:
        url = f"{self.url.rstrip('/')}/{stanza['Filename']}"
        dest = dest_dir / Path(stanza["Filename"]).name
        digest = self.fetcher.download(url, dest)
        if digest != stanza.get("SHA256", "").lower():
            raise BundleError(f"{self.name}: {url} does not match the SHA256 in the signed index")
        if dest.stat().st_size != int(stanza.get("Size", dest.stat().st_size)):
            raise BundleError(f"{self.name}: {url} has the wrong size")
        return dest


class VersionKey:
    def __init__(self, version: str):
        self.version = version

    def __lt__(self, other: VersionKey) -> bool:
        return compare_versions(self.version, other.version) < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VersionKey) and compare_versions(self.version, other.version) == 0

    def __hash__(self) -> int:
        return hash(self.version)


def version_key(version: str) -> VersionKey:
    """A sort key in dpkg's version order (for max() and sorted())."""
    return VersionKey(version)
