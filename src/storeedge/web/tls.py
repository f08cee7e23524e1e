"""A store CA and the web server's certificate, for HTTPS on the store network.

``storeedge tls-cert --dir DIR --name HOST [--name ...] [--ip ADDR ...]`` (the installer
runs it) makes, in ``DIR``:

- ``store-ca.pem`` / ``store-ca-key.pem``: the store's own certificate authority,
  made once and kept (P-256, 10 years). The technician installs ``store-ca.pem`` on
  each tablet (docs/operations.md, "Network security"). It is *name-constrained*:
  it can only vouch for the names given when it was made, ``localhost``, ``*.local``,
  loopback and private addresses, so its key, if stolen, cannot impersonate any
  other site to the tablets that trust it.
- ``server.pem`` / ``server-key.pem``: the certificate ``[web] tls_cert_file`` and
  ``tls_key_file`` name, signed by that CA, for the given names and addresses plus
  ``localhost``, 127.0.0.1 and ::1 (P-256, 825 days, the most Apple devices accept),
  re-issued each time the command runs.

Keys are written mode 0600. A store that has its own certificate skips all this and
points the two keys at it.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import sys
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE: Final = "store-ca.pem"
CA_KEY_FILE: Final = "store-ca-key.pem"
CERT_FILE: Final = "server.pem"
KEY_FILE: Final = "server-key.pem"
CA_DAYS: Final = 3650
SERVER_DAYS: Final = 825
_PRIVATE_NETS: Final = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8")
_PRIVATE_NETS6: Final = ("fc00::/7", "fe80::/10", "::1/128")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def make_ca(
    directory: Path, store_id: str, names: list[str]
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The store CA in ``directory``: loaded when it exists, else made and written."""
    cert_path, key_path = directory / CA_FILE, directory / CA_KEY_FILE
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path}: not the EC key this command makes")
        return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "storeedge"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"storeedge store CA {store_id}"),
        ]
    )
    permitted: list[x509.GeneralName] = [
        x509.DNSName(n) for n in sorted({*names, "localhost", "local"})
    ]
    permitted += [x509.IPAddress(ipaddress.ip_network(n)) for n in _PRIVATE_NETS + _PRIVATE_NETS6]
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.NameConstraints(permitted, None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    _write_key(key_path, key)
    _write_cert(cert_path, cert)
    return cert, key


def make_server_cert(
    directory: Path,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    names: list[str],
    addresses: list[IpAddress],
) -> Path:
    """Issue ``server.pem`` / ``server-key.pem`` for the names and addresses; its path."""
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    dns = sorted({*names, "localhost"})
    ips = sorted(
        {*addresses, ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")},
        key=lambda a: (a.version, int(a)),
    )
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns]
    sans += [x509.IPAddress(a) for a in ips]
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(directory / KEY_FILE, key)
    _write_cert(directory / CERT_FILE, cert)
    return directory / CERT_FILE


def register(sub: Any) -> None:
    cmd = sub.add_parser(
        "tls-cert",
        help="make the store CA (once) and the web server's HTTPS certificate",
        description="Writes store-ca.pem (install it on the tablets), server.pem and "
        "server-key.pem (for [web] tls_cert_file / tls_key_file) into DIR.",
    )
    cmd.add_argument("--dir", type=Path, required=True, help="where the files go")
    cmd.add_argument("--store-id", default="store", help="named in the CA's subject")
    cmd.add_argument(
        "--name", action="append", default=[], help="a host name tablets use (repeatable)"
    )
    cmd.add_argument(
        "--ip", action="append", default=[], help="an address tablets use (repeatable)"
    )
    cmd.set_defaults(handler=_cmd_tls)


def _cmd_tls(args: argparse.Namespace) -> int:
    try:
        addresses = [ipaddress.ip_address(a) for a in args.ip]
    except ValueError as exc:
        print(f"storeedge: tls-cert: {exc}", file=sys.stderr)  # noqa: T201  # the CLI's own output
        return 2
    names = [n.lower() for n in args.name]
    ca = make_ca(args.dir, args.store_id, names)
    cert = make_server_cert(args.dir, ca, names, addresses)
    print(f"store CA (install on the tablets): {args.dir / CA_FILE}")  # noqa: T201  # the CLI's own output
    print(f"server certificate: {cert}")  # noqa: T201  # the CLI's own output
    print(f"server key: {args.dir / KEY_FILE}")  # noqa: T201  # the CLI's own output
    return 0
