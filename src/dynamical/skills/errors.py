"""Errors raised by skill manifests, keyrings, blob stores, artifacts and the registry.

Each carries a message a user can act on. The ``KeyError`` subclasses print their message as is:
``KeyError`` alone would wrap it in quotes.
"""


class SkillsError(Exception):
    """Base class of every error in ``dynamical.skills``."""


class _ReadableKeyError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class SkillParameterError(SkillsError, ValueError):
    """Parameters given to a skill (or a ``$name`` in a predicate) do not fit its schema."""


class KeyringError(SkillsError, ValueError):
    """A keyring file is missing, malformed, or would be overwritten."""


class KeyringPermissionError(KeyringError, PermissionError):
    """A keyring file that users other than its owner can read; its keys must be treated as leaked."""


class UnknownKeyError(KeyringError, _ReadableKeyError):
    """A key id this keyring does not hold."""


class BlobError(SkillsError):
    """Base class of blob store errors."""


class InvalidDigestError(BlobError, ValueError):
    """A string that is not a sha256 hex digest (64 lowercase hex characters)."""


class UnknownBlobError(BlobError, _ReadableKeyError):
    """No blob has this digest."""


class BlobIntegrityError(BlobError, ValueError):
    """A stored blob whose content no longer hashes to its address (disk corruption or tampering)."""


class ArtifactError(SkillsError, ValueError):
    """Base class of errors about a skill artifact; nothing is returned when one is raised."""


class ArtifactFormatError(ArtifactError):
    """Not a skill artifact: bad magic bytes, truncated, or an unreadable header."""


class ArtifactKeyError(ArtifactError):
    """The artifact names an encryption or signing key that the keyring does not hold."""


class ArtifactTamperedError(ArtifactError):
    """Authentication failed: the ciphertext, header, digest or signature was altered."""


class ArtifactContentError(ArtifactError):
    """The files of an artifact are inconsistent with its manifest (a missing or invalid weight file, a bad path)."""


class RegistryError(SkillsError):
    """Base class of skill registry errors."""


class UnknownSkillError(RegistryError, _ReadableKeyError):
    """No registered skill (or version of it) has this id."""


class SkillVersionConflict(RegistryError, ValueError):  # noqa: N818 (the name the API promises)
    """The same id@version registered again with different content; versions are immutable."""
