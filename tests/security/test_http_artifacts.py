"""Finding 9: a signed artifact whose archive expands (a sparse member), holds too many entries, or
declares more bytes than any upload could carry, is refused from the tar headers, before a member
is read into memory. The artifacts are signed and encrypted with the server's own keyring: the
attacker of this finding holds a signing key."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tarfile
import tracemalloc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from dynamical.api.app import create_app
from dynamical.api.auth import Scope, create_api_key
from dynamical.api.settings import SQLITE_FILE, ApiSettings
from dynamical.skills import Keyring
from dynamical.skills.artifact import _SIGNATURE_CONTEXT, MAGIC, MAX_MEMBERS, ArtifactHeader, _manifest_bytes
from dynamical.skills.builtin.catalog import builtin_manifests

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, Keyring]]:
    data_dir = tmp_path_factory.mktemp("artifacts") / "data"
    settings = ApiSettings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / SQLITE_FILE}")
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.db.session() as session:
            key = create_api_key(session, Scope.ADMIN, "uploader").key
        yield client, key, Keyring.load(settings.keyring_path)


def _seal(archive: bytes, keyring: Keyring) -> bytes:
    """``archive`` signed and encrypted exactly as ``build_artifact`` does, whatever it holds."""
    digest = hashlib.sha256(archive).digest()
    signing, encryption = keyring.signing_key(), keyring.encryption_key()
    header = ArtifactHeader(
        format=1,
        encryption_key_id=encryption.key_id,
        signing_key_id=signing.key_id,
        digest=digest.hex(),
        ciphertext_bytes=64 + len(archive) + 16,
    ).encode()
    nonce = os.urandom(12)
    sealed = encryption.aead().encrypt(nonce, signing.sign(_SIGNATURE_CONTEXT + digest) + archive, header)
    return MAGIC + struct.pack("<I", len(header)) + header + nonce + sealed


def _member(name: str, data: bytes, kind: bytes = tarfile.REGTYPE, declared: int | None = None) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = len(data) if declared is None else declared
    info.type = kind
    if kind == tarfile.LNKTYPE:
        info.linkname = "manifest.json"
    padded = data + b"\0" * (-len(data) % 512)
    return info.tobuf(format=tarfile.GNU_FORMAT) + (padded if kind == tarfile.REGTYPE else b"")


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _sparse_member(name: str, real_size: int, stored: bytes) -> bytes:
    """A GNU sparse entry (type 'S'): ``stored`` is all the archive holds, at the end of a file of
    ``real_size`` bytes that reads back as zeros elsewhere. tarfile writes none, so by hand."""
    block = bytearray(512)
    block[0 : len(name)] = name.encode()
    block[100:108], block[108:116], block[116:124] = _octal(0o644, 8), _octal(0, 8), _octal(0, 8)
    block[124:136], block[136:148] = _octal(len(stored), 12), _octal(0, 12)
    block[156:157] = tarfile.GNUTYPE_SPARSE
    block[257:265] = tarfile.GNU_MAGIC
    block[386:398], block[398:410] = _octal(real_size - len(stored), 12), _octal(len(stored), 12)
    block[483:495] = _octal(real_size, 12)
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block) + stored + b"\0" * (-len(stored) % 512)


def _archive(*members: bytes) -> bytes:
    manifest = next(m for m in builtin_manifests() if m.id == "wave").model_copy(update={"id": "forged"})
    return _member("manifest.json", _manifest_bytes(manifest)) + b"".join(members) + b"\0" * 1024


def _upload(served: tuple[TestClient, str, Keyring], archive: bytes) -> tuple[int, str]:
    client, key, keyring = served
    answer = client.post("/api/v1/skills", content=_seal(archive, keyring), headers={"X-API-Key": key})
    return answer.status_code, answer.json().get("detail", "")


def test_sparse_member_is_refused_before_it_expands(served):
    archive = _archive(_sparse_member("data/blob.bin", 256 * MiB, b"x" * 512))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:  # what a reader without the check would get
        assert tar.getmember("data/blob.bin").size == 256 * MiB
    tracemalloc.start()
    try:
        status, detail = _upload(served, archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 422 and "'data/blob.bin' is a sparse file" in detail
    assert peak < 32 * MiB, f"reading the artifact took {peak / MiB:.0f} MiB"


def test_too_many_members_are_refused(served):
    status, detail = _upload(served, _archive(*(_member(f"data/f{i}", b"1") for i in range(MAX_MEMBERS + 5))))
    assert status == 422 and f"more than {MAX_MEMBERS} entries" in detail


def test_declared_total_beyond_the_cap_is_refused(served):
    status, detail = _upload(served, _archive(_member("data/huge", b"x" * 512, declared=300 * MiB)))
    assert status == 422 and "add up to more than" in detail
    status, detail = _upload(served, _archive(_member("data/lie", b"x" * 512, declared=10 * MiB)))
    assert status == 422 and "claims more bytes than the archive holds" in detail


@pytest.mark.parametrize("kind", [tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE])
def test_links_devices_and_fifos_are_refused(served, kind: bytes):
    status, detail = _upload(served, _archive(_member("data/other", b"", kind=kind)))
    assert status == 422 and "is not a regular file" in detail


def test_a_plain_artifact_still_uploads(served):
    status, _ = _upload(served, _archive(_member("data/notes.txt", b"fine")))
    assert status == 201
