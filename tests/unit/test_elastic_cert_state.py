"""The certificate check that lets an unchanged re-run skip the certificate tasks: it must say "current" only
for exactly what those tasks leave, and name each difference otherwise."""

from __future__ import annotations

import datetime
import grp
import ipaddress
import os
from pathlib import Path
from typing import Any

import elasticstack_cert_state as state  # roles/elasticstack/library, on pyproject's pythonpath
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.UTC)
SANS = ["IP:192.168.10.11", "DNS:logs"]


def _ca(name: str = "test CA", key: Any = None) -> tuple[Any, x509.Certificate]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256())
    )
    return key, cert


def _service_cert(
    ca: tuple[Any, x509.Certificate],
    key: rsa.RSAPrivateKey,
    *,
    names: list[str] = SANS,
    cn: str = "logs",
    days: int = 365,
    extended: tuple[x509.ObjectIdentifier, ...] = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH),
) -> x509.Certificate:
    general: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address(n[3:])) if n.startswith("IP:") else x509.DNSName(n[4:]) for n in names
    ]
    usage = x509.KeyUsage(True, False, True, False, False, False, False, False, False)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca[1].subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(NOW - datetime.timedelta(hours=1))
        .not_valid_after(NOW + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(general), critical=False)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(extended)), critical=False)
        .sign(ca[0], hashes.SHA256())
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ca() -> tuple[Any, x509.Certificate]:
    return _ca()


@pytest.fixture
def certs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rsa_key: rsa.RSAPrivateKey, ca: tuple[Any, x509.Certificate]
) -> dict[str, Any]:
    """What the role's tasks leave: folder 0750, key 0640, certificate and ca.crt 0644, all root:group."""
    monkeypatch.setattr(state, "OWNER_UID", os.getuid())
    folder = tmp_path / "certs"
    folder.mkdir(mode=0o750)
    folder.chmod(0o750)
    files = {
        "logstash.key": (_key_pem(rsa_key), 0o640),
        "logstash.crt": (_pem(_service_cert(ca, rsa_key)), 0o644),
        "ca.crt": (_pem(ca[1]), 0o644),
    }
    for name, (data, mode) in files.items():
        (folder / name).write_bytes(data)
        (folder / name).chmod(mode)
    params = {
        "dir": str(folder),
        "name": "logstash",
        "group": grp.getgrgid(os.getgid()).gr_name,
        "key_mode": "0640",
        "key_size": 2048,
        "common_name": "logs",
        "subject_alt_name": list(SANS),
        # The file lookup that passes the CA drops the final newline.
        "ca_cert": _pem(ca[1]).decode().rstrip("\n"),
        "renew_days": 30,
    }
    return {"folder": folder, "params": params, "key": rsa_key, "ca": ca}


def _reasons(params: dict[str, Any]) -> list[str]:
    current, reasons = state.cert_state(params, now=NOW)
    assert current is (not reasons)
    return list(reasons)


def test_the_files_the_tasks_leave_are_current(certs: dict[str, Any]) -> None:
    assert state.cert_state(certs["params"], now=NOW) == (True, [])


def test_names_differ_in_either_direction(certs: dict[str, Any]) -> None:
    more = dict(certs["params"], subject_alt_name=[*SANS, "DNS:logs.example.org"])
    assert any("the names are" in r for r in _reasons(more))
    fewer = dict(certs["params"], subject_alt_name=["DNS:logs"])
    assert any("the names are" in r for r in _reasons(fewer))
    other_cn = dict(certs["params"], common_name="logs2")
    assert any("the subject is CN=logs, not CN=logs2" in r for r in _reasons(other_cn))


def test_another_ca_or_a_replaced_ca_file(certs: dict[str, Any]) -> None:
    other = _pem(_ca("another CA")[1]).decode()
    reasons = _reasons(dict(certs["params"], ca_cert=other))
    assert "the certificate was not signed by the CA" in reasons
    assert any(r.endswith("ca.crt is not the CA certificate") for r in reasons)
    assert _reasons(dict(certs["params"], ca_cert="")) == ["the controller has no CA certificate yet"]


def test_due_for_renewal(certs: dict[str, Any]) -> None:
    crt = certs["folder"] / "logstash.crt"
    crt.write_bytes(_pem(_service_cert(certs["ca"], certs["key"], days=20)))
    assert _reasons(certs["params"]) == ["the certificate is not valid from now to 30 days from now"]
    assert state.cert_state(dict(certs["params"], renew_days=10), now=NOW) == (True, [])


def test_a_certificate_for_another_key_or_usage(certs: dict[str, Any]) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    crt = certs["folder"] / "logstash.crt"
    crt.write_bytes(_pem(_service_cert(certs["ca"], other_key)))
    assert _reasons(certs["params"]) == ["the certificate is not for the key in place"]
    crt.write_bytes(_pem(_service_cert(certs["ca"], certs["key"], extended=(ExtendedKeyUsageOID.SERVER_AUTH,))))
    assert _reasons(certs["params"]) == ["extended key usage is not exactly serverAuth and clientAuth"]


def test_key_format_and_size(certs: dict[str, Any]) -> None:
    key = certs["folder"] / "logstash.key"
    key.write_bytes(_key_pem(certs["key"], serialization.PrivateFormat.TraditionalOpenSSL))
    assert "the key is not an unencrypted PKCS#8 PEM key" in _reasons(certs["params"])
    key.write_bytes(_key_pem(certs["key"]))
    assert _reasons(dict(certs["params"], key_size=4096)) == ["the key is not RSA of 4096 bits"]


def test_modes_missing_files_and_groups(certs: dict[str, Any]) -> None:
    folder = certs["folder"]
    (folder / "ca.crt").chmod(0o600)
    assert _reasons(certs["params"]) == [f"{folder}/ca.crt has mode 0600, not 0644"]
    (folder / "ca.crt").chmod(0o644)
    (folder / "logstash.crt").unlink()
    assert _reasons(certs["params"]) == [f"{folder}/logstash.crt is missing"]
    assert _reasons(dict(certs["params"], group="alur-no-such-group")) == ["group alur-no-such-group does not exist"]


def test_a_wrong_owner_is_a_difference(certs: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state, "OWNER_UID", os.getuid() + 1)
    reasons = _reasons(certs["params"])
    assert len(reasons) == 4
    assert all("belongs to" in r for r in reasons)


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_the_signature_check_agrees_with_cryptography_40(kind: str, rsa_key: rsa.RSAPrivateKey) -> None:
    """The module checks the signature itself (Debian 12's python3-cryptography 38 lacks
    verify_directly_issued_by); on the controller's newer cryptography that method is the reference."""
    key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else rsa.generate_private_key(65537, 2048)
    ca = _ca("test CA", key)
    cert = _service_cert(ca, rsa_key)
    cert.verify_directly_issued_by(ca[1])
    assert state._signature_reason(cert, ca[1]) is None
    others = {
        "another CA": _ca("another CA")[1],
        "the same name, another key": _ca("test CA", rsa.generate_private_key(65537, 2048))[1],
    }
    for name, other in others.items():
        with pytest.raises((ValueError, InvalidSignature)):
            cert.verify_directly_issued_by(other)
        assert state._signature_reason(cert, other) == "the certificate was not signed by the CA", name
    assert state._signature_reason(cert, None) == "the certificate was not signed by the CA"
    odd = _ca("test CA", ed25519.Ed25519PrivateKey.generate())[1]
    assert state._signature_reason(cert, odd) == "the CA key is neither RSA nor EC, so its signature is not checked"
