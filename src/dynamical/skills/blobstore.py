"""Content-addressed blob storage: a blob's address is the sha256 of its bytes.

``LocalBlobStore`` keeps blobs as files ``root/ab/cdef…`` (the first two hex digits name a
subdirectory, so no directory grows past 256 entries per level). Another backend (S3, a
database) implements the same ``BlobStore`` protocol.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol, runtime_checkable

from dynamical.skills.atomic import write_atomic
from dynamical.skills.errors import BlobIntegrityError, InvalidDigestError, UnknownBlobError

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
DIR_MODE = 0o700


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_digest(digest: object) -> str:
    """``digest`` if it is 64 lowercase hex characters; anything else (``../x``) is refused."""
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise InvalidDigestError(f"{digest!r} is not a sha256 digest (64 lowercase hex characters)")
    return digest


@runtime_checkable
class BlobStore(Protocol):
    """Immutable blobs addressed by the sha256 hex digest of their content."""

    def put(self, data: bytes) -> str:
        """Store ``data`` (a no-op when already stored) and return its digest."""
        ...

    def get(self, digest: str) -> bytes:
        """The blob's bytes; ``UnknownBlobError`` if absent, ``BlobIntegrityError`` if not hashing to ``digest``."""
        ...

    def exists(self, digest: str) -> bool: ...

    def delete(self, digest: str) -> None:
        """Remove the blob; ``UnknownBlobError`` if absent."""
        ...

    def list(self) -> list[str]:
        """Digests of every stored blob, sorted."""
        ...


class LocalBlobStore:
    """Blobs as files under ``root``; every write is atomic, every read re-hashed."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        # Owner only, like the blobs: the directories list which skills a server holds.
        for directory in reversed([self.root, *self.root.parents]):
            if not directory.exists():
                directory.mkdir(mode=DIR_MODE, exist_ok=True)

    def _path(self, digest: str) -> Path:
        check_digest(digest)
        return self.root / digest[:2] / digest[2:]

    def put(self, data: bytes) -> str:
        digest = sha256_hex(data)
        path = self._path(digest)
        if path.is_file():
            return digest
        path.parent.mkdir(mode=DIR_MODE, exist_ok=True)
        # Blobs are encrypted artifacts, but nothing here needs others to read them.
        write_atomic(path, data, 0o600)
        return digest

    def get(self, digest: str) -> bytes:
        path = self._path(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise UnknownBlobError(f"no blob {digest} in {self.root}") from None
        actual = sha256_hex(data)
        if actual != digest:
            raise BlobIntegrityError(f"blob {digest} in {self.root} is corrupt: its content hashes to {actual}")
        return data

    def exists(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def delete(self, digest: str) -> None:
        path = self._path(digest)
        try:
            path.unlink()
        except FileNotFoundError:
            raise UnknownBlobError(f"no blob {digest} in {self.root}") from None

    def list(self) -> list[str]:
        # Temporary files of interrupted writes start with a dot and are not valid digests.
        digests = (f"{p.parent.name}{p.name}" for p in self.root.glob("??/*") if p.is_file())
        return sorted(d for d in digests if _DIGEST.fullmatch(d))
