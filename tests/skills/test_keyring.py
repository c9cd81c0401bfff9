import json
import os
import stat
from pathlib import Path

import pytest

from dynamical.skills import Keyring, KeyringError, KeyringPermissionError, UnknownKeyError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_create_writes_a_0600_file_with_one_active_key_of_each_kind(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    keyring = Keyring.create(path)
    assert _mode(path) == 0o600
    data = json.loads(path.read_text())
    assert [k["active"] for k in data["signing_keys"]] == [True]
    assert [k["active"] for k in data["encryption_keys"]] == [True]
    assert data["signing_keys"][0]["key_id"] == keyring.signing_key().key_id
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_create_with_a_permissive_umask_still_gives_0600(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        Keyring.create(tmp_path / "keyring.json")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "keyring.json") == 0o600


def test_create_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.create(path)
    before = path.read_bytes()
    with pytest.raises(KeyringError, match="already exists"):
        Keyring.create(path)
    assert path.read_bytes() == before


def test_load_round_trips_keys(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    created = Keyring.create(path)
    loaded = Keyring.load(path)
    assert loaded.signing_key().key_id == created.signing_key().key_id
    assert loaded.encryption_key() == created.encryption_key()
    signature = created.signing_key().sign(b"message")
    loaded.verify_key(created.signing_key().key_id).verify(signature, b"message")


def test_group_readable_keyring_is_refused_with_the_chmod_to_run(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.create(path)
    path.chmod(0o644)
    with pytest.raises(KeyringPermissionError, match=f"chmod 600 {path}"):
        Keyring.load(path)
    path.chmod(0o600)
    Keyring.load(path)


def test_missing_and_malformed_keyrings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="no keyring"):
        Keyring.load(tmp_path / "absent.json")
    path = tmp_path / "broken.json"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.write(fd, b'{"format": 1, "signing_keys": []}')
    os.close(fd)
    with pytest.raises(KeyringError, match="not a valid keyring"):
        Keyring.load(path)


def test_rotate_keeps_old_keys_inactive(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    keyring = Keyring.create(path)
    old_signing, old_encryption = keyring.signing_key(), keyring.encryption_key()
    keyring.rotate()
    assert _mode(path) == 0o600
    new_signing, new_encryption = keyring.signing_key(), keyring.encryption_key()
    assert new_signing.key_id != old_signing.key_id
    assert new_encryption.key_id != old_encryption.key_id
    reloaded = Keyring.load(path)
    assert reloaded.signing_key().key_id == new_signing.key_id
    assert reloaded.decryption_key(old_encryption.key_id) == old_encryption
    reloaded.verify_key(old_signing.key_id).verify(old_signing.sign(b"m"), b"m")
    data = json.loads(path.read_text())
    assert [k["active"] for k in data["signing_keys"]] == [False, True]
    assert [k["active"] for k in data["encryption_keys"]] == [False, True]


def test_unknown_key_id_is_a_clear_key_error(keyring: Keyring) -> None:
    with pytest.raises(UnknownKeyError, match="holds no encryption key '0123456789abcdef'"):
        keyring.decryption_key("0123456789abcdef")
    with pytest.raises(KeyError):
        keyring.verify_key("0123456789abcdef")
