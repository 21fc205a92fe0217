"""SSH sessions to inventory hosts with paramiko, for the preflight and `alur status`.

They connect the way ansible's ssh connection would: the inventory's address, port, user, key or
password, and the known_hosts file named in ansible_ssh_common_args (UserKnownHostsFile=...), with
host keys checked unless the inventory turns checking off.
"""

from __future__ import annotations

import shlex
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import paramiko

from alur.inventory import Connection

CONNECT_TIMEOUT = 10.0


class SshError(Exception):
    """Why a host could not be used: kind is unreachable, hostkey, auth or ssh."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class CommandResult:
    rc: int
    stdout: str
    stderr: str
    started: float  # time.time() just before the command was sent
    ended: float  # time.time() once its output was read


class _WarnOnlyPolicy(paramiko.MissingHostKeyPolicy):
    """Host key checking off (as the inventory asked): accept, never write known_hosts."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        return None


class Session:
    """One authenticated SSH connection; commands run through `sh -c`."""

    def __init__(self, connection: Connection, timeout: float = CONNECT_TIMEOUT) -> None:
        self.connection = connection
        self.client = paramiko.SSHClient()
        self._connect(timeout)

    def _connect(self, timeout: float) -> None:
        conn = self.connection
        try:
            sock = socket.create_connection((conn.address, conn.port), timeout=timeout)
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            if isinstance(exc, TimeoutError | socket.timeout):
                reason = f"no answer within {timeout:.0f}s"
            raise SshError("unreachable", f"cannot reach {conn.endpoint}: {reason}") from exc
        client = self.client
        if conn.known_hosts_file and conn.known_hosts_file != "/dev/null":
            known = Path(conn.known_hosts_file)
            if known.is_file():
                client.load_host_keys(str(known))
        else:
            client.load_system_host_keys()
        policy = paramiko.RejectPolicy() if conn.strict_host_key_checking else _WarnOnlyPolicy()
        client.set_missing_host_key_policy(policy)
        key = None
        if conn.key_file:
            try:
                key = paramiko.PKey.from_path(conn.key_file)
            except (OSError, paramiko.SSHException, ValueError) as exc:
                sock.close()
                raise SshError("auth", f"cannot use private key {conn.key_file}: {exc}") from exc
        try:
            client.connect(
                conn.address,
                port=conn.port,
                username=conn.user,
                pkey=key,
                password=conn.password,
                sock=sock,
                timeout=timeout,
                banner_timeout=timeout,
                auth_timeout=timeout,
                look_for_keys=conn.key_file is None and conn.password is None,
                allow_agent=conn.key_file is None and conn.password is None,
            )
        except paramiko.BadHostKeyException as exc:
            sock.close()
            raise SshError(
                "hostkey", f"host key of {conn.endpoint} does not match {conn.known_hosts_file or 'known_hosts'}"
            ) from exc
        except paramiko.AuthenticationException as exc:
            sock.close()
            how = f"key {conn.key_file}" if conn.key_file else ("password" if conn.password else "default keys")
            raise SshError("auth", f"authentication as {conn.user} with {how} refused") from exc
        except paramiko.SSHException as exc:
            sock.close()
            text = str(exc)
            if "not found in known_hosts" in text:
                where = conn.known_hosts_file or "~/.ssh/known_hosts"
                raise SshError("hostkey", f"host key of {conn.endpoint} unknown (not in {where})") from exc
            raise SshError("ssh", f"SSH to {conn.endpoint} failed: {text}") from exc
        except OSError as exc:
            sock.close()
            raise SshError("unreachable", f"connection to {conn.endpoint} dropped: {exc}") from exc

    def run(self, command: str, sudo: bool = False, timeout: float = 30.0) -> CommandResult:
        """Run `command` with sh; with sudo=True through the inventory's become (sudo only)."""
        line = f"sh -c {shlex.quote(command)}"
        password = self.connection.become_password
        if sudo:
            line = f"sudo -S -p '' -- {line}" if password else f"sudo -n -- {line}"
        started = time.time()
        try:
            stdin, stdout, stderr = self.client.exec_command(line, timeout=timeout)
            if sudo and password:
                stdin.write(password + "\n")
                stdin.flush()
            stdin.channel.shutdown_write()
            out = stdout.read().decode(errors="replace")
            err = stderr.read().decode(errors="replace")
            rc = stdout.channel.recv_exit_status()
        except (paramiko.SSHException, OSError) as exc:
            raise SshError("ssh", f"command on {self.connection.endpoint} failed: {exc}") from exc
        return CommandResult(rc=rc, stdout=out, stderr=err, started=started, ended=time.time())

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
