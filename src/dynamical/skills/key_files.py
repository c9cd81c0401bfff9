"""What the keyring and a robot's skill keys share: 32-byte key material as base64, key ids, and
reading a file of secrets that only its owner may access."""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path
from typing import Annotated

from pydantic import Field

from dynamical.skills.errors import KeyringError, KeyringPermissionError

KEY_ID_PATTERN = r"^[0-9a-f]{16}$"
KEY_BYTES = 32  # an Ed25519 seed or public key and an AES-256 key are all 32 bytes
PRIVATE_FILE_MODE = 0o600

KeyId = Annotated[str, Field(pattern=KEY_ID_PATTERN)]


def encode_key(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_key(text: str) -> bytes:
    """The 32 bytes ``text`` encodes; ValueError (a validation message) for anything else."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"key material is not valid base64: {exc}") from exc
    if len(data) != KEY_BYTES:
        raise ValueError(f"key material must be {KEY_BYTES} bytes, got {len(data)}")
    return data


def read_private_file(path: Path, missing: str, not_regular: str, exposed: str) -> bytes:
    """The bytes of ``path``, refused (KeyringError, or KeyringPermissionError for ``exposed``)
    when it is missing, not a regular file, or group or others have any access to it. The messages
    are formats with ``{path}`` (and ``{mode}`` for ``exposed``). The mode checked is that of the
    file actually opened, not of whatever the path names a moment later."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise KeyringError(missing.format(path=path)) from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise KeyringError(not_regular.format(path=path))
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise KeyringPermissionError(exposed.format(path=path, mode=f"{mode:04o}"))
        return file.read()
