"""The link's security and protocol: TLS with verification, client certificates, 3.1.1 fallback."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from polling import wait_until
from synckit import EdgeSync, alert, fast

from simlab.linkproxy import LinkProxy
from storeedge.adapters.broker import PrivateMosquitto, find_mosquitto, free_port, wait_for_port
from storeedge.config import Settings
from storeedge.simulators.central import CentralSimulator


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    san: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@dataclasses.dataclass
class Pki:
    ca: Path
    other_ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _pem(cert: x509.Certificate, path: Path) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca_key, other_key, server_key, client_key = _key(), _key(), _key(), _key()
    ca = _cert("storeedge test CA", ca_key, None, ca_key, ca=True)
    other = _cert("some other CA", other_key, None, other_key, ca=True)
    server = _cert("127.0.0.1", server_key, ca, ca_key, san=True)
    client = _cert("edge-1", client_key, ca, ca_key)
    return Pki(
        ca=_pem(ca, tmp_path / "ca.pem"),
        other_ca=_pem(other, tmp_path / "other-ca.pem"),
        server_cert=_pem(server, tmp_path / "server.pem"),
        server_key=_write_key(server_key, tmp_path / "server.key"),
        client_cert=_pem(client, tmp_path / "client.pem"),
        client_key=_write_key(client_key, tmp_path / "client.key"),
    )


@dataclasses.dataclass
class TlsBroker:
    plain_port: int
    tls_port: int


@pytest.fixture
def tls_broker(tmp_path: Path, pki: Pki) -> Iterator[TlsBroker]:
    binary = find_mosquitto()
    assert binary
    plain, tls = free_port(), free_port()
    conf = tmp_path / "mosquitto-tls.conf"
    conf.write_text(
        f"per_listener_settings false\nallow_anonymous true\n"
        f"listener {plain} 127.0.0.1\n"
        f"listener {tls} 127.0.0.1\ncafile {pki.ca}\ncertfile {pki.server_cert}\n"
        f"keyfile {pki.server_key}\nrequire_certificate true\n"
        + ("user root\n" if os.geteuid() == 0 else ""),
        encoding="utf-8",
    )
    log = (tmp_path / "mosquitto-tls.log").open("ab")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
    log.close()
    try:
        assert wait_for_port("127.0.0.1", tls, 10)
        yield TlsBroker(plain, tls)
    finally:
        proc.terminate()
        proc.wait(5)


def _tls_settings(
    base: Settings, port: int, ca: Path, cert: Path | None, key: Path | None
) -> Settings:
    mqtt = dataclasses.replace(
        base.mqtt, tls=True, port=port, ca_file=ca, cert_file=cert, key_file=key
    )
    return dataclasses.replace(base, mqtt=mqtt)


def test_tls_with_verified_server_and_client_certificate(
    tls_broker: TlsBroker, pki: Pki, make_settings: Callable[..., Settings]
) -> None:
    central = CentralSimulator("127.0.0.1", tls_broker.plain_port, "store-042")
    central.start()
    settings = _tls_settings(
        fast(make_settings()), tls_broker.tls_port, pki.ca, pki.client_cert, pki.client_key
    )
    edge = EdgeSync(settings).start()
    try:
        assert wait_until(lambda: edge.link.connected, 10.0)
        edge.outbox.emit(alert(1))
        assert central.wait_for(lambda c: c.checker.counts["unique"] == 1, 10)
    finally:
        edge.stop()
        central.stop()


@pytest.mark.parametrize("case", ["unknown CA", "no client certificate"])
def test_tls_refuses_what_it_cannot_verify(
    tls_broker: TlsBroker, pki: Pki, make_settings: Callable[..., Settings], case: str
) -> None:
    if case == "unknown CA":
        settings = _tls_settings(
            fast(make_settings()),
            tls_broker.tls_port,
            pki.other_ca,
            pki.client_cert,
            pki.client_key,
        )
    else:
        settings = _tls_settings(fast(make_settings()), tls_broker.tls_port, pki.ca, None, None)
    edge = EdgeSync(settings).start()
    try:
        assert wait_until(
            lambda: (
                edge.link.counters["connect_failures"]
                + edge.link.counters["disconnects"]
                + edge.link.counters["loop_errors"]
                >= 1
                or bool(edge.link.last_error)
            ),
            10.0,
        )
        time.sleep(1.0)
        assert not edge.link.connected
        assert edge.link.counters["connects"] == 0
    finally:
        edge.stop()


def test_falls_back_to_mqtt_311_when_the_broker_refuses_5(
    mosquitto: PrivateMosquitto, make_settings: Callable[..., Settings]
) -> None:
    proxy = LinkProxy(mosquitto.host, mosquitto.port).start()
    proxy.reject_mqtt5(True)
    central = CentralSimulator(mosquitto.host, mosquitto.port, "store-042")
    central.start()
    edge = EdgeSync(fast(make_settings(port=proxy.port))).start()
    try:
        assert wait_until(lambda: edge.link.connected, 15)
        assert edge.link.protocol == "3.1.1"
        edge.outbox.emit(alert(1))
        assert central.wait_for(lambda c: c.checker.counts["unique"] == 1, 10)
        assert central.events[0].user_properties == ()  # 3.1.1 has none; the payload has all
    finally:
        edge.stop()
        central.stop()
        proxy.stop()
