"""HTTPS with the store CA the installer makes: trusted by a client that has the CA,
cookies Secure, handshakes that cannot hold up the accepting thread."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from edgekit import STAFF_PIN, RunningEdge, raw, request, running_edge

pytestmark = pytest.mark.timeout(120)


def make_cert(directory: Path) -> Path:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "storeedge",
            "tls-cert",
            "--dir",
            str(directory),
            "--store-id",
            "store-042",
            "--name",
            "edge-042.store.example",
            "--ip",
            "192.168.1.20",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return directory


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, tls_dir: Path) -> Iterator[RunningEdge]:
    web = (
        f'tls_cert_file = "{tls_dir / "server.pem"}"\n'
        f'tls_key_file = "{tls_dir / "server-key.pem"}"\n'
    )
    with running_edge(tmp_path_factory.mktemp("https"), web=web) as running:
        yield running


def trusting(tls_dir: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls_dir / "store-ca.pem"))


def test_the_store_ca_is_name_constrained_and_keys_are_private(tls_dir: Path) -> None:
    ca = x509.load_pem_x509_certificate((tls_dir / "store-ca.pem").read_bytes())
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    names = {
        n.value for n in constraints.value.permitted_subtrees or [] if isinstance(n, x509.DNSName)
    }
    assert names == {"edge-042.store.example", "localhost", "local"}
    server = x509.load_pem_x509_certificate((tls_dir / "server.pem").read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "edge-042.store.example" in sans.get_values_for_type(x509.DNSName)
    assert {str(a) for a in sans.get_values_for_type(x509.IPAddress)} >= {
        "127.0.0.1",
        "192.168.1.20",
    }
    for key in ("store-ca-key.pem", "server-key.pem"):
        assert (tls_dir / key).stat().st_mode & 0o077 == 0


def test_https_is_served_and_cookies_are_secure(edge: RunningEdge, tls_dir: Path) -> None:
    assert edge.scheme == "https"
    context = trusting(tls_dir)
    health = request(edge, "GET", "/healthz", context=context)
    assert health.status == 200

    signed = sign_in_tls(edge, context)
    assert signed.status == 303
    assert "Secure" in signed.cookies[0]

    done = subprocess.run(
        [sys.executable, "-m", "storeedge", "kiosk-enrol", "--config", str(edge.config), "kiosk-1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    url = done.stdout.strip().splitlines()[-1]
    assert url.startswith("https://")
    opened = request(edge, "GET", urlsplit(url).path, context=context)
    assert opened.status == 303
    assert "Secure" in opened.cookies[0]


def sign_in_tls(edge: RunningEdge, context: ssl.SSLContext) -> object:
    from urllib.parse import urlencode

    return request(
        edge,
        "POST",
        "/staff/login",
        source="127.0.0.2",
        context=context,
        body=urlencode({"name": "Marie", "pin": STAFF_PIN}),
    )


def test_silent_and_plaintext_clients_do_not_hold_up_others(
    edge: RunningEdge, tls_dir: Path
) -> None:
    silent = [
        socket.create_connection(
            ("127.0.0.1", edge.port), timeout=5, source_address=("127.0.6.1", 0)
        )
        for _ in range(10)
    ]
    try:
        started = time.monotonic()
        assert request(edge, "GET", "/healthz", context=trusting(tls_dir)).status == 200
        assert time.monotonic() - started < 1.0
        plain = raw(edge, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", timeout=3)
        assert b"200 OK" not in plain
    finally:
        for sock in silent:
            sock.close()
    untrusting = ssl.create_default_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        request(edge, "GET", "/healthz", context=untrusting)
    assert edge.proc.poll() is None
    assert "Traceback" not in edge.log()
