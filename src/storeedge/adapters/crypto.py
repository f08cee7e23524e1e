"""AES-128-ECB for Eddystone-EID, from the cryptography package."""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def aes128_ecb(key: bytes, data: bytes) -> bytes:
    # NB: ECB is what the Eddystone-EID spec prescribes for single-block derivations;
    # it is not used for confidentiality of longer data here.
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
    return encryptor.update(data) + encryptor.finalize()
