"""Fleet key distribution: the HE secret key travels only encrypted to each robot's own key pair.

- Each robot makes an X25519 key pair (``RobotKeyPair``); its private half stays in the robot's
  data directory (mode 0600) and only the public half is registered with the server.
- An admin (``dynamical fl keys``) generates the fleet's BFV secret key and seals it to every robot
  (``seal_for``): ephemeral X25519 → HKDF-SHA256 → AES-256-GCM, with the robot id, the key id and
  the key version as associated data, so a bundle cannot be replayed to another robot or passed off
  as another version. The server stores and relays bundles it cannot open.
- Rotation: a new version is a new secret key sealed again to every robot; updates name the key id
  they were made with and the server refuses any other in a round.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ConfigDict, Field

from dynamical.fleet.errors import FleetKeyError

INFO = b"dynamical-fleet-key-v1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise FleetKeyError(f"{what} is not base64") from exc


class SealedKey(BaseModel):
    """The fleet's HE secret key sealed to one robot (safe to store on the server)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    robot_id: str = Field(min_length=1, max_length=128)
    key_id: str = Field(min_length=1, max_length=64)
    version: int = Field(ge=1)
    ephemeral_public: str
    nonce: str
    ciphertext: str

    def aad(self) -> bytes:
        return f"{self.robot_id}|{self.key_id}|{self.version}".encode()


def public_key_from_text(text: str) -> X25519PublicKey:
    raw = _unb64(text, "the robot's public key")
    if len(raw) != 32:
        raise FleetKeyError("an X25519 public key is 32 bytes")
    return X25519PublicKey.from_public_bytes(raw)


def _kek(shared: bytes, aad: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=aad, info=INFO).derive(shared)


def seal_for(robot_id: str, robot_public: str, secret: bytes, key_id: str, version: int) -> SealedKey:
    """Encrypt ``secret`` (the BFV secret key) so that only ``robot_id``'s private key opens it."""
    peer = public_key_from_text(robot_public)
    ephemeral = X25519PrivateKey.generate()
    shell = SealedKey(robot_id=robot_id, key_id=key_id, version=version, ephemeral_public="", nonce="", ciphertext="")
    aad = shell.aad()
    nonce = os.urandom(12)
    sealed = AESGCM(_kek(ephemeral.exchange(peer), aad)).encrypt(nonce, secret, aad)
    eph = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return shell.model_copy(update={"ephemeral_public": _b64(eph), "nonce": _b64(nonce), "ciphertext": _b64(sealed)})


class RobotKeyPair:
    """A robot's X25519 identity for receiving fleet keys; the private half never leaves the robot."""

    def __init__(self, private: X25519PrivateKey) -> None:
        self._private = private

    @classmethod
    def generate(cls) -> RobotKeyPair:
        return cls(X25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> RobotKeyPair:
        if path.exists():
            raw = path.read_bytes()
            if len(raw) != 32:
                raise FleetKeyError(f"{path} is not an X25519 private key (32 bytes)")
            return cls(X25519PrivateKey.from_private_bytes(raw))
        pair = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(
                pair._private.private_bytes(
                    serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
                )
            )
        return pair

    @property
    def public_text(self) -> str:
        raw = self._private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return _b64(raw)

    def open(self, sealed: SealedKey, robot_id: str) -> bytes:
        """The secret inside ``sealed``; refuses a bundle for another robot or a tampered one."""
        if sealed.robot_id != robot_id:
            raise FleetKeyError(f"this key bundle is for robot {sealed.robot_id!r}, not {robot_id!r}")
        aad = sealed.aad()
        peer = public_key_from_text(sealed.ephemeral_public)
        try:
            return AESGCM(_kek(self._private.exchange(peer), aad)).decrypt(
                _unb64(sealed.nonce, "nonce"), _unb64(sealed.ciphertext, "ciphertext"), aad
            )
        except InvalidTag as exc:
            raise FleetKeyError("the key bundle does not open with this robot's key (tampered or not ours)") from exc
