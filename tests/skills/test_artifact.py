import hashlib
import io
import json
import struct
import tarfile
from pathlib import Path

import pytest

from dynamical.skills import (
    ArtifactContentError,
    ArtifactError,
    ArtifactFormatError,
    ArtifactKeyError,
    ArtifactTamperedError,
    Keyring,
    build_artifact,
    open_artifact,
)
from dynamical.skills.artifact import MAGIC, read_header

from .conftest import policy_manifest, safetensors_bytes, scripted_manifest

WEIGHTS = {"weights/policy.safetensors": safetensors_bytes([0.5, -1.0, 2.0])}


def _header_span(blob: bytes) -> tuple[int, int]:
    start = len(MAGIC) + 4
    (length,) = struct.unpack_from("<I", blob, len(MAGIC))
    return start, start + length


def test_scripted_round_trip(keyring: Keyring) -> None:
    manifest = scripted_manifest()
    blob = build_artifact(manifest, {}, keyring)
    assert blob.startswith(b"DESKILL1")
    artifact = open_artifact(blob, keyring)
    assert artifact.manifest == manifest
    assert artifact.files == {}
    assert artifact.signing_key_id == keyring.signing_key().key_id
    assert artifact.encryption_key_id == keyring.encryption_key().key_id


def test_policy_round_trip_with_real_safetensors(keyring: Keyring) -> None:
    manifest = policy_manifest()
    files = {**WEIGHTS, "config/normalization.json": b'{"mean": 0}'}
    artifact = open_artifact(build_artifact(manifest, files, keyring), keyring)
    assert artifact.manifest == manifest
    assert artifact.files == files
    weights = artifact.files["weights/policy.safetensors"]
    (header_len,) = struct.unpack_from("<Q", weights)
    assert struct.unpack("<3f", weights[8 + header_len :]) == (0.5, -1.0, 2.0)


def test_ciphertext_does_not_contain_the_plaintext(keyring: Keyring) -> None:
    blob = build_artifact(policy_manifest(), WEIGHTS, keyring)
    assert b"pick_cube" not in blob
    assert WEIGHTS["weights/policy.safetensors"] not in blob


def test_digest_is_deterministic_and_is_the_sha256_of_the_plaintext_tar(keyring: Keyring) -> None:
    first = build_artifact(policy_manifest(), WEIGHTS, keyring)
    # The same manifest built with its dicts in another order, and the files in another order.
    reordered = policy_manifest(tags=["manipulation"], description="Grasp a cube on the table and lift it.")
    second = build_artifact(reordered, dict(reversed(list({**WEIGHTS, "a.txt": b"a"}.items()))), keyring)
    third = build_artifact(reordered, {"a.txt": b"a", **WEIGHTS}, keyring)
    assert first != build_artifact(policy_manifest(), WEIGHTS, keyring)  # fresh nonce each time
    assert (
        open_artifact(first, keyring).digest
        == open_artifact(build_artifact(policy_manifest(), WEIGHTS, keyring), keyring).digest
    )
    assert open_artifact(second, keyring).digest == open_artifact(third, keyring).digest
    assert open_artifact(first, keyring).digest != open_artifact(second, keyring).digest
    assert read_header(first)[0].digest == open_artifact(first, keyring).digest


def test_plaintext_archive_has_fixed_metadata(keyring: Keyring) -> None:
    blob = build_artifact(policy_manifest(), WEIGHTS, keyring)
    header, header_bytes, sealed = read_header(blob)
    plaintext = keyring.decryption_key(header.encryption_key_id).aead().decrypt(sealed[:12], sealed[12:], header_bytes)
    archive = plaintext[64:]
    assert hashlib.sha256(archive).hexdigest() == header.digest
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["manifest.json", "weights/policy.safetensors"]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {(0, 0, 0, "", "", 0o644)}


def test_flipped_ciphertext_byte_is_detected(keyring: Keyring) -> None:
    blob = bytearray(build_artifact(policy_manifest(), WEIGHTS, keyring))
    blob[-40] ^= 0x01
    with pytest.raises(ArtifactTamperedError, match="altered"):
        open_artifact(bytes(blob), keyring)


def test_altered_header_digest_is_detected(keyring: Keyring) -> None:
    blob = build_artifact(policy_manifest(), WEIGHTS, keyring)
    start, end = _header_span(blob)
    header = json.loads(blob[start:end])
    digest = header["digest"]
    header["digest"] = ("0" if digest[0] != "0" else "1") + digest[1:]
    altered = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    assert len(altered) == end - start
    with pytest.raises(ArtifactTamperedError):
        open_artifact(blob[:start] + altered + blob[end:], keyring)


def test_every_single_byte_flip_in_the_header_is_refused(keyring: Keyring) -> None:
    blob = build_artifact(scripted_manifest(), {}, keyring)
    _, end = _header_span(blob)
    for i in range(end):
        altered = bytearray(blob)
        altered[i] ^= 0x20
        with pytest.raises(ArtifactError):
            open_artifact(bytes(altered), keyring)


def test_truncated_and_malformed_blobs_are_format_errors(keyring: Keyring) -> None:
    blob = build_artifact(policy_manifest(), WEIGHTS, keyring)
    _, end = _header_span(blob)
    with pytest.raises(ArtifactFormatError, match="truncated"):
        open_artifact(blob[:-1], keyring)
    with pytest.raises(ArtifactFormatError, match="truncated"):
        open_artifact(blob[: end - 5], keyring)
    with pytest.raises(ArtifactFormatError, match="unexpected bytes"):
        open_artifact(blob + b"\0", keyring)
    with pytest.raises(ArtifactFormatError, match="magic"):
        open_artifact(b"PK\x03\x04" + blob[4:], keyring)
    with pytest.raises(ArtifactFormatError, match="magic"):
        open_artifact(b"", keyring)
    with pytest.raises(ArtifactFormatError, match="header is unreadable"):
        open_artifact(MAGIC + struct.pack("<I", 3) + b"{x}" + blob[end:], keyring)


def test_wrong_keyring_is_a_key_error_naming_the_key(keyring: Keyring, tmp_path: Path) -> None:
    blob = build_artifact(scripted_manifest(), {}, keyring)
    other = Keyring.create(tmp_path / "other.json")
    key_id = keyring.encryption_key().key_id
    with pytest.raises(ArtifactKeyError, match=f"encrypted with key {key_id} which this keyring .* does not hold"):
        open_artifact(blob, other)


def test_rotation_keeps_old_artifacts_open_and_uses_new_keys(keyring: Keyring) -> None:
    old_blob = build_artifact(scripted_manifest(), {}, keyring)
    old_ids = (keyring.signing_key().key_id, keyring.encryption_key().key_id)
    keyring.rotate()
    reloaded = Keyring.load(keyring.path)
    old = open_artifact(old_blob, reloaded)
    assert (old.signing_key_id, old.encryption_key_id) == old_ids
    new = open_artifact(build_artifact(scripted_manifest(version="1.1.0"), {}, reloaded), reloaded)
    assert new.signing_key_id == reloaded.signing_key().key_id != old_ids[0]
    assert new.encryption_key_id == reloaded.encryption_key().key_id != old_ids[1]


def test_missing_undeclared_and_invalid_weights_are_refused(keyring: Keyring) -> None:
    with pytest.raises(ArtifactContentError, match="declares weight 'policy'"):
        build_artifact(policy_manifest(), {}, keyring)
    with pytest.raises(ArtifactContentError, match="does not declare"):
        build_artifact(
            policy_manifest(), {**WEIGHTS, "weights/extra.safetensors": WEIGHTS["weights/policy.safetensors"]}, keyring
        )
    broken = WEIGHTS["weights/policy.safetensors"][:-1]
    with pytest.raises(ArtifactContentError, match="not a valid safetensors file"):
        build_artifact(policy_manifest(), {"weights/policy.safetensors": broken}, keyring)
    with pytest.raises(ArtifactContentError, match="not a valid safetensors file"):
        build_artifact(policy_manifest(), {"weights/policy.safetensors": b"\x00" * 64}, keyring)


@pytest.mark.parametrize("path", ["../evil", "/etc/passwd", "a//b", "manifest.json", "a/./b", ".hidden"])
def test_unsafe_file_paths_are_refused(keyring: Keyring, path: str) -> None:
    with pytest.raises(ArtifactContentError, match="file path"):
        build_artifact(scripted_manifest(), {path: b"x"}, keyring)


def _reseal(blob: bytes, keyring: Keyring, plaintext: bytes) -> bytes:
    """``blob`` with its plaintext replaced, encrypted under the same key and header (an AES key holder's forgery)."""
    header, header_bytes, sealed = read_header(blob)
    nonce = sealed[:12]
    ciphertext = keyring.decryption_key(header.encryption_key_id).aead().encrypt(nonce, plaintext, header_bytes)
    return blob[: len(blob) - len(sealed)] + nonce + ciphertext


def _plaintext(blob: bytes, keyring: Keyring) -> bytes:
    header, header_bytes, sealed = read_header(blob)
    return keyring.decryption_key(header.encryption_key_id).aead().decrypt(sealed[:12], sealed[12:], header_bytes)


def test_signature_by_another_key_is_refused(keyring: Keyring, tmp_path: Path) -> None:
    blob = build_artifact(scripted_manifest(), {}, keyring)
    plaintext = _plaintext(blob, keyring)
    forged_signature = Keyring.create(tmp_path / "other.json").signing_key().sign(b"anything")
    with pytest.raises(ArtifactTamperedError, match="signature does not verify"):
        open_artifact(_reseal(blob, keyring, forged_signature + plaintext[64:]), keyring)


def test_archive_not_matching_the_header_digest_is_refused(keyring: Keyring) -> None:
    blob = build_artifact(scripted_manifest(), {}, keyring)
    plaintext = _plaintext(blob, keyring)
    other_archive = _plaintext(build_artifact(scripted_manifest(version="9.9.9"), {}, keyring), keyring)[64:]
    assert len(other_archive) == len(plaintext) - 64
    with pytest.raises(ArtifactTamperedError, match="does not match the header"):
        open_artifact(_reseal(blob, keyring, plaintext[:64] + other_archive), keyring)
