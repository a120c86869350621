"""Protection at rest for stored payloads: a versioned envelope, signed or encrypted.

A store seals every payload it writes (callable reference and arguments) with a
:class:`PayloadCodec` and opens it again on read. Without a key the envelope only marks the
format version; with a key, a row that anyone without the key wrote or changed is refused
(:class:`PayloadError`), so a writable database can no longer choose what a scheduler runs.

Envelopes (all headers are ASCII, so signed rows stay readable in a database shell)::

    p1:<payload>                                    plain
    s1:<key id>:<HMAC-SHA256, 64 hex>:<payload>     signed
    e1:<key id>:<nonce, 12 bytes><AES-GCM ciphertext and tag>
                                                    encrypted (needs ``cryptography``)

``<key id>`` is 8 hex characters derived from the secret, so :meth:`PayloadCodec.open` can pick
the right key among the current one and ``old_keys``. The MAC covers the header (version, mode
and key id) and the payload; for encryption the header is the associated data.

Keys: the secret is never used directly. HKDF-SHA256 (RFC 5869, written with :mod:`hmac`
since every output fits one block) derives the key id, the signing key and the encryption key
with distinct labels, so the same secret can sign and encrypt safely.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .errors import SerializationError

__all__ = ("PayloadCodec", "PayloadError", "StateKey")

_PLAIN = b"p1:"
_SIGNED = b"s1:"
_ENCRYPTED = b"e1:"
_PREFIX_LEN = 3
_KID_LEN = 8  # hex characters: 32 bits, enough to tell a handful of rotated keys apart
_HEADER_LEN = _PREFIX_LEN + _KID_LEN + 1  # "s1:" + key id + ":"
_MAC_LEN = 64  # hex characters of HMAC-SHA256
_NONCE_LEN = 12  # AES-GCM's standard nonce; random nonces are safe for ~2**32 rows per key
_TAG_LEN = 16
#: Shortest secret accepted, in bytes (after UTF-8 encoding of a ``str``).
MIN_SECRET_LEN = 16

_SALT = b"aioscheduler payload codec"
_INSTALL_HINT = "pip install 'aioscheduler[crypto]'"


class PayloadError(SerializationError):
    """A stored payload cannot be opened: tampered, sealed with an unknown key, or unsigned.

    A store reports the job as broken rather than running or deleting it.
    """


def _hkdf(secret: bytes, label: bytes) -> bytes:
    """HKDF-SHA256 with a 32-byte output: a single expand block ``T(1)``."""
    prk = hmac.digest(_SALT, secret, hashlib.sha256)
    return hmac.digest(prk, label + b"\x01", hashlib.sha256)


@dataclass(frozen=True, slots=True)
class _Key:
    """The material derived from one secret. Never shows the keys in its repr."""

    kid: bytes
    sign: bytes = field(repr=False)
    encrypt: bytes = field(repr=False)
    state: bytes = field(repr=False)
    leaf: bytes = field(repr=False)

    @classmethod
    def derive(cls, secret: object, name: str) -> _Key:
        if isinstance(secret, str):
            secret = secret.encode()
        if not isinstance(secret, bytes):
            raise SerializationError(f"{name} must be str or bytes, not {type(secret).__name__}")
        if len(secret) < MIN_SECRET_LEN:
            # The message never includes the secret itself.
            raise SerializationError(
                f"{name} is too weak: {len(secret)} bytes, at least {MIN_SECRET_LEN} are "
                "needed; generate one with secrets.token_urlsafe(32)"
            )
        return cls(
            kid=_hkdf(secret, b"aioscheduler/v1 key id").hex()[:_KID_LEN].encode("ascii"),
            sign=_hkdf(secret, b"aioscheduler/v1 sign"),
            encrypt=_hkdf(secret, b"aioscheduler/v1 encrypt"),
            state=_hkdf(secret, b"aioscheduler/v1 state"),
            leaf=_hkdf(secret, b"aioscheduler/v1 state leaf"),
        )


class _AEAD(Protocol):
    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


class _Cipher:
    """AES-256-GCM from ``cryptography``, imported only when encryption is used."""

    __slots__ = ("_aesgcm", "_invalid_tag")

    def __init__(self, error: type[SerializationError]) -> None:
        # importlib rather than an import statement: the extra is optional, for mypy too.
        try:
            aead = importlib.import_module("cryptography.hazmat.primitives.ciphers.aead")
            exceptions = importlib.import_module("cryptography.exceptions")
        except ImportError as exc:
            raise error(f"encryption needs the 'cryptography' package: {_INSTALL_HINT}") from exc
        self._aesgcm: Callable[[bytes], _AEAD] = aead.AESGCM
        self._invalid_tag: type[Exception] = exceptions.InvalidTag

    def encrypt(self, key: _Key, header: bytes, payload: bytes) -> bytes:
        nonce = os.urandom(_NONCE_LEN)
        return nonce + self._aesgcm(key.encrypt).encrypt(nonce, payload, header)

    def decrypt(self, key: _Key, header: bytes, body: bytes) -> bytes | None:
        nonce, ciphertext = body[:_NONCE_LEN], body[_NONCE_LEN:]
        try:
            return self._aesgcm(key.encrypt).decrypt(nonce, ciphertext, header)
        except self._invalid_tag:
            return None


class StateKey:
    """MACs over a store's plain state (next times, flags, claims) with one secret.

    A *tag* (:meth:`tag`) is written next to the state it vouches for and names its key id:
    ``<key id>:<HMAC-SHA256, 64 hex>``. A *leaf* (:meth:`leaf`) is a second keyed hash of a
    tag that is never written: a store XORs the leaves of all its tags into one digest and
    keeps only a MAC of that digest, so that a tag put back, deleted or copied in is noticed
    (``stores/_sqlite_seals.py``). The keys are derived from the secret with their own labels.
    """

    __slots__ = ("_leaf", "_state", "kid")

    def __init__(self, key: _Key) -> None:
        self.kid = key.kid
        self._state = key.state
        self._leaf = key.leaf

    def tag(self, message: bytes) -> bytes:
        """The tag of ``message`` under this key."""
        return self.kid + b":" + hmac.digest(self._state, message, "sha256").hex().encode()

    def check(self, message: bytes, tag: bytes) -> bool:
        """Whether ``tag`` is this key's tag of ``message`` (constant time)."""
        return hmac.compare_digest(self.tag(message), bytes(tag))

    def leaf(self, tag: bytes) -> int:
        """The hidden value a tag adds to a store's digest (256 bits)."""
        return int.from_bytes(hmac.digest(self._leaf, tag, "sha256"), "big")


def _mac(key: _Key, header: bytes, payload: bytes) -> bytes:
    mac = hmac.new(key.sign, header, hashlib.sha256)
    mac.update(payload)
    return mac.hexdigest().encode("ascii")


class PayloadCodec:
    """Seals payloads before a store writes them and opens them after it reads them.

    Three modes, chosen by the arguments:

    * no ``secret_key``: a plain, versioned envelope. Rows anyone can write are trusted, so
      use this only where the database is as trusted as the code.
    * ``secret_key``: payloads are signed with HMAC-SHA256; a row changed or written without
      the key is refused with :class:`PayloadError`.
    * ``secret_key`` and ``encrypt=True``: payloads are encrypted and authenticated with
      AES-256-GCM (``pip install 'aioscheduler[crypto]'``).

    Rotation: pass the new secret as ``secret_key`` and the previous ones in ``old_keys``.
    Rows sealed with an old key, or in another mode, still open; :meth:`seal` always uses the
    current key and mode, and :meth:`needs_reseal` tells a store which rows to write again.

    Args:
        secret_key: At least 16 bytes (a ``str`` is UTF-8 encoded); ``None`` for no protection.
        old_keys: Earlier secrets whose rows must still open.
        encrypt: Encrypt as well as authenticate.
        accept_unsigned: With a key, still open plain rows (to migrate an unprotected store).
            Off by default: otherwise an attacker could simply strip the signature.

    Raises:
        SerializationError: A secret is shorter than 16 bytes or not ``str``/``bytes``,
            ``encrypt`` or ``old_keys`` is given without ``secret_key``, or ``encrypt=True``
            and ``cryptography`` is not installed.

    Example:
        >>> codec = PayloadCodec("correct horse battery staple")
        >>> codec.open(codec.seal(b'{"v":1}'))
        b'{"v":1}'
    """

    __slots__ = ("_accept_unsigned", "_cipher", "_current", "_keys", "_prefix")

    def __init__(
        self,
        secret_key: str | bytes | None = None,
        *,
        old_keys: Sequence[str | bytes] = (),
        encrypt: bool = False,
        accept_unsigned: bool = False,
    ) -> None:
        if secret_key is None and (encrypt or old_keys):
            option = "encrypt=True" if encrypt else "old_keys"
            raise SerializationError(f"{option} needs a secret_key")
        if isinstance(old_keys, (str, bytes)):  # a lone secret would be split into characters
            raise SerializationError("old_keys must be a sequence of secrets, not one secret")
        self._current = None if secret_key is None else _Key.derive(secret_key, "secret_key")
        old = [_Key.derive(s, f"old_keys[{i}]") for i, s in enumerate(old_keys)]
        self._keys = () if self._current is None else (self._current, *old)
        self._cipher = _Cipher(SerializationError) if encrypt else None
        self._accept_unsigned = accept_unsigned
        self._prefix = _PLAIN if self._current is None else _ENCRYPTED if encrypt else _SIGNED

    def __repr__(self) -> str:
        mode = {_PLAIN: "plain", _SIGNED: "signed", _ENCRYPTED: "encrypted"}[self._prefix]
        return (
            f"PayloadCodec(mode={mode!r}, key_id={self.key_id!r}, old_keys={len(self._keys[1:])})"
        )

    @property
    def key_id(self) -> str | None:
        """The id of the current key as written in envelopes, or ``None`` without a key."""
        return None if self._current is None else self._current.kid.decode("ascii")

    @property
    def state_key(self) -> StateKey | None:
        """The current key's :class:`StateKey` (state tags), or ``None`` without a key."""
        return None if self._current is None else StateKey(self._current)

    def state_key_for(self, tag: bytes) -> StateKey | None:
        """The :class:`StateKey` whose id starts ``tag`` (current or old key), or ``None``."""
        kid = bytes(tag[:_KID_LEN])
        for key in self._keys:
            if key.kid == kid:
                return StateKey(key)
        return None

    def seal(self, payload: bytes) -> bytes:
        """Wrap ``payload`` in an envelope of the current mode, with the current key.

        Never raises: construction already checked the key and the ``cryptography`` import.
        """
        key = self._current
        if key is None:
            return _PLAIN + payload
        header = self._prefix + key.kid + b":"
        if self._cipher is not None:
            return header + self._cipher.encrypt(key, header, payload)
        return header + _mac(key, header, payload) + b":" + payload

    def open(self, sealed: bytes) -> bytes:
        """Check an envelope and return the payload it holds.

        Any envelope this codec can authenticate opens, whatever the current mode: a signed
        row opens under an encrypting codec, and rows sealed with any of ``old_keys`` open.

        Raises:
            PayloadError: The envelope is unknown or truncated; it is plain while a key is
                configured (and ``accept_unsigned`` is off); it is signed or encrypted but no
                key is configured; its key id is unknown; its signature or authentication tag
                does not match (the row was modified or written with another key); or it is
                encrypted and ``cryptography`` is not installed.
        """
        prefix = self._check_prefix(sealed)
        if prefix == _PLAIN:
            if self._current is not None and not self._accept_unsigned:
                raise PayloadError(
                    "the row is not signed but a secret_key is configured: refusing it, since "
                    "stripping the signature is what an attacker would do. Re-write the row, or "
                    "pass accept_unsigned=True while migrating an unprotected store"
                )
            return sealed[_PREFIX_LEN:]
        if self._current is None:
            raise PayloadError(
                "the row is signed or encrypted but this PayloadCodec has no secret_key; "
                "configure the key it was written with"
            )
        header, body = sealed[:_HEADER_LEN], sealed[_HEADER_LEN:]
        if len(header) < _HEADER_LEN or header[-1:] != b":":
            raise PayloadError("the row's envelope is truncated or malformed")
        kid = header[_PREFIX_LEN:-1]
        keys = [k for k in self._keys if k.kid == kid]  # usually one; more on an id collision
        if not keys:
            raise PayloadError(
                f"the row was sealed with an unknown key (key id "
                f"{kid.decode('ascii', 'replace')!r}); pass that secret in old_keys"
            )
        if prefix == _SIGNED:
            return self._verify(keys, header, body)
        return self._decrypt(keys, header, body)

    def authenticated(self, sealed: bytes) -> bool:
        """Whether ``sealed`` is signed or encrypted, rather than plain.

        Meaningful after :meth:`open` accepted the same bytes: then ``True`` means a holder of
        the key (current or old) wrote them, so the names they hold may be followed.
        """
        return bytes(sealed[:_PREFIX_LEN]) in (_SIGNED, _ENCRYPTED) and self._current is not None

    def needs_reseal(self, sealed: bytes) -> bool:
        """Whether sealing this row again would change it: another mode or an old key.

        A store can re-write such rows (``codec.seal(codec.open(row))``) after a key rotation
        or after turning on signing or encryption. Does not authenticate the row.

        Raises:
            PayloadError: The envelope is not one this version of aioscheduler knows.
        """
        prefix = self._check_prefix(sealed)
        if prefix != self._prefix:
            return True
        return self._current is not None and (
            sealed[_PREFIX_LEN : _PREFIX_LEN + _KID_LEN] != self._current.kid
        )

    # -- internals --------------------------------------------------------------------------------

    @staticmethod
    def _check_prefix(sealed: bytes) -> bytes:
        prefix = bytes(sealed[:_PREFIX_LEN])
        if prefix not in (_PLAIN, _SIGNED, _ENCRYPTED):
            raise PayloadError(
                f"unknown envelope {prefix!r}: the row was not sealed by aioscheduler, or by a "
                "newer version of it"
            )
        return prefix

    @staticmethod
    def _verify(keys: list[_Key], header: bytes, body: bytes) -> bytes:
        mac, sep, payload = body[:_MAC_LEN], body[_MAC_LEN : _MAC_LEN + 1], body[_MAC_LEN + 1 :]
        if sep == b":" and any(hmac.compare_digest(_mac(k, header, payload), mac) for k in keys):
            return payload
        raise PayloadError(
            "signature check failed: the row was modified or written with another key"
        )

    def _decrypt(self, keys: list[_Key], header: bytes, body: bytes) -> bytes:
        # A codec that no longer encrypts still opens the encrypted rows it finds.
        cipher = self._cipher or _Cipher(PayloadError)
        if len(body) >= _NONCE_LEN + _TAG_LEN:
            for key in keys:
                payload = cipher.decrypt(key, header, body)
                if payload is not None:
                    return payload
        raise PayloadError("decryption failed: the row was modified or written with another key")
