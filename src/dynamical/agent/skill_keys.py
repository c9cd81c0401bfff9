"""The keys a robot opens deployed skill artifacts with: verify, decrypt, never sign.

The platform's keyring (``skills.keyring``) holds Ed25519 *private* signing keys: a robot given
that file could make artifacts every other robot would trust. A robot gets only what opening
needs: the public half of every signing key (to verify) and the AES-256-GCM keys (to decrypt).
``SkillKeys.from_keyring`` derives them; ``save`` writes them to one JSON file, mode 0600 (the
AES keys are secrets), and ``load`` refuses a file that group or others can read, like the
keyring does. ``dynamical up`` writes its local robot's file beside the robot's skill cache;
another robot gets a copy (``dynamical agent --skill-keys FILE``). A key rotated on the server
after the copy is made shows up as an artifact "signed with key … which … does not hold".

``SkillKeys`` answers ``decryption_key`` and ``verify_key`` (and ``path``) as the keyring does,
which is all ``skills.artifact.open_artifact`` asks of a keyring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from dynamical.skills.atomic import write_atomic
from dynamical.skills.errors import KeyringError, UnknownKeyError
from dynamical.skills.key_files import PRIVATE_FILE_MODE as _FILE_MODE
from dynamical.skills.key_files import KeyId, read_private_file
from dynamical.skills.key_files import decode_key as _unb64
from dynamical.skills.key_files import encode_key as _b64
from dynamical.skills.keyring import EncryptionKey, Keyring, VerifyKey

SKILL_KEYS_FILE = "skill-keys.json"
"""Its name in a robot's skill cache directory (where ``dynamical agent`` looks by default)."""

class _Key(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: KeyId
    material: str
    """Base64 of 32 bytes: an Ed25519 public key (verify) or an AES-256 key (decrypt)."""

    @field_validator("material")
    @classmethod
    def _material(cls, value: str) -> str:
        _unb64(value)
        return value


class _SkillKeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal[1] = 1
    verify_keys: list[_Key]
    decryption_keys: list[_Key]


class SkillKeys:
    """Verify and decrypt keys for skill artifacts, without any signing key."""

    def __init__(self, data: _SkillKeysFile, path: Path | None = None) -> None:
        self._data = data
        self.path = path
        self._verify = {k.key_id: _unb64(k.material) for k in data.verify_keys}
        self._decrypt = {k.key_id: _unb64(k.material) for k in data.decryption_keys}

    @classmethod
    def from_keyring(cls, keyring: Keyring) -> SkillKeys:
        """Every key of ``keyring`` an artifact may have been made with, active or rotated out."""
        signing_ids, encryption_ids = keyring.key_ids()
        verify = []
        for key_id in signing_ids:
            public = keyring.verify_key(key_id).public_key
            raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            verify.append(_Key(key_id=key_id, material=_b64(raw)))
        decrypt = [_Key(key_id=i, material=_b64(keyring.decryption_key(i).secret)) for i in encryption_ids]
        return cls(_SkillKeysFile(verify_keys=verify, decryption_keys=decrypt), keyring.path)

    def save(self, path: Path | str) -> Path:
        """Write the keys to ``path`` (0600), replacing what was there atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, self._data.model_dump_json(indent=2).encode(), _FILE_MODE)
        self.path = path
        return path

    @classmethod
    def load(cls, path: Path | str) -> SkillKeys:
        """The keys in ``path``; refused if group or others have any access to the file."""
        path = Path(path)
        raw = read_private_file(
            path,
            missing="no skill keys at {path}: `dynamical up` writes its local robot's; copy them from the "
            "server (`dynamical skills keys --out FILE`)",
            not_regular="skill keys {path} is not a regular file",
            exposed="skill keys {path} have mode {mode}: group or others can read the decryption keys; "
            "run `chmod 600 {path}`",
        )
        try:
            data = _SkillKeysFile.model_validate_json(raw)
        except ValidationError as exc:
            raise KeyringError(f"{path} is not a skill keys file: {exc.errors()[0]['msg']}") from None
        return cls(data, path)

    @property
    def key_ids(self) -> tuple[list[str], list[str]]:
        """Ids of the verify keys and of the decryption keys held."""
        return sorted(self._verify), sorted(self._decrypt)

    def verify_key(self, key_id: str) -> VerifyKey:
        raw = self._verify.get(key_id)
        if raw is None:
            raise UnknownKeyError(f"skill keys {self.path} hold no signing key {key_id!r}")
        return VerifyKey(key_id, Ed25519PublicKey.from_public_bytes(raw))

    def decryption_key(self, key_id: str) -> EncryptionKey:
        raw = self._decrypt.get(key_id)
        if raw is None:
            raise UnknownKeyError(f"skill keys {self.path} hold no encryption key {key_id!r}")
        return EncryptionKey(key_id, raw)
