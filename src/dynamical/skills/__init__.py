"""Skills: manifests, signed and encrypted artifacts, the keyring that protects them, the registry,
and the world model and predicates that pre- and postconditions are checked on."""

from dynamical.skills.artifact import SkillArtifact, build_artifact, open_artifact
from dynamical.skills.blobstore import BlobStore, LocalBlobStore
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
from dynamical.skills.keyring import EncryptionKey, Keyring, SigningKey, VerifyKey
from dynamical.skills.manifest import ActionSpace, Predicate, SkillManifest, SkillRef, version_key
from dynamical.skills.predicates import PredicateError, PredicateResult, check, evaluate
from dynamical.skills.registry import SkillRegistry
from dynamical.skills.world_model import ObjectState, SimWorldModel, Surface, WorldModel

__all__ = [
    "ActionSpace",
    "ArtifactContentError",
    "ArtifactError",
    "ArtifactFormatError",
    "ArtifactKeyError",
    "ArtifactTamperedError",
    "BlobError",
    "BlobIntegrityError",
    "BlobStore",
    "EncryptionKey",
    "InvalidDigestError",
    "Keyring",
    "KeyringError",
    "KeyringPermissionError",
    "LocalBlobStore",
    "ObjectState",
    "Predicate",
    "PredicateError",
    "PredicateResult",
    "RegistryError",
    "SigningKey",
    "SimWorldModel",
    "SkillArtifact",
    "SkillManifest",
    "SkillParameterError",
    "SkillRef",
    "SkillRegistry",
    "SkillVersionConflict",
    "SkillsError",
    "Surface",
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
