"""The AES adapter: libcrypto through ctypes gives exactly what cryptography gives."""

from __future__ import annotations

import random
import threading

import pytest

from storeedge.adapters.crypto import aes128_ecb, aes128_ecb_portable


def test_fast_and_portable_aes_agree() -> None:
    rng = random.Random(5)
    for blocks in (1, 2, 3, 16):
        for _ in range(50):
            key, data = rng.randbytes(16), rng.randbytes(16 * blocks)
            assert aes128_ecb(key, data) == aes128_ecb_portable(key, data)


def test_odd_inputs_fail_as_cryptography_fails() -> None:
    with pytest.raises(ValueError):
        aes128_ecb(bytes(15), bytes(16))
    with pytest.raises(ValueError):
        aes128_ecb(bytes(16), bytes(17))
    long = bytes(range(256)) * 2  # beyond the fast path's buffer: still right
    assert aes128_ecb(bytes(16), long) == aes128_ecb_portable(bytes(16), long)


def test_threads_do_not_share_a_cipher_context() -> None:
    failures: list[int] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(2_000):
            key, data = rng.randbytes(16), rng.randbytes(48)
            if aes128_ecb(key, data) != aes128_ecb_portable(key, data):
                failures.append(seed)
                return

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
