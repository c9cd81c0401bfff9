"""A local keyring: Ed25519 keys that sign skill artifacts and AES-256-GCM keys that encrypt them.

One JSON file, mode 0600, holding every key ever made. ``rotate`` makes new active keys; the old
ones stay, inactive, so artifacts built with them still verify and decrypt. The keys are stored in
the clear inside the file: its permissions are the protection, so a file that group or others can
read is refused rather than used.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Self

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from dynamical.skills.atomic import create_atomic, write_atomic
from dynamical.skills.errors import KeyringError, UnknownKeyError
from dynamical.skills.key_files import KEY_ID_PATTERN, KeyId, read_private_file
from dynamical.skills.key_files import PRIVATE_FILE_MODE as _FILE_MODE
from dynamical.skills.key_files import decode_key as _unb64
from dynamical.skills.key_files import encode_key as _b64

__all__ = ["KEY_ID_PATTERN", "EncryptionKey", "Keyring", "SigningKey", "VerifyKey"]


class _KeyRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key_id: KeyId
    created_at: datetime
    active: bool
    secret: str
    """Base64 of the 32 secret bytes (Ed25519 private seed, or AES-256 key)."""

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        _unb64(value)
        return value

    @property
    def secret_bytes(self) -> bytes:
        return _unb64(self.secret)


class _KeyringFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal[1] = 1
    signing_keys: list[_KeyRecord]
    encryption_keys: list[_KeyRecord]

    @model_validator(mode="after")
    def _one_active_each(self) -> Self:
        for kind, records in (("signing", self.signing_keys), ("encryption", self.encryption_keys)):
            ids = [r.key_id for r in records]
            if len(set(ids)) != len(ids):
                raise ValueError(f"{kind} key ids are not unique: {ids}")
            active = sum(r.active for r in records)
            if active != 1:
                raise ValueError(f"exactly one {kind} key must be active, found {active}")
        return self


@dataclass(frozen=True)
class SigningKey:
    """The active Ed25519 private key and its id."""

    key_id: str
    private_key: Ed25519PrivateKey

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


@dataclass(frozen=True)
class VerifyKey:
    """An Ed25519 public key and its id; ``verify`` raises ``cryptography.exceptions.InvalidSignature``."""

    key_id: str
    public_key: Ed25519PublicKey

    def verify(self, signature: bytes, message: bytes) -> None:
        self.public_key.verify(signature, message)


@dataclass(frozen=True)
class EncryptionKey:
    """An AES-256-GCM key and its id."""

    key_id: str
    secret: bytes

    def aead(self) -> AESGCM:
        return AESGCM(self.secret)


def _signing_key_id(private_key: Ed25519PrivateKey) -> str:
    # Derived from the public key, so anyone holding the public key can check which id it has.
    public = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(public).hexdigest()[:16]


def _new_keys(now: datetime) -> tuple[_KeyRecord, _KeyRecord]:
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    signing = _KeyRecord(key_id=_signing_key_id(private), created_at=now, active=True, secret=_b64(seed))
    # A random id: an id derived from a secret key would publish a hash of that key.
    encryption = _KeyRecord(
        key_id=secrets.token_hex(8), created_at=now, active=True, secret=_b64(AESGCM.generate_key(bit_length=256))
    )
    return signing, encryption


class Keyring:
    """Signing and encryption keys kept in one 0600 JSON file. Build one with ``create`` or ``load``."""

    def __init__(self, path: Path, data: _KeyringFile) -> None:
        self.path = path
        self._data = data

    @classmethod
    def create(cls, path: Path | str) -> Keyring:
        """A new keyring file at ``path`` with one active signing and one active encryption key.

        Refuses to overwrite an existing file: that would destroy the only keys that open the
        artifacts made with it.
        """
        path = Path(path)
        if not path.parent.is_dir():
            raise KeyringError(f"cannot create keyring {path}: directory {path.parent} does not exist")
        signing, encryption = _new_keys(datetime.now(UTC))
        data = _KeyringFile(signing_keys=[signing], encryption_keys=[encryption])
        try:
            create_atomic(path, data.model_dump_json(indent=2).encode(), _FILE_MODE)
        except FileExistsError:
            raise KeyringError(f"keyring {path} already exists; load it with Keyring.load") from None
        return cls(path, data)

    @classmethod
    def load(cls, path: Path | str) -> Keyring:
        """The keyring at ``path``; refused if group or others have any access to the file."""
        path = Path(path)
        raw = read_private_file(
            path,
            missing="no keyring at {path}; create one with Keyring.create",
            not_regular="keyring {path} is not a regular file",
            exposed="keyring {path} has mode {mode}: group or others can access the signing and "
            "encryption keys. Run `chmod 600 {path}` (and consider rotating the keys).",
        )
        try:
            data = _KeyringFile.model_validate_json(raw)
        except ValidationError as exc:
            raise KeyringError(f"keyring {path} is not a valid keyring file: {exc}") from None
        return cls(path, data)

    def rotate(self) -> None:
        """Make new active keys; the previous ones stay, inactive, to open existing artifacts."""
        signing, encryption = _new_keys(datetime.now(UTC))
        data = _KeyringFile(
            signing_keys=[r.model_copy(update={"active": False}) for r in self._data.signing_keys] + [signing],
            encryption_keys=[r.model_copy(update={"active": False}) for r in self._data.encryption_keys] + [encryption],
        )
        write_atomic(self.path, data.model_dump_json(indent=2).encode(), _FILE_MODE)
        # Only once the file holds the new keys: never sign with a key that could be lost.
        self._data = data

    def key_ids(self) -> tuple[list[str], list[str]]:
        """The ids of every signing key and every encryption key held, active or not."""
        return [r.key_id for r in self._data.signing_keys], [r.key_id for r in self._data.encryption_keys]

    def signing_key(self) -> SigningKey:
        record = next(r for r in self._data.signing_keys if r.active)
        return SigningKey(record.key_id, Ed25519PrivateKey.from_private_bytes(record.secret_bytes))

    def verify_key(self, key_id: str) -> VerifyKey:
        record = self._find(self._data.signing_keys, key_id, "signing")
        private = Ed25519PrivateKey.from_private_bytes(record.secret_bytes)
        return VerifyKey(record.key_id, private.public_key())

    def encryption_key(self) -> EncryptionKey:
        record = next(r for r in self._data.encryption_keys if r.active)
        return EncryptionKey(record.key_id, record.secret_bytes)

    def decryption_key(self, key_id: str) -> EncryptionKey:
        record = self._find(self._data.encryption_keys, key_id, "encryption")
        return EncryptionKey(record.key_id, record.secret_bytes)

    def _find(self, records: list[_KeyRecord], key_id: str, kind: str) -> _KeyRecord:
        for record in records:
            if record.key_id == key_id:
                return record
        raise UnknownKeyError(f"keyring {self.path} holds no {kind} key {key_id!r}")
