"""Downloads for `alur bundle create`: HTTP(S), optionally through a mirror, and vendors' signing keys
accepted only at their pinned fingerprint."""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from alur import __version__
from alur.bundle.layout import CHUNK, BundleError


class Fetcher:
    """HTTP(S) downloads. With a base URL, every vendor URL is served from it instead (a mirror or a test
    server): https://pkg.jenkins.io/x -> BASE/pkg.jenkins.io/x, and redirects may not leave BASE."""

    def __init__(self, base_url: str | None = None, timeout: float = 60.0, log: Callable[[str], None] = print):
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout
        self.log = log
        base = self.base_url

        class Guard(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
                if base and not newurl.startswith(base + "/"):
                    raise BundleError(f"refusing a redirect from {req.full_url} to {newurl} (outside {base})")
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        self.opener = urllib.request.build_opener(Guard())

    def url(self, url: str) -> str:
        if not self.base_url:
            return url
        parsed = urllib.parse.urlsplit(url)
        if not parsed.netloc:
            raise BundleError(f"not an absolute URL: {url}")
        return f"{self.base_url}/{parsed.netloc}{parsed.path}" + (f"?{parsed.query}" if parsed.query else "")

    @contextlib.contextmanager
    def _open(self, url: str) -> Iterator[IO[bytes]]:
        real = self.url(url)
        if not real.startswith(("https://", "http://")):
            raise BundleError(f"only http(s) URLs can be fetched: {real}")
        request = urllib.request.Request(real, headers={"User-Agent": f"alur/{__version__} bundle"})  # noqa: S310
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                yield response
        except urllib.error.HTTPError as exc:
            raise BundleError(f"GET {real}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise BundleError(f"GET {real}: {getattr(exc, 'reason', exc)}") from exc

    def get(self, url: str) -> bytes:
        with self._open(url) as response:
            return response.read()

    def try_get(self, url: str) -> bytes | None:
        try:
            return self.get(url)
        except BundleError as exc:
            if "HTTP 404" in str(exc):
                return None
            raise

    def download(self, url: str, dest: Path, algorithm: str = "sha256") -> str:
        """Stream `url` to `dest`; returns the file's hex digest."""
        digest = hashlib.new(algorithm)
        self.log(f"  get {self.url(url)}")
        with self._open(url) as response, dest.open("wb") as out:
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        return digest.hexdigest()


class Keyring:
    """A vendor's signing key, accepted only when its fingerprint is the pinned one; checks signatures with gpgv."""

    def __init__(self, key: bytes, fingerprint: str, workdir: Path, name: str):
        self.fingerprint = fingerprint.replace(" ", "").upper()
        self.name = name
        home = workdir / f"gnupg-{name}"
        home.mkdir(mode=0o700)
        self.path = workdir / f"{name}.gpg"
        keyfile = workdir / f"{name}.key"
        keyfile.write_bytes(key)
        gpg = ["gpg", "--batch", "--quiet", "--no-autostart", "--homedir", str(home)]
        try:
            subprocess.run([*gpg, "--import", str(keyfile)], capture_output=True, check=True)
            listed = subprocess.run(
                [*gpg, "--with-colons", "--fingerprint", "--list-keys"], capture_output=True, text=True, check=True
            ).stdout
        except OSError as exc:
            raise BundleError(f"gpg is needed to check {name}'s signing key (apt-get install gpg): {exc}") from exc
        except subprocess.CalledProcessError as exc:
            raise BundleError(
                f"{name}: the downloaded key is not an OpenPGP key: {exc.stderr.decode().strip()}"
            ) from exc
        primaries = [
            line.split(":")[9]
            for prev, line in zip(listed.splitlines(), listed.splitlines()[1:], strict=False)
            if prev.startswith("pub:") and line.startswith("fpr:")
        ]
        if self.fingerprint not in primaries:
            raise BundleError(
                f"{name}: the downloaded key has fingerprint(s) {', '.join(primaries) or 'none'}, "
                f"not the pinned {self.fingerprint} (check artifacts_{name}_key_fingerprint against the vendor's docs)"
            )
        exported = subprocess.run([*gpg, "--export", self.fingerprint], capture_output=True, check=True).stdout
        self.path.write_bytes(exported)

    def verify(self, data: Path, signature: Path | None = None) -> bytes:
        """gpgv over a detached signature, or over a clear-signed file (then returns the signed text)."""
        output = data.with_name(data.name + ".verified")
        args = ["gpgv", "--status-fd", "2", "--keyring", str(self.path)]
        args += [str(signature), str(data)] if signature else ["--output", str(output), str(data)]
        try:
            proc = subprocess.run(args, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise BundleError(f"gpgv is needed to check signatures (apt-get install gpgv): {exc}") from exc
        status = [
            line.split()[1]
            for line in proc.stderr.splitlines()
            if line.startswith("[GNUPG:] ") and len(line.split()) > 1
        ]
        if (
            proc.returncode != 0
            or "VALIDSIG" not in status
            or {"EXPKEYSIG", "REVKEYSIG", "BADSIG", "ERRSIG"} & set(status)
        ):
            human = "; ".join(line for line in proc.stderr.splitlines() if not line.startswith("[GNUPG:]"))
            raise BundleError(f"{data.name}: no valid signature by {self.name}'s key {self.fingerprint}: {human}")
        return output.read_bytes() if signature is None else b""
