"""SSH sessions against a real (in-process, paramiko) SSH server on loopback: host keys checked against
the inventory's known_hosts file, key authentication, commands, sudo with and without a password."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
import pytest

from alur.inventory import Connection
from alur.sshexec import Session, SshError


@dataclass
class FakeHost:
    port: int
    host_key: paramiko.RSAKey
    client_key: paramiko.RSAKey
    commands: list[str] = field(default_factory=list)
    stdin: list[bytes] = field(default_factory=list)


class _Server(paramiko.ServerInterface):
    def __init__(self, fake: FakeHost) -> None:
        self.fake = fake

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = username == "ops" and key.get_base64() == self.fake.client_key.get_base64()
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        text = command.decode()
        self.fake.commands.append(text)

        def answer() -> None:
            data = b""
            while True:  # read stdin to its end, as sudo -S would
                chunk = channel.recv(1024)
                if not chunk:
                    break
                data += chunk
            self.fake.stdin.append(data)
            channel.sendall(f"ran {text}\n".encode())
            channel.send_exit_status(3 if "fail" in text else 0)
            channel.close()

        threading.Thread(target=answer, daemon=True).start()
        return True


@pytest.fixture(scope="module")
def fake_host() -> Iterator[FakeHost]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    fake = FakeHost(listener.getsockname()[1], paramiko.RSAKey.generate(2048), paramiko.RSAKey.generate(2048))
    stop = threading.Event()

    def handshake(client: socket.socket) -> None:
        transport = paramiko.Transport(client)
        transport.add_server_key(fake.host_key)
        try:
            transport.start_server(server=_Server(fake))
        except (paramiko.SSHException, EOFError):
            transport.close()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handshake, args=(client,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield fake
    stop.set()
    listener.close()


def connection(fake: FakeHost, tmp_path: Path, known: str | None, **changes: object) -> Connection:
    key_file = tmp_path / "id_rsa"
    fake.client_key.write_private_key_file(str(key_file))
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(known if known is not None else "")
    values: dict[str, object] = {
        "host": "fake",
        "address": "127.0.0.1",
        "port": fake.port,
        "user": "ops",
        "key_file": str(key_file),
        "known_hosts_file": str(known_hosts),
    }
    values.update(changes)
    return Connection(**values)  # type: ignore[arg-type]


def known_line(fake: FakeHost, key: paramiko.PKey | None = None) -> str:
    key = key or fake.host_key
    return f"[127.0.0.1]:{fake.port} {key.get_name()} {key.get_base64()}\n"


def test_a_known_host_runs_commands_and_sudo(fake_host: FakeHost, tmp_path: Path) -> None:
    with Session(connection(fake_host, tmp_path, known_line(fake_host))) as session:
        result = session.run("echo hi")
        assert (result.rc, result.stdout) == (0, "ran sh -c 'echo hi'\n")
        assert session.run("fail now").rc == 3
        session.run("true", sudo=True)
    assert fake_host.commands[-1] == "sudo -n -- sh -c true"


def test_sudo_with_a_password_sends_it_on_stdin_only(fake_host: FakeHost, tmp_path: Path) -> None:
    conn = connection(fake_host, tmp_path, known_line(fake_host), become_password="pw-on-stdin")  # noqa: S106
    with Session(conn) as session:
        session.run("true", sudo=True)
    assert fake_host.commands[-1] == "sudo -S -p '' -- sh -c true"
    assert fake_host.stdin[-1] == b"pw-on-stdin\n"
    assert "pw-on-stdin" not in fake_host.commands[-1]


def test_an_unknown_host_key_is_refused(fake_host: FakeHost, tmp_path: Path) -> None:
    with pytest.raises(SshError) as raised:
        Session(connection(fake_host, tmp_path, ""))
    assert raised.value.kind == "hostkey" and "unknown" in str(raised.value)


def test_a_changed_host_key_is_refused(fake_host: FakeHost, tmp_path: Path) -> None:
    other = paramiko.RSAKey.generate(1024)
    with pytest.raises(SshError) as raised:
        Session(connection(fake_host, tmp_path, known_line(fake_host, other)))
    assert raised.value.kind == "hostkey" and "does not match" in str(raised.value)


def test_checking_off_accepts_any_key_and_writes_no_known_hosts(fake_host: FakeHost, tmp_path: Path) -> None:
    conn = connection(fake_host, tmp_path, "", strict_host_key_checking=False)
    with Session(conn) as session:
        assert session.run("true").rc == 0
    assert (tmp_path / "known_hosts").read_text() == ""


def test_a_wrong_key_is_an_authentication_error(fake_host: FakeHost, tmp_path: Path) -> None:
    conn = connection(fake_host, tmp_path, known_line(fake_host))
    paramiko.RSAKey.generate(2048).write_private_key_file(str(tmp_path / "other"))
    with pytest.raises(SshError) as raised:
        Session(Connection(**{**conn.__dict__, "key_file": str(tmp_path / "other")}))
    assert raised.value.kind == "auth", str(raised.value)
    assert "authentication as ops" in str(raised.value)
