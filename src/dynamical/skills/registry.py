"""The skill registry: verified artifacts in a blob store, catalogued by id and version.

Layout under ``root``: ``index.json`` (the catalogue, replaced atomically on every change),
``index.lock`` (serialises writers across processes) and ``blobs/`` (a ``LocalBlobStore``, unless
another ``BlobStore`` is given). Versions are immutable: once ``id@version`` is registered, only
the identical archive can be registered under it again.

The index keeps each version's manifest in the clear, so listing and routing never decrypt
weights; the artifact is decrypted and verified again on every ``get``. The public methods are
the whole interface: a later SQL-backed registry keeps them and replaces the index file.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from dynamical.skills.artifact import SkillArtifact, open_artifact
from dynamical.skills.atomic import write_atomic
from dynamical.skills.blobstore import BlobStore, LocalBlobStore
from dynamical.skills.errors import ArtifactTamperedError, RegistryError, SkillVersionConflict, UnknownSkillError
from dynamical.skills.keyring import Keyring
from dynamical.skills.manifest import SkillManifest, SkillRef, version_key


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manifest: SkillManifest
    blob: str
    """Address of the encrypted artifact in the blob store."""
    digest: str
    """sha256 of the plaintext archive: equal digests mean identical content, whatever the encryption."""
    registered_at: datetime
    deprecated_reason: str | None = None
    deprecated_at: datetime | None = None


class _Index(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal[1] = 1
    skills: dict[str, dict[str, _Entry]] = {}
    """Skill id → version → entry."""


class SkillRegistry:
    """Register, look up and deprecate skill versions.

    ``register(blob) -> SkillRef``, ``list() -> [SkillManifest]``, ``get(id, version=None) ->
    SkillArtifact``, ``versions(id) -> [str]``, ``deprecate(id, version, reason)``.
    """

    def __init__(self, root: Path | str, keyring: Keyring, blobs: BlobStore | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.keyring = keyring
        self.blobs: BlobStore = blobs if blobs is not None else LocalBlobStore(self.root / "blobs")
        self._index_path = self.root / "index.json"
        self._lock_path = self.root / "index.lock"

    def register(self, artifact_blob: bytes) -> SkillRef:
        """Verify the artifact, store it and catalogue it; a bad artifact changes nothing.

        Registering the identical content again returns the same ref; different content under an
        existing ``id@version`` raises ``SkillVersionConflict``.
        """
        artifact = open_artifact(artifact_blob, self.keyring)
        ref = artifact.manifest.ref
        with self._locked():
            index = self._read_index()
            existing = index.skills.get(ref.id, {}).get(ref.version)
            if existing is not None:
                if existing.digest == artifact.digest:
                    return ref
                raise SkillVersionConflict(
                    f"{ref} is already registered with different content (archive {existing.digest[:12]}…, "
                    f"this one {artifact.digest[:12]}…); versions are immutable, publish a new version"
                )
            # The blob first: the index must never name a blob that is not stored.
            blob = self.blobs.put(artifact_blob)
            index.skills.setdefault(ref.id, {})[ref.version] = _Entry(
                manifest=artifact.manifest, blob=blob, digest=artifact.digest, registered_at=datetime.now(UTC)
            )
            self._write_index(index)
        return ref

    def list(self) -> list[SkillManifest]:
        """The latest non-deprecated version of each skill, by id; skills with every version deprecated are left out."""
        index = self._read_index()
        manifests = []
        for skill_id in sorted(index.skills):
            current = self._current(index.skills[skill_id])
            if current is not None:
                manifests.append(current.manifest)
        return manifests

    def get(self, skill_id: str, version: str | None = None) -> SkillArtifact:
        """The verified artifact of ``skill_id`` at ``version``, or at its latest non-deprecated version.

        A deprecated version is still returned when asked for by number, so that a plan pinned to
        it stays reproducible.
        """
        entry = self._entry(self._read_index(), skill_id, version)
        artifact = open_artifact(self.blobs.get(entry.blob), self.keyring)
        if artifact.manifest.ref != entry.manifest.ref or artifact.digest != entry.digest:
            raise ArtifactTamperedError(
                f"registry entry {entry.manifest.ref} points at a blob holding {artifact.manifest.ref} "
                f"(archive {artifact.digest[:12]}…); the index or the blob store was altered"
            )
        return artifact

    def versions(self, skill_id: str) -> list[str]:
        """Every registered version of ``skill_id``, deprecated ones included, oldest first by semver."""
        return sorted(self._versions(self._read_index(), skill_id), key=version_key)

    def deprecate(self, skill_id: str, version: str, reason: str) -> None:
        """Mark ``skill_id@version`` deprecated: ``list`` and ``get`` without a version skip it."""
        if not reason.strip():
            raise ValueError("give a reason for deprecating a skill version")
        with self._locked():
            index = self._read_index()
            entry = self._entry(index, skill_id, version)
            entry.deprecated_reason = reason.strip()
            entry.deprecated_at = datetime.now(UTC)
            self._write_index(index)

    @staticmethod
    def _current(versions: dict[str, _Entry]) -> _Entry | None:
        live = [e for e in versions.values() if e.deprecated_reason is None]
        return max(live, key=lambda e: e.manifest.version_tuple, default=None)

    def _versions(self, index: _Index, skill_id: str) -> dict[str, _Entry]:
        if skill_id not in index.skills:
            known = ", ".join(sorted(index.skills)) or "none"
            raise UnknownSkillError(f"no skill {skill_id!r} in the registry at {self.root} (known: {known})")
        return index.skills[skill_id]

    def _entry(self, index: _Index, skill_id: str, version: str | None) -> _Entry:
        versions = self._versions(index, skill_id)
        if version is None:
            current = self._current(versions)
            if current is None:
                raise UnknownSkillError(
                    f"every version of skill {skill_id!r} is deprecated "
                    f"({', '.join(sorted(versions, key=version_key))}); ask for one by version"
                )
            return current
        if version not in versions:
            raise UnknownSkillError(
                f"skill {skill_id!r} has no version {version!r} "
                f"(versions: {', '.join(sorted(versions, key=version_key))})"
            )
        return versions[version]

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Read-modify-write of the index by two processes at once would lose one of the writes.
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_index(self) -> _Index:
        try:
            raw = self._index_path.read_bytes()
        except FileNotFoundError:
            return _Index()
        try:
            return _Index.model_validate_json(raw)
        except ValidationError as exc:
            raise RegistryError(f"registry index {self._index_path} is unreadable: {exc}") from None

    def _write_index(self, index: _Index) -> None:
        write_atomic(self._index_path, index.model_dump_json(indent=2).encode(), 0o644)
