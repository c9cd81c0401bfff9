"""The skill registry backed by the database: the interface of ``skills.registry.SkillRegistry``.

Artifacts are verified with ``skills.artifact.open_artifact`` (signature, encryption, contents)
before anything is stored, kept encrypted in a ``BlobStore``, and catalogued in ``skills`` and
``skill_versions``; manifests are stored in the clear so that listing never decrypts anything.
Versions are immutable: the same ``id@version`` with other content is a ``SkillVersionConflict``.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from dynamical.api.db import Database
from dynamical.api.models import Skill, SkillVersion, utcnow
from dynamical.api.schemas import SkillDetail, SkillSummary, SkillVersionDetail, SkillVersionOut
from dynamical.skills.artifact import SkillArtifact, build_artifact, open_artifact
from dynamical.skills.blobstore import BlobStore
from dynamical.skills.errors import ArtifactTamperedError, SkillVersionConflict, UnknownSkillError
from dynamical.skills.keyring import Keyring
from dynamical.skills.manifest import SkillManifest, SkillRef, version_key


class Registered(BaseModel):
    ref: SkillRef
    digest: str
    created: bool


class SqlSkillRegistry:
    """``register``, ``list``, ``get``, ``versions``, ``deprecate`` as ``SkillRegistry``, over SQL."""

    def __init__(self, db: Database, keyring: Keyring, blobs: BlobStore) -> None:
        self.db = db
        self.keyring = keyring
        self.blobs = blobs

    # ---- the SkillRegistry interface ----------------------------------------------------------

    def register(self, artifact_blob: bytes) -> SkillRef:
        return self.add(artifact_blob).ref

    def list(self) -> list[SkillManifest]:
        """The latest non-deprecated version of each skill, by id."""
        with self.db.session() as session:
            skills = self._skills(session)
            current = [_current(skill.versions) for skill in skills]
            return [SkillManifest.model_validate(v.manifest) for v in current if v is not None]

    def get(self, skill_id: str, version: str | None = None) -> SkillArtifact:
        """The verified artifact of ``skill_id`` at ``version`` or at its latest non-deprecated one."""
        with self.db.session() as session:
            row = self._version(session, skill_id, version)
            blob, digest, ref = row.blob, row.digest, SkillRef(id=row.skill_id, version=row.version)
        artifact = open_artifact(self.blobs.get(blob), self.keyring)
        if artifact.manifest.ref != ref or artifact.digest != digest:
            raise ArtifactTamperedError(
                f"registry entry {ref} points at a blob holding {artifact.manifest.ref} "
                f"(archive {artifact.digest[:12]}…); the database or the blob store was altered"
            )
        return artifact

    def versions(self, skill_id: str) -> list[str]:
        with self.db.session() as session:
            return sorted((v.version for v in self._skill(session, skill_id).versions), key=version_key)

    def deprecate(self, skill_id: str, version: str, reason: str) -> SkillVersionOut:
        if not reason.strip():
            raise ValueError("give a reason for deprecating a skill version")
        with self.db.session() as session:
            row = self._version(session, skill_id, version)
            row.deprecated_reason = reason.strip()
            row.deprecated_at = utcnow()
            return _version_out(row)

    # ---- beyond SkillRegistry: what the API shows ---------------------------------------------

    def add(self, artifact_blob: bytes, builtin: bool = False) -> Registered:
        """Verify, store and catalogue an artifact; a bad artifact raises and changes nothing."""
        artifact = open_artifact(artifact_blob, self.keyring)
        # The blob first: a row must never name a blob that is not stored. A blob whose row
        # never commits is unreferenced and harmless.
        address = self.blobs.put(artifact_blob)
        try:
            return self._catalogue(artifact, address, len(artifact_blob), builtin)
        except IntegrityError:
            # Another request registered the same id@version between our check and our insert.
            return self._catalogue(artifact, address, len(artifact_blob), builtin)

    def summaries(self, include_deprecated: bool = False) -> list[SkillSummary]:
        with self.db.session() as session:
            out = []
            for skill in self._skills(session):
                current = _current(skill.versions)
                if current is None and not include_deprecated:
                    continue
                shown = current or max(skill.versions, key=lambda v: version_key(v.version))
                manifest = SkillManifest.model_validate(shown.manifest)
                out.append(
                    SkillSummary(
                        id=skill.id,
                        name=manifest.name,
                        latest_version=current.version if current else None,
                        kind=manifest.kind,
                        embodiment=manifest.embodiment,
                        description=manifest.description,
                        tags=manifest.tags,
                        versions=sorted((v.version for v in skill.versions), key=version_key),
                    )
                )
            return out

    def detail(self, skill_id: str) -> SkillDetail:
        with self.db.session() as session:
            skill = self._skill(session, skill_id)
            current = _current(skill.versions)
            versions = sorted(skill.versions, key=lambda v: version_key(v.version))
            return SkillDetail(
                id=skill.id,
                name=skill.name,
                latest_version=current.version if current else None,
                versions=[_version_detail(v) for v in versions],
            )

    def version_detail(self, skill_id: str, version: str) -> SkillVersionDetail:
        with self.db.session() as session:
            return _version_detail(self._version(session, skill_id, version))

    def seed(self, manifests: list[SkillManifest]) -> int:
        """Catalogue built-in skills (no files, only manifests); returns how many rows changed.

        Built-ins are the installed code's: when a built-in's manifest changed without a version
        bump (a development build), its row is replaced rather than refused as a conflict. Unchanged
        ones are skipped, so seeding on every start writes nothing.
        """
        changed = 0
        for manifest in manifests:
            wanted = manifest.model_dump(mode="json")
            with self.db.session() as session:
                row = _find(session, manifest.ref)
                if row is not None and (row.manifest == wanted or not row.builtin):
                    continue
            blob = build_artifact(manifest, {}, self.keyring)
            artifact = open_artifact(blob, self.keyring)
            address = self.blobs.put(blob)
            with self.db.session() as session:
                row = _find(session, manifest.ref)
                if row is None:
                    self._insert(session, artifact, address, len(blob), builtin=True)
                else:
                    row.manifest, row.digest, row.blob = wanted, artifact.digest, address
                    row.size_bytes, row.signing_key_id = len(blob), artifact.signing_key_id
                    row.skill.name = manifest.name
            changed += 1
        return changed

    # ---- internals ----------------------------------------------------------------------------

    def _catalogue(self, artifact: SkillArtifact, address: str, size: int, builtin: bool) -> Registered:
        ref = artifact.manifest.ref
        with self.db.session() as session:
            existing = _find(session, ref)
            if existing is not None:
                if existing.digest == artifact.digest:
                    return Registered(ref=ref, digest=artifact.digest, created=False)
                raise SkillVersionConflict(
                    f"{ref} is already registered with different content (archive {existing.digest[:12]}…, "
                    f"this one {artifact.digest[:12]}…); versions are immutable, publish a new version"
                )
            self._insert(session, artifact, address, size, builtin)
        return Registered(ref=ref, digest=artifact.digest, created=True)

    @staticmethod
    def _insert(session: Session, artifact: SkillArtifact, address: str, size: int, builtin: bool) -> None:
        manifest = artifact.manifest
        skill = session.get(Skill, manifest.id)
        if skill is None:
            skill = Skill(id=manifest.id, name=manifest.name, created_at=utcnow())
            session.add(skill)
        else:
            skill.name = manifest.name
        session.add(
            SkillVersion(
                skill_id=manifest.id,
                version=manifest.version,
                manifest=manifest.model_dump(mode="json"),
                digest=artifact.digest,
                blob=address,
                size_bytes=size,
                signing_key_id=artifact.signing_key_id,
                builtin=builtin,
                registered_at=utcnow(),
            )
        )
        session.flush()

    @staticmethod
    def _skills(session: Session) -> list[Skill]:
        return list(session.scalars(select(Skill).options(selectinload(Skill.versions)).order_by(Skill.id)))

    @staticmethod
    def _skill(session: Session, skill_id: str) -> Skill:
        skill = session.scalar(select(Skill).options(selectinload(Skill.versions)).where(Skill.id == skill_id))
        if skill is None:
            raise UnknownSkillError(f"no skill {skill_id!r} in the registry")
        return skill

    def _version(self, session: Session, skill_id: str, version: str | None) -> SkillVersion:
        skill = self._skill(session, skill_id)
        if version is None:
            current = _current(skill.versions)
            if current is None:
                raise UnknownSkillError(f"every version of skill {skill_id!r} is deprecated; ask for one by version")
            return current
        for row in skill.versions:
            if row.version == version:
                return row
        known = ", ".join(sorted((v.version for v in skill.versions), key=version_key))
        raise UnknownSkillError(f"skill {skill_id!r} has no version {version!r} (versions: {known})")


def _current(versions: list[SkillVersion]) -> SkillVersion | None:
    live = [v for v in versions if v.deprecated_reason is None]
    return max(live, key=lambda v: version_key(v.version), default=None)


def _version_out(row: SkillVersion) -> SkillVersionOut:
    return SkillVersionOut(
        version=row.version,
        digest=row.digest,
        size_bytes=row.size_bytes,
        signing_key_id=row.signing_key_id,
        builtin=row.builtin,
        registered_at=row.registered_at,
        deprecated=row.deprecated_reason is not None,
        deprecated_reason=row.deprecated_reason,
        deprecated_at=row.deprecated_at,
    )


def _version_detail(row: SkillVersion) -> SkillVersionDetail:
    return SkillVersionDetail(**_version_out(row).model_dump(), manifest=SkillManifest.model_validate(row.manifest))


def _find(session: Session, ref: SkillRef) -> SkillVersion | None:
    query = select(SkillVersion).where(SkillVersion.skill_id == ref.id, SkillVersion.version == ref.version)
    return session.scalar(query)
