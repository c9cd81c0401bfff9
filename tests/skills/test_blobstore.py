import hashlib
from pathlib import Path

import pytest

from dynamical.skills import (
    BlobIntegrityError,
    BlobStore,
    InvalidDigestError,
    LocalBlobStore,
    UnknownBlobError,
)


def test_put_returns_the_sha256_and_stores_under_a_two_char_directory(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    assert isinstance(store, BlobStore)
    digest = store.put(b"hello")
    assert digest == hashlib.sha256(b"hello").hexdigest()
    assert (tmp_path / digest[:2] / digest[2:]).read_bytes() == b"hello"
    assert store.get(digest) == b"hello"
    assert store.exists(digest)
    assert store.put(b"hello") == digest  # idempotent
    other = store.put(b"world")
    assert store.list() == sorted([digest, other])


def test_delete(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    digest = store.put(b"x")
    store.delete(digest)
    assert not store.exists(digest)
    assert store.list() == []
    with pytest.raises(UnknownBlobError, match=f"no blob {digest}"):
        store.delete(digest)


def test_missing_blob_is_a_readable_key_error(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(KeyError) as error:
        LocalBlobStore(tmp_path).get(digest)
    assert str(error.value) == f"no blob {digest} in {tmp_path}"


def test_corrupted_blob_raises_integrity_error(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    digest = store.put(b"original content")
    (tmp_path / digest[:2] / digest[2:]).write_bytes(b"original c0ntent")
    with pytest.raises(BlobIntegrityError, match=f"blob {digest} .* is corrupt"):
        store.get(digest)


@pytest.mark.parametrize("bad", ["../x", "../" + "a" * 61, "A" * 64, "a" * 63, "a" * 64 + "\n", "/etc/passwd", ""])
def test_invalid_digests_are_refused(tmp_path: Path, bad: str) -> None:
    store = LocalBlobStore(tmp_path / "store")
    (tmp_path / "x").write_bytes(b"outside the store")
    for call in (store.get, store.exists, store.delete):
        with pytest.raises(InvalidDigestError, match="not a sha256 digest"):
            call(bad)
    assert (tmp_path / "x").exists()
