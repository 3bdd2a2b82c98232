"""Encryption at rest for stored values: the :class:`Cipher` protocol (LangGraph's
``CipherProtocol``: ``encrypt(plaintext) -> (cipher name, ciphertext)`` and
``decrypt(cipher name, ciphertext) -> plaintext``) and :class:`AesGcmCipher`, AES-GCM with
key rotation.

A ``Serializer(cipher=...)`` encrypts every value it encodes (channel values, pending
writes, the checkpoint body with its metadata) and decrypts on read. AES-GCM authenticates
what it decrypts: a value changed on disk, or read with another key, is refused instead of
decoded to something else.

:class:`AesGcmCipher` ciphertext is ``version (1 byte) | key id (8 bytes) | nonce (12
bytes) | ciphertext and tag``. The key id (the first 8 bytes of the key's SHA-256) says
which key wrote a value, so a cipher given the current key and the ``previous`` ones reads
values written under any of them and writes with the current one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from hone.errors import CheckpointCorruptError, CheckpointError, ConfigError

__all__ = ["AesGcmCipher", "Cipher"]

_VERSION = 1
_KEY_ID = 8
_NONCE = 12
_HEADER = 1 + _KEY_ID + _NONCE


@runtime_checkable
class Cipher(Protocol):
    """Encrypts stored values (LangGraph's ``CipherProtocol``, so its ciphers work too)."""

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        """The cipher's name (stored beside the value) and the ciphertext."""
        ...

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        """The plaintext of a value this cipher (named ``ciphername``) encrypted."""
        ...


def _key_bytes(key: bytes | str, what: str) -> bytes:
    raw = key if isinstance(key, bytes) else _from_base64(key, what)
    if len(raw) not in (16, 24, 32):
        raise ConfigError(
            f"{what} must be 16, 24 or 32 bytes (AES-128/192/256), got {len(raw)} bytes"
        )
    return raw


def _from_base64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(
            f"{what} must be base64 text of a 16, 24 or 32 byte key (make one with "
            '`python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"`)'
        ) from exc


class AesGcmCipher:
    """AES-GCM (``cryptography``'s ``AESGCM``, a random 96-bit nonce per value).

    Args:
        key: the key that encrypts from now on: 16, 24 or 32 bytes, or base64 text of them.
        previous: older keys that only decrypt (key rotation: values written under them stay
            readable; new values use ``key``).

    Raises:
        ConfigError: a key of the wrong size or not base64; ``cryptography`` not installed
            (``pip install 'hone[encryption]'``).
    """

    name = "aesgcm"

    def __init__(self, key: bytes | str, *, previous: Iterable[bytes | str] = ()) -> None:
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError as exc:  # pragma: no cover - a dev install has it
            raise ConfigError(
                "AesGcmCipher needs the cryptography package: pip install 'hone[encryption]'"
            ) from exc
        current = _key_bytes(key, "the key")
        self._key_id = _key_id(current)
        self._aead = {self._key_id: AESGCM(current)}
        for i, old in enumerate(previous):
            raw = _key_bytes(old, f"previous key {i}")
            self._aead.setdefault(_key_id(raw), AESGCM(raw))

    @classmethod
    def from_env(cls, var: str = "HONE_AES_KEY") -> AesGcmCipher:
        """The cipher whose key is the base64 text in the environment variable ``var``, with
        the previous keys (comma-separated base64) in ``<var>_PREVIOUS`` if set.

        Raises:
            ConfigError: ``var`` is not set, or a key is malformed.
        """
        key = os.environ.get(var)
        if not key:
            raise ConfigError(f"the environment variable {var} (a base64 AES key) is not set")
        previous = [k for k in os.environ.get(f"{var}_PREVIOUS", "").split(",") if k.strip()]
        try:
            return cls(key, previous=previous)
        except ConfigError as exc:
            raise ConfigError(f"{var} or {var}_PREVIOUS: {exc}") from exc

    def __repr__(self) -> str:
        return f"AesGcmCipher(key_id={self._key_id.hex()}, keys={len(self._aead)})"

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        """``("aesgcm", version | key id | nonce | ciphertext and tag)``."""
        nonce = os.urandom(_NONCE)
        sealed = self._aead[self._key_id].encrypt(nonce, plaintext, None)
        return self.name, bytes((_VERSION,)) + self._key_id + nonce + sealed

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        """The plaintext, with the key that wrote it.

        Raises:
            CheckpointError: the value was written by another cipher or under a key this
                cipher does not hold.
            CheckpointCorruptError: the value was changed after it was written.
        """
        if ciphername != self.name or len(ciphertext) < _HEADER or ciphertext[0] != _VERSION:
            raise CheckpointError(
                f"a stored value was encrypted by cipher {ciphername!r} in a format "
                "AesGcmCipher does not read"
            )
        key_id, nonce = ciphertext[1 : 1 + _KEY_ID], ciphertext[1 + _KEY_ID : _HEADER]
        aead = self._aead.get(key_id)
        if aead is None:
            raise CheckpointError(
                f"a stored value was encrypted under key {key_id.hex()}, which this cipher "
                f"does not hold (its keys: {', '.join(k.hex() for k in self._aead)}); pass "
                "that key in previous=[...]"
            )
        from cryptography.exceptions import InvalidTag

        try:
            return aead.decrypt(nonce, ciphertext[_HEADER:], None)
        except InvalidTag as exc:
            raise CheckpointCorruptError(
                f"a stored value encrypted under key {key_id.hex()} failed authentication: "
                "it was changed after it was written"
            ) from exc


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:_KEY_ID]
