"""Seals of stored dossiers: HMAC-SHA256 under the host's key, or an unkeyed SHA-256.

Two things are sealed (docs/security.md):

* a **document** (:func:`segur_workflow.serialization.to_dict`): one digest per top-level field and an
  *empreinte* over those digests, the schema version, the algorithm and the key id;
* each **write of a repository** (one journal row per accepted command): a digest chained to the
  previous row's, over the dossier number, the row's position, what the write appended to the history
  and to the e-mails sent, and the digest of the whole snapshot written with it.

What is hashed is the *canonical* JSON of the stored value (sorted keys, no spaces, UTF-8), so a seal
depends on the stored content only, never on how a driver spelled it.

Keys. ``key`` is ``None`` (unkeyed SHA-256: detects any edit made without recomputing the digest),
``bytes`` (one HMAC key, its id derived from it), a :class:`Keyring` (several keys by id, one current:
rotation), or a plain ``Mapping[str, bytes]`` (a keyring whose current key is the last one).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import attrs
import orjson

from .errors import InvalidInput, SerializationError

__all__ = ["GENESIS", "HMAC", "SHA256", "KeyArg", "Keyring", "Sealer", "canonical", "digest", "key_id", "sealer"]

#: The "previous seal" of a journal's first row.
GENESIS = "0" * 64
#: The two algorithms, as they are named in stored data.
HMAC = "hmac-sha256"
SHA256 = "sha256"


def canonical(value: Any) -> bytes:
    """``value`` (plain JSON types) as canonical JSON bytes: sorted keys, compact, UTF-8.

    orjson writes it; what orjson refuses (integers beyond 64 bits, lone surrogates) goes to the
    standard ``json`` module, which writes the same text for everything orjson accepts. Anything
    neither can write (deep nesting, keys that are not strings, NaN) is a ``SerializationError``.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        pass
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError, RecursionError) as exc:
        raise SerializationError("$", f"contenu impossible à écrire en JSON canonique ({type(exc).__name__})") from None
    return text.encode("utf-8", "surrogatepass")


def digest(data: bytes) -> str:
    """Plain SHA-256 of ``data``, in hex (content digests; the seals use :class:`Sealer`)."""
    return hashlib.sha256(data).hexdigest()


def key_id(secret: bytes) -> str:
    """The id of a bare ``bytes`` key: derived from it by HMAC, so it says nothing about the key itself."""
    return "k" + hmac.new(secret, b"segur_workflow.key-id", hashlib.sha256).hexdigest()[:16]


def _check_secret(name: str, secret: object) -> bytes:
    if not isinstance(secret, bytes | bytearray) or not secret:
        raise InvalidInput(name, "une clé non vide (bytes)", secret)
    return bytes(secret)


@attrs.frozen
class Keyring:
    """Sealing keys by id: ``current`` seals what is written, every key verifies what is read.

    Rotation: add the new key under a new id and make it ``current``; keep the old ones for as
    long as data sealed with them is stored (or re-seal it with ``segur-workflow migrate``).
    """

    keys: Mapping[str, bytes]
    current: str

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.keys, Mapping) or not self.keys:
            raise InvalidInput("key", "au moins une clé (Mapping[str, bytes])", self.keys)
        for kid, secret in self.keys.items():
            if not isinstance(kid, str) or not kid.isascii() or not kid.isprintable() or not kid.strip():
                raise InvalidInput("key", "des identifiants de clé en ASCII visible", kid)
            _check_secret(f"key[{kid!r}]", secret)
        if self.current not in self.keys:
            raise InvalidInput("key", "une clé courante présente dans le trousseau", self.current)
        object.__setattr__(self, "keys", {k: bytes(v) for k, v in self.keys.items()})

    @classmethod
    def of(cls, key: KeyArg) -> Keyring | None:
        """The keyring ``key`` stands for (``None``: unkeyed)."""
        if key is None or isinstance(key, Keyring):
            return key
        if isinstance(key, bytes | bytearray):
            secret = _check_secret("key", key)
            return cls({key_id(secret): secret}, key_id(secret))
        if isinstance(key, Mapping):
            if not key:
                raise InvalidInput("key", "au moins une clé (Mapping[str, bytes])", key)
            return cls(dict(key), list(key)[-1])
        raise InvalidInput("key", "None, une clé (bytes), un Keyring ou un Mapping[str, bytes]", key)

    def __repr__(self) -> str:  # never the secrets, in logs or tracebacks
        return f"Keyring(keys=<{len(self.keys)} clé(s) : {', '.join(self.keys)}>, current={self.current!r})"


KeyArg = bytes | Keyring | Mapping[str, bytes] | None


@attrs.frozen
class Sealer:
    """Seals and checks messages under one keyring (``None``: unkeyed SHA-256)."""

    keyring: Keyring | None

    @property
    def algorithm(self) -> str:
        return SHA256 if self.keyring is None else HMAC

    @property
    def current_id(self) -> str | None:
        return None if self.keyring is None else self.keyring.current

    def seal(self, message: bytes) -> str:
        """The seal of ``message`` with the current key (hex)."""
        if self.keyring is None:
            return hashlib.sha256(message).hexdigest()
        return hmac.digest(self.keyring.keys[self.keyring.current], message, "sha256").hex()

    def problem(self, kid: object, message: bytes, expected: object) -> str | None:
        """Why ``expected`` is not the seal of ``message`` under key ``kid`` (``None``: it is).

        A keyed repository refuses unkeyed seals (anyone can recompute those) and keys it does not
        hold; an unkeyed one cannot check a keyed seal and says so.
        """
        if not isinstance(expected, str) or not expected.isascii():  # compare_digest refuses non-ASCII text
            return "sceau absent ou illisible"
        if kid is None:
            if self.keyring is not None:
                return "scellé sans clé (SHA-256 seul) alors qu'une clé est exigée : recalculé sans la clé ?"
            good = hashlib.sha256(message).hexdigest()
        else:
            if not isinstance(kid, str):
                return "identifiant de clé illisible"
            if self.keyring is None:
                return f"scellé avec la clé « {kid} » : ouvrez-le avec cette clé (key=)"
            secret = self.keyring.keys.get(kid)
            if secret is None:
                return f"scellé avec une clé inconnue de ce trousseau (« {kid} »)"
            good = hmac.digest(secret, message, "sha256").hex()  # one call into C: read once per journal row
        return None if hmac.compare_digest(good, expected) else "le sceau ne correspond plus au contenu"


def sealer(key: KeyArg) -> Sealer:
    """The :class:`Sealer` of ``key`` (see the module's documentation for what ``key`` may be)."""
    return Sealer(Keyring.of(key))
