"""What a bundle folder holds (file names, format number) and the one error its code raises."""

from __future__ import annotations

import hashlib
from pathlib import Path

from alur.errors import AlurError

FORMAT = 1
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
PLUGINS_DIR = "jenkins-plugins"
PLUGINS_LOCK = "plugins.lock"
STANDIN_MARK = "+standin"
CHUNK = 1 << 20


class BundleError(AlurError):
    """A bundle could not be made, or does not hold what it claims."""

    exit_code = 4


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
