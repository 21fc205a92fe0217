"""Run the stand-in program (tests/standins/program) as a local process, as its packages' units do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

PROGRAM = Path(__file__).resolve().parents[2] / "tests" / "standins" / "program" / "service.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(
    *args: str, env: Mapping[str, str | None] | None = None, program: Path = PROGRAM
) -> Iterator[subprocess.Popen[str]]:
    """`service.py ARGS...` with the environment plus `env` (a None value unsets a variable); stopped on exit.
    `program`: another copy of service.py (one installed as the packages install it)."""
    merged = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    proc = subprocess.Popen(
        [sys.executable, str(program), *args], env=merged, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def fetch(
    url: str,
    method: str = "GET",
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 15,
    pause: float = 0.2,
) -> tuple[int, dict[str, str], str]:
    """One request to a stand-in on 127.0.0.1: (status, headers, body), an HTTP error's status included. Retries
    only while nothing listens yet (until `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - 127.0.0.1 only
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(pause)
