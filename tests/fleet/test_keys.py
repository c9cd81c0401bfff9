"""The fleet's HE secret key reaches a robot only sealed to that robot's own X25519 key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dynamical.fleet.bfv import BfvSecret
from dynamical.fleet.errors import FleetKeyError
from dynamical.fleet.keys import RobotKeyPair, seal_for


def test_sealed_key_opens_only_on_its_robot(tmp_path: Path) -> None:
    admin = BfvSecret()
    alice = RobotKeyPair.load_or_create(tmp_path / "alice.key")
    bob = RobotKeyPair.generate()
    assert stat.S_IMODE((tmp_path / "alice.key").stat().st_mode) == 0o600
    assert RobotKeyPair.load_or_create(tmp_path / "alice.key").public_text == alice.public_text
    sealed = seal_for("alice", alice.public_text, admin.secret_key_bytes(), admin.key_id, 1)
    assert admin.secret_key_bytes()[100:164] not in sealed.model_dump_json().encode()
    opened = BfvSecret(alice.open(sealed, "alice"))
    assert opened.key_id == admin.key_id
    with pytest.raises(FleetKeyError, match="not ours"):
        bob.open(sealed.model_copy(update={"robot_id": "bob"}), "bob")
    with pytest.raises(FleetKeyError, match="for robot 'alice'"):
        bob.open(sealed, "bob")
    with pytest.raises(FleetKeyError, match="tampered"):
        alice.open(sealed.model_copy(update={"version": 2}), "alice")  # a rotation cannot be faked
    with pytest.raises(FleetKeyError, match="BFV secret key"):
        BfvSecret(b"not a key")
