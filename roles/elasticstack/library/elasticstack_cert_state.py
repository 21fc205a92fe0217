#!/usr/bin/python
"""Tell whether a service's key, certificate and CA certificate in place are exactly what the role would make.

One module run replaces the nine the certificate tasks need to reach the same answer; the role makes, signs or
installs anything only when this says the files are not current. It reads and never writes, and it never
returns key material.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: elasticstack_cert_state
short_description: Check a service's key, certificate and CA certificate against what the role wants
description:
  - Reads O(dir)/O(name).key, O(dir)/O(name).crt and O(dir)/ca.crt and reports RV(current) true only when all of
    these hold; otherwise RV(reasons) says what differs.
  - The folder, the key, the certificate and ca.crt belong to root and O(group), with the modes the role sets.
  - The key is an unencrypted PKCS#8 RSA key of O(key_size) bits.
  - The certificate holds the key's public key, the subject CN=O(common_name) and nothing else, exactly the
    O(subject_alt_name) entries, key usage digitalSignature and keyEncipherment (critical), extended key usage
    serverAuth and clientAuth, was signed by O(ca_cert), and is valid now and O(renew_days) days from now.
  - ca.crt holds O(ca_cert).
  - Changes nothing, so it runs the same in check mode.
options:
  dir:
    description: Folder of the key, the certificate and ca.crt.
    type: path
    required: true
  name:
    description: File name of the key and the certificate, without .key and .crt.
    type: str
    required: true
  group:
    description: Group of the folder and the files.
    type: str
    required: true
  key_mode:
    description: Mode of the key file, octal.
    type: str
    required: true
  key_size:
    description: Bits of the RSA key.
    type: int
    default: 2048
  common_name:
    description: The certificate's subject CN.
    type: str
    required: true
  subject_alt_name:
    description: The certificate's SAN entries, as C(IP:address) and C(DNS:name).
    type: list
    elements: str
    required: true
  ca_cert:
    description: PEM of the CA certificate that must have signed it; empty when the controller has no CA yet.
    type: str
    required: true
  renew_days:
    description: The certificate counts as due when it expires within this many days.
    type: int
    required: true
author: Alur
"""

RETURN = r"""
current:
  description: Whether the files in place are exactly what the role would make and install.
  returned: always
  type: bool
reasons:
  description: What differs (paths, owners, modes, names, CA, validity); empty when RV(current) is true.
  returned: always
  type: list
  elements: str
"""

import datetime
import grp
import os
import stat

from ansible.module_utils.basic import AnsibleModule

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # the role installs python3-cryptography; before that nothing is current
    x509 = None


OWNER_UID = 0  # root
DIR_MODE = 0o750
PUBLIC_MODE = 0o644


def _owner_reasons(path, gid, mode, want_dir=False):
    """Why path is not root:gid with this mode (a missing path is a reason of its own)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return [f"{path} is missing"]
    reasons = []
    if want_dir != stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
        reasons.append(f"{path} is not a {'folder' if want_dir else 'file'}")
    if st.st_uid != OWNER_UID or st.st_gid != gid:
        reasons.append(f"{path} belongs to {st.st_uid}:{st.st_gid}, not root:{gid}")
    if stat.S_IMODE(st.st_mode) != mode:
        reasons.append(f"{path} has mode {stat.S_IMODE(st.st_mode):04o}, not {mode:04o}")
    return reasons


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _names(cert):
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    entries = {f"DNS:{value}" for value in san.get_values_for_type(x509.DNSName)}
    entries |= {f"IP:{value}" for value in san.get_values_for_type(x509.IPAddress)}
    if len(entries) != len(list(san)):
        entries.add("(other kinds of names)")
    return entries


def _usage_reasons(cert):
    reasons = []
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
        value = usage.value
        wanted = value.digital_signature and value.key_encipherment and usage.critical
        others = (
            value.content_commitment
            or value.data_encipherment
            or value.key_agreement
            or value.key_cert_sign
            or value.crl_sign
        )
        if not wanted or others:
            reasons.append("key usage is not exactly digitalSignature and keyEncipherment (critical)")
    except x509.ExtensionNotFound:
        reasons.append("the certificate has no key usage")
    try:
        extended = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        extended = set()
    if extended != {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}:
        reasons.append("extended key usage is not exactly serverAuth and clientAuth")
    return reasons


def _signature_reason(cert, ca):
    """Why ca did not sign cert, or None when it did: the issuer is the CA's subject and the CA's public key
    verifies the signature. Written out rather than cert.verify_directly_issued_by, which python3-cryptography
    gains only in 40 (Debian 12 has 38), so that every host runs the same check."""
    if ca is None or cert.issuer != ca.subject:
        return "the certificate was not signed by the CA"
    public = ca.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        args = (padding.PKCS1v15(), cert.signature_hash_algorithm)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        args = (ec.ECDSA(cert.signature_hash_algorithm),)
    else:  # the role's CA is RSA; another kind of key is not checked, so the certificate is made again
        return "the CA key is neither RSA nor EC, so its signature is not checked"
    try:
        public.verify(cert.signature, cert.tbs_certificate_bytes, *args)
    except (ValueError, TypeError, InvalidSignature):
        return "the certificate was not signed by the CA"
    return None


def _certificate_reasons(params, key, cert_pem, now):
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return ["the certificate cannot be read"]
    reasons = []
    if key is not None and cert.public_key().public_numbers() != key.public_key().public_numbers():
        reasons.append("the certificate is not for the key in place")
    subject = [(attr.oid, attr.value) for attr in cert.subject]
    if subject != [(NameOID.COMMON_NAME, params["common_name"])]:
        reasons.append(f"the subject is {cert.subject.rfc4514_string()}, not CN={params['common_name']}")
    names, wanted = _names(cert), set(params["subject_alt_name"])
    if names != wanted:
        reasons.append(f"the names are {sorted(names)}, not {sorted(wanted)}")
    reasons += _usage_reasons(cert)
    try:
        ca = x509.load_pem_x509_certificate(params["ca_cert"].encode())
    except ValueError:
        ca = None
    reason = _signature_reason(cert, ca)
    if reason:
        reasons.append(reason)
    due = now + datetime.timedelta(days=params["renew_days"])
    if hasattr(cert, "not_valid_after_utc"):
        not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    else:
        utc = datetime.timezone.utc
        not_before, not_after = cert.not_valid_before.replace(tzinfo=utc), cert.not_valid_after.replace(tzinfo=utc)
    if not (not_before <= now and due <= not_after):
        reasons.append(f"the certificate is not valid from now to {params['renew_days']} days from now")
    return reasons


def _key_reasons(params, key_pem):
    if not key_pem.startswith(b"-----BEGIN PRIVATE KEY-----"):
        return None, ["the key is not an unencrypted PKCS#8 PEM key"]
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        return None, ["the key cannot be read"]
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != params["key_size"]:
        return None, [f"the key is not RSA of {params['key_size']} bits"]
    return key, []


def cert_state(params, now=None):
    """(current, reasons) for the files params describe; the module's work without AnsibleModule."""
    if x509 is None:
        return False, ["python3-cryptography is not installed"]
    if not params["ca_cert"].strip():
        return False, ["the controller has no CA certificate yet"]
    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        gid = grp.getgrnam(params["group"]).gr_gid
    except KeyError:
        return False, [f"group {params['group']} does not exist"]
    base = os.path.join(params["dir"], params["name"])
    reasons = _owner_reasons(params["dir"], gid, DIR_MODE, want_dir=True)
    reasons += _owner_reasons(base + ".key", gid, int(params["key_mode"], 8))
    reasons += _owner_reasons(base + ".crt", gid, PUBLIC_MODE)
    ca_path = os.path.join(params["dir"], "ca.crt")
    reasons += _owner_reasons(ca_path, gid, PUBLIC_MODE)
    key_pem, cert_pem, ca_pem = _read(base + ".key"), _read(base + ".crt"), _read(ca_path)
    key = None
    if key_pem is not None:
        key, more = _key_reasons(params, key_pem)
        reasons += more
    if cert_pem is not None:
        reasons += _certificate_reasons(params, key, cert_pem, now)
    # The copy task installs the controller's file as it is; the lookup that read it dropped the final newline.
    if ca_pem is not None and ca_pem.rstrip(b"\n") != params["ca_cert"].encode().rstrip(b"\n"):
        reasons.append(f"{ca_path} is not the CA certificate")
    return not reasons, reasons


def main():
    module = AnsibleModule(
        argument_spec={
            "dir": {"type": "path", "required": True},
            "name": {"type": "str", "required": True},
            "group": {"type": "str", "required": True},
            "key_mode": {"type": "str", "required": True},
            "key_size": {"type": "int", "default": 2048},
            "common_name": {"type": "str", "required": True},
            "subject_alt_name": {"type": "list", "elements": "str", "required": True},
            "ca_cert": {"type": "str", "required": True},
            "renew_days": {"type": "int", "required": True},
        },
        supports_check_mode=True,
    )
    current, reasons = cert_state(module.params)
    module.exit_json(changed=False, current=current, reasons=reasons)


if __name__ == "__main__":
    main()
