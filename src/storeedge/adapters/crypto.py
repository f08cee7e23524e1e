"""AES-128-ECB for Eddystone-EID: OpenSSL's EVP interface through ctypes, or cryptography.

Building the resolver's table costs two AES-128 calls per member, each with a fresh
key. Through ``cryptography``'s ``Cipher`` API one call costs 6-10 µs here, almost
all of it building Python objects for the key; calling libcrypto's EVP functions
directly, re-keying one cipher context per thread, costs about 3 µs. When libcrypto
cannot be loaded (or the input is not whole 16-byte blocks of a 16-byte key), the
``cryptography`` path is used: both give the same bytes (tests/recognition).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_LOGGER = logging.getLogger(__name__)

_BUFFER = 256  # bytes of output per call on the fast path (16 blocks)


def aes128_ecb_portable(key: bytes, data: bytes) -> bytes:
    # NB: ECB is what the Eddystone-EID spec prescribes for single-block derivations;
    # it is not used for confidentiality of longer data here.
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
    return encryptor.update(data) + encryptor.finalize()


class _Evp:
    """libcrypto's EVP AES-128-ECB, one re-keyable context per thread."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        lib.EVP_CIPHER_CTX_new.restype = ctypes.c_void_p
        lib.EVP_CIPHER_CTX_new.argtypes = []
        lib.EVP_aes_128_ecb.restype = ctypes.c_void_p
        lib.EVP_aes_128_ecb.argtypes = []
        lib.EVP_CIPHER_CTX_set_padding.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.EVP_EncryptInit_ex.argtypes = [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p,
        ]  # fmt: skip
        lib.EVP_EncryptUpdate.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_char_p,
            ctypes.c_int,
        ]  # fmt: skip
        self._lib = lib
        self._cipher = lib.EVP_aes_128_ecb()
        self._local = threading.local()

    def _state(self) -> tuple[int, ctypes.Array[ctypes.c_char], object]:
        # NB: a context and an output buffer per thread: the demo's simulated phones
        # compute EIDs on another thread than the pipeline. Contexts live as long as
        # their thread's first use (a handful per process), so they are not freed.
        ctx = self._lib.EVP_CIPHER_CTX_new()
        if not ctx or self._lib.EVP_EncryptInit_ex(ctx, self._cipher, None, bytes(16), None) != 1:
            raise OSError("libcrypto: cannot set up an AES-128-ECB context")
        self._lib.EVP_CIPHER_CTX_set_padding(ctx, 0)
        out_len = ctypes.c_int()
        state = (ctx, ctypes.create_string_buffer(_BUFFER), ctypes.byref(out_len))
        self._local.state = state
        return state

    def make(self) -> Callable[[bytes, bytes], bytes]:
        init, update, local, state_of = (
            self._lib.EVP_EncryptInit_ex,
            self._lib.EVP_EncryptUpdate,
            self._local,
            self._state,
        )

        def aes128_ecb(key: bytes, data: bytes) -> bytes:
            size = len(data)
            if len(key) != 16 or size % 16 or not 0 < size <= _BUFFER:
                return aes128_ecb_portable(key, data)  # NB: raises as cryptography does
            try:
                ctx, out, out_len = local.state
            except AttributeError:
                try:
                    ctx, out, out_len = state_of()
                except OSError:
                    return aes128_ecb_portable(key, data)
            if init(ctx, None, None, key, None) != 1 or update(ctx, out, out_len, data, size) != 1:
                return aes128_ecb_portable(key, data)
            ciphertext: bytes = out.raw[:size]
            return ciphertext

        return aes128_ecb


def _fast() -> Callable[[bytes, bytes], bytes] | None:
    name = ctypes.util.find_library("crypto")
    candidates = [n for n in (name, "libcrypto.so.3") if n]
    for candidate in candidates:
        try:
            fast = _Evp(ctypes.CDLL(candidate)).make()
            probe = bytes(range(16))
            if fast(probe, probe * 3) == aes128_ecb_portable(probe, probe * 3):
                return fast
        except (OSError, AttributeError) as exc:  # NB: no libcrypto 1.1/3 here: portable path
            _LOGGER.debug("libcrypto %s unusable: %s", candidate, exc)
    return None


aes128_ecb: Callable[[bytes, bytes], bytes] = _fast() or aes128_ecb_portable
