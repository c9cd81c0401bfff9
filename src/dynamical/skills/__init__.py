"""Skills: manifests, signed and encrypted artifacts, the keyring that protects them, the registry,
the world model and predicates that pre- and postconditions are checked on, and the executor that
plays skills (and action chunks) at 200 Hz into the safety kernel."""

from dynamical.skills.artifact import SkillArtifact, build_artifact, open_artifact
from dynamical.skills.blobstore import BlobStore, LocalBlobStore
from dynamical.skills.chunks import ActionChunk, ChunkQueue, ChunkSource, ThreadedChunkSource
from dynamical.skills.errors import (
    ArtifactContentError,
    ArtifactError,
    ArtifactFormatError,
    ArtifactKeyError,
    ArtifactTamperedError,
    BlobError,
    BlobIntegrityError,
    InvalidDigestError,
    KeyringError,
    KeyringPermissionError,
    RegistryError,
    SkillParameterError,
    SkillsError,
    SkillVersionConflict,
    UnknownBlobError,
    UnknownKeyError,
    UnknownSkillError,
)
from dynamical.skills.executor import (
    ExecutionReport,
    Executor,
    ExecutorBusyError,
    PolicySkill,
    Skill,
    SkillContext,
    SkillStep,
)
from dynamical.skills.keyring import EncryptionKey, Keyring, SigningKey, VerifyKey
from dynamical.skills.manifest import ActionSpace, Predicate, SkillManifest, SkillRef, version_key
from dynamical.skills.predicates import PredicateError, PredicateResult, check, evaluate
from dynamical.skills.registry import SkillRegistry
from dynamical.skills.world_model import ObjectState, SimWorldModel, Surface, WorldModel

__all__ = [
    "ActionChunk",
    "ActionSpace",
    "ArtifactContentError",
    "ArtifactError",
    "ArtifactFormatError",
    "ArtifactKeyError",
    "ArtifactTamperedError",
    "BlobError",
    "BlobIntegrityError",
    "BlobStore",
    "ChunkQueue",
    "ChunkSource",
    "EncryptionKey",
    "ExecutionReport",
    "Executor",
    "ExecutorBusyError",
    "InvalidDigestError",
    "Keyring",
    "KeyringError",
    "KeyringPermissionError",
    "LocalBlobStore",
    "ObjectState",
    "PolicySkill",
    "Predicate",
    "PredicateError",
    "PredicateResult",
    "RegistryError",
    "SigningKey",
    "SimWorldModel",
    "Skill",
    "SkillArtifact",
    "SkillContext",
    "SkillManifest",
    "SkillParameterError",
    "SkillRef",
    "SkillRegistry",
    "SkillStep",
    "SkillVersionConflict",
    "SkillsError",
    "Surface",
    "ThreadedChunkSource",
    "UnknownBlobError",
    "UnknownKeyError",
    "UnknownSkillError",
    "VerifyKey",
    "WorldModel",
    "build_artifact",
    "check",
    "evaluate",
    "open_artifact",
    "version_key",
]
