"""A mosquitto with TLS and a password file, for the doctor's field checks."""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from storeedge.adapters.broker import find_mosquitto, free_port, wait_for_port


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca_and_server(directory: Path) -> tuple[Path, Path, Path]:
    """A store CA and a broker certificate for localhost / 127.0.0.1 (PEM files)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("test central CA"))
        .issuer_name(_name("test central CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem, cert_pem, key_pem = (
        directory / "ca.pem",
        directory / "server.pem",
        directory / "server.key",
    )
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_pem, cert_pem, key_pem


class SecureMosquitto:
    """TLS on ``tls_port``, plaintext on ``plain_port``, one user with a password."""

    def __init__(self, directory: Path, username: str, password: str) -> None:
        self.directory = directory
        self.tls_port, self.plain_port = free_port(), free_port()
        self.ca, cert, key = make_ca_and_server(directory)
        passwords = directory / "passwords"
        subprocess.run(
            ["mosquitto_passwd", "-b", "-c", str(passwords), username, password],
            check=True,
            capture_output=True,
        )
        passwords.chmod(0o600)
        run_as = "user root\n" if os.geteuid() == 0 else ""
        conf = directory / "mosquitto.conf"
        conf.write_text(
            f"{run_as}per_listener_settings false\nallow_anonymous false\n"
            f"password_file {passwords}\npersistence false\nlog_dest stderr\n"
            f"listener {self.tls_port} 127.0.0.1\ncertfile {cert}\nkeyfile {key}\n"
            f"listener {self.plain_port} 127.0.0.1\n",
            encoding="utf-8",
        )
        binary = find_mosquitto()
        assert binary is not None, "mosquitto is not installed: run `make test`"
        with (directory / "mosquitto.log").open("wb") as log:
            self._proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
        assert wait_for_port("127.0.0.1", self.tls_port, 10), (
            directory / "mosquitto.log"
        ).read_text()
        assert wait_for_port("127.0.0.1", self.plain_port, 10)

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(5)
