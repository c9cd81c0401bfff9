"""The skill artifact: a signed, encrypted, deterministic archive of a manifest and its files.

On disk::

    b"DESKILL1" | header length (uint32 LE) | header JSON | nonce (12 bytes) | ciphertext

The plaintext is a tar archive with ``manifest.json`` and the skill's files (``weights/<name>
.safetensors`` for learned skills), built deterministically so the same manifest and files
always give the same archive and the same sha256 ``digest``. The digest is signed with the
keyring's active Ed25519 key; the 64-byte signature followed by the archive is encrypted with its
active AES-256-GCM key. The header (format, key ids, digest) is the GCM associated data: it is
readable without the key, and changing one byte of it makes decryption fail.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import struct
import tarfile
from typing import Literal

from cryptography.exceptions import InvalidSignature, InvalidTag
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dynamical.skills.errors import (
    ArtifactContentError,
    ArtifactFormatError,
    ArtifactKeyError,
    ArtifactTamperedError,
    UnknownKeyError,
)
from dynamical.skills.keyring import KEY_ID_PATTERN, Keyring
from dynamical.skills.manifest import SkillManifest
from dynamical.skills.policy_spec import check_policy_files
from dynamical.skills.safetensors_check import SafetensorsError, check_safetensors

MAGIC = b"DESKILL1"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
_LENGTH = struct.Struct("<I")
_MAX_HEADER = 4096
_NONCE_BYTES = 12
_SIGNATURE_BYTES = 64
_TAG_BYTES = 16
# Signed with the digest so that a signature made for anything else with the same key can never
# pass as an artifact signature.
_SIGNATURE_CONTEXT = b"dynamical skill artifact v1\x00"
_PATH_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
MAX_MEMBERS = 1024
"""Entries of an artifact's archive (the manifest, weights and data files)."""
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
"""Their declared sizes added up: above any upload the server takes (64 MiB by default)."""


class ArtifactHeader(BaseModel):
    """The clear-text header of an artifact, authenticated as GCM associated data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1]
    encryption_key_id: str = Field(pattern=KEY_ID_PATTERN)
    signing_key_id: str = Field(pattern=KEY_ID_PATTERN)
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    """sha256 of the plaintext archive."""
    ciphertext_bytes: int = Field(ge=_SIGNATURE_BYTES + _TAG_BYTES)
    """Length of the ciphertext, so a truncated blob reads as truncated rather than as tampered."""

    def encode(self) -> bytes:
        return json.dumps(self.model_dump(), sort_keys=True, separators=(",", ":")).encode()


class SkillArtifact(BaseModel):
    """An opened, verified artifact. ``files`` maps archive paths (not ``manifest.json``) to bytes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    manifest: SkillManifest
    files: dict[str, bytes]
    digest: str
    signing_key_id: str
    encryption_key_id: str


def _check_path(path: str) -> None:
    parts = path.split("/")
    if not path or not all(_PATH_PART.fullmatch(p) for p in parts) or path == MANIFEST_NAME:
        raise ArtifactContentError(
            f"file path {path!r} must be relative, made of letters, digits, _ . - and '/', "
            f"with no '..' and not {MANIFEST_NAME!r}"
        )


def _check_contents(manifest: SkillManifest, files: dict[str, bytes]) -> None:
    if len(files) + 1 > MAX_MEMBERS:  # the manifest is a member too
        raise ArtifactContentError(f"an artifact holds at most {MAX_MEMBERS - 1} files besides its manifest")
    if sum(len(data) for data in files.values()) > MAX_UNPACKED_BYTES:
        raise ArtifactContentError(f"an artifact's files add up to at most {MAX_UNPACKED_BYTES} bytes")
    for path in files:
        _check_path(path)
    declared = {manifest.weight_path(name): name for name in manifest.weights}
    undeclared = sorted(p for p in files if p.startswith("weights/") and p not in declared)
    if undeclared:
        raise ArtifactContentError(f"files {undeclared} are under weights/ but the manifest does not declare them")
    for path, name in declared.items():
        if path not in files:
            raise ArtifactContentError(f"manifest declares weight {name!r} but {path!r} is not among the files")
        try:
            tensors = check_safetensors(files[path])
        except SafetensorsError as exc:
            raise ArtifactContentError(f"weight {name!r} ({path}) is not a valid safetensors file: {exc}") from None
        if not tensors:
            raise ArtifactContentError(f"weight {name!r} ({path}) holds no tensors")
    check_policy_files(manifest.policy_format, files)


def _manifest_bytes(manifest: SkillManifest) -> bytes:
    # Sorted keys: two equal manifests give the same bytes whatever order their dicts were built in.
    return json.dumps(manifest.model_dump(mode="json"), sort_keys=True, indent=2).encode() + b"\n"


def _archive(members: dict[str, bytes]) -> bytes:
    """A tar of ``members`` in name order with fixed metadata: equal inputs give equal bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(members[name]))
    return buffer.getvalue()


def _unarchive(archive: bytes) -> dict[str, bytes]:
    """The members of a plain tar, each checked from its header before a byte of it is read.

    Only regular, non-sparse files: a sparse member declares a size its few stored bytes expand
    to (a 256 MB file from a 10 kB archive), and a link, device or FIFO has no place in a skill.
    The number of members and their declared total are capped, and every member's data must lie
    within the archive, so reading an artifact never costs more than ``MAX_UNPACKED_BYTES``.
    """
    members: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
            for info in tar:
                if len(members) >= MAX_MEMBERS:
                    raise ArtifactContentError(f"archive has more than {MAX_MEMBERS} entries")
                if info.issparse():
                    raise ArtifactContentError(f"archive entry {info.name!r} is a sparse file")
                if not info.isreg() or info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                    raise ArtifactContentError(f"archive entry {info.name!r} is not a regular file")
                if info.name in members:
                    raise ArtifactContentError(f"archive holds {info.name!r} twice")
                total += info.size
                if total > MAX_UNPACKED_BYTES:
                    raise ArtifactContentError(
                        f"archive entries add up to more than {MAX_UNPACKED_BYTES} bytes (at {info.name!r})"
                    )
                if info.offset_data + info.size > len(archive):
                    raise ArtifactContentError(f"archive entry {info.name!r} claims more bytes than the archive holds")
                extracted = tar.extractfile(info)
                if extracted is None:
                    raise ArtifactContentError(f"archive entry {info.name!r} cannot be read")
                members[info.name] = extracted.read()
    except tarfile.TarError as exc:
        raise ArtifactContentError(f"archive is not a readable tar file: {exc}") from None
    return members


def build_artifact(manifest: SkillManifest, files: dict[str, bytes], keyring: Keyring) -> bytes:
    """Sign and encrypt ``manifest`` and ``files`` (archive paths → bytes) with the keyring's active keys."""
    _check_contents(manifest, files)
    archive = _archive({MANIFEST_NAME: _manifest_bytes(manifest), **files})
    digest = hashlib.sha256(archive).digest()
    signing = keyring.signing_key()
    encryption = keyring.encryption_key()
    signature = signing.sign(_SIGNATURE_CONTEXT + digest)
    # The header is the associated data and holds the ciphertext length, known before encrypting.
    header = ArtifactHeader(
        format=FORMAT_VERSION,
        encryption_key_id=encryption.key_id,
        signing_key_id=signing.key_id,
        digest=digest.hex(),
        ciphertext_bytes=_SIGNATURE_BYTES + len(archive) + _TAG_BYTES,
    ).encode()
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = encryption.aead().encrypt(nonce, signature + archive, header)
    return MAGIC + _LENGTH.pack(len(header)) + header + nonce + ciphertext


def read_header(blob: bytes) -> tuple[ArtifactHeader, bytes, bytes]:
    """The header, its exact bytes, and the rest of the blob (nonce + ciphertext), without any key."""
    if len(blob) < len(MAGIC) + _LENGTH.size or not blob.startswith(MAGIC):
        raise ArtifactFormatError("not a skill artifact: it does not start with the magic bytes DESKILL1")
    start = len(MAGIC) + _LENGTH.size
    (header_len,) = _LENGTH.unpack_from(blob, len(MAGIC))
    if header_len > _MAX_HEADER:
        raise ArtifactFormatError(f"artifact header length {header_len} exceeds {_MAX_HEADER} bytes")
    if len(blob) < start + header_len:
        raise ArtifactFormatError(f"artifact is truncated: {len(blob)} bytes, its header alone needs more")
    header_bytes = blob[start : start + header_len]
    try:
        header = ArtifactHeader.model_validate(json.loads(header_bytes))
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, deep nesting, wrong fields
        raise ArtifactFormatError(f"artifact header is unreadable: {exc}") from None
    sealed = blob[start + header_len :]
    expected = _NONCE_BYTES + header.ciphertext_bytes
    if len(sealed) < expected:
        raise ArtifactFormatError(f"artifact is truncated: {len(sealed)} bytes after the header, expected {expected}")
    if len(sealed) > expected:
        raise ArtifactFormatError(f"artifact has {len(sealed) - expected} unexpected bytes after its ciphertext")
    return header, header_bytes, sealed


def open_artifact(blob: bytes, keyring: Keyring) -> SkillArtifact:
    """Decrypt, verify and unpack an artifact; every check passes before anything is returned."""
    header, header_bytes, sealed = read_header(blob)
    try:
        decryption = keyring.decryption_key(header.encryption_key_id)
    except UnknownKeyError:
        raise ArtifactKeyError(
            f"artifact encrypted with key {header.encryption_key_id} which this keyring ({keyring.path}) does not hold"
        ) from None
    try:
        verify = keyring.verify_key(header.signing_key_id)
    except UnknownKeyError:
        raise ArtifactKeyError(
            f"artifact signed with key {header.signing_key_id} which this keyring ({keyring.path}) does not hold"
        ) from None
    nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    try:
        plaintext = decryption.aead().decrypt(nonce, ciphertext, header_bytes)
    except InvalidTag:
        raise ArtifactTamperedError(
            "artifact failed authentication: its header or ciphertext was altered or truncated"
        ) from None
    signature, archive = plaintext[:_SIGNATURE_BYTES], plaintext[_SIGNATURE_BYTES:]
    digest = hashlib.sha256(archive).digest()
    if digest.hex() != header.digest:
        raise ArtifactTamperedError(f"archive digest {digest.hex()} does not match the header's {header.digest}")
    try:
        verify.verify(signature, _SIGNATURE_CONTEXT + digest)
    except InvalidSignature:
        raise ArtifactTamperedError(f"artifact signature does not verify with key {header.signing_key_id}") from None
    members = _unarchive(archive)
    if MANIFEST_NAME not in members:
        raise ArtifactContentError(f"archive has no {MANIFEST_NAME}")
    try:
        manifest = SkillManifest.model_validate_json(members.pop(MANIFEST_NAME))
    except ValidationError as exc:
        raise ArtifactContentError(f"{MANIFEST_NAME} is invalid: {exc}") from None
    _check_contents(manifest, members)
    return SkillArtifact(
        manifest=manifest,
        files=members,
        digest=header.digest,
        signing_key_id=header.signing_key_id,
        encryption_key_id=header.encryption_key_id,
    )
