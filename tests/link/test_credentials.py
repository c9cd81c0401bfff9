"""Robot credentials as users handle them: the key file's protection, `dynamical up`'s provisioning
of the local robot (and the retired agent.key), and `dynamical robots add/revoke/credentials`."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from dynamical.agent.credential import CredentialError, RobotCredential, default_path, verify
from dynamical.api.auth import AuthError, Scope, authenticate, create_api_key
from dynamical.api.db import Database
from dynamical.api.robot_credentials import LinkRefusedError, check_proof, provision_local, revoke
from dynamical.api.settings import ApiSettings
from dynamical.cli.platform import retire_agent_key
from tests.api.conftest import api_settings, backend, templates  # noqa: F401 (fixtures)
from tests.api.test_cli_server import dynamical


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_key_file_is_private_and_refused_when_others_can_read_it(tmp_path: Path) -> None:
    credential = RobotCredential.generate()
    path = credential.save(tmp_path / "keys" / "thor_001.key")
    assert (_mode(path), _mode(path.parent)) == (0o600, 0o700)
    loaded = RobotCredential.load(path)
    assert loaded.public_key == credential.public_key
    nonce = bytes(range(32))
    signature = loaded.sign_challenge(nonce, "thor_001")
    assert verify(credential.public_key, signature, nonce, "thor_001")
    assert not verify(credential.public_key, signature, nonce, "thor_002")
    assert not verify(credential.public_key, signature, bytes(32), "thor_001")
    path.chmod(0o644)
    with pytest.raises(CredentialError, match="readable by others .*0644.*chmod 600"):
        RobotCredential.load(path)
    path.chmod(0o600)
    path.write_text("not a key")
    with pytest.raises(CredentialError, match="is not a robot credential"):
        RobotCredential.load(path)
    with pytest.raises(CredentialError, match="dynamical robots add"):
        RobotCredential.load(tmp_path / "missing.key")


def test_up_provisions_the_local_robot_once_and_again_after_a_revocation(api_settings: ApiSettings) -> None:  # noqa: F811
    db = Database(api_settings.database_url)
    try:
        path, made = provision_local(db, api_settings.data_dir, "thor_001")
        assert made and path == default_path(api_settings.data_dir, "thor_001")
        assert (_mode(path), _mode(path.parent)) == (0o600, 0o700)
        first = RobotCredential.load(path)
        assert provision_local(db, api_settings.data_dir, "thor_001") == (path, False)
        nonce = bytes(32)
        with db.session() as session:
            check_proof(session, "thor_001", nonce, first.sign_challenge(nonce, "thor_001"))
        revoke(db, "thor_001")
        with db.session() as session, pytest.raises(LinkRefusedError, match="revoked"):
            check_proof(session, "thor_001", nonce, first.sign_challenge(nonce, "thor_001"))
        assert provision_local(db, api_settings.data_dir, "thor_001") == (path, True)
        second = RobotCredential.load(path)
        assert second.public_key != first.public_key
        with db.session() as session:
            check_proof(session, "thor_001", nonce, second.sign_challenge(nonce, "thor_001"))
    finally:
        db.dispose()


def test_up_revokes_and_removes_the_old_agent_key(api_settings: ApiSettings) -> None:  # noqa: F811
    db = Database(api_settings.database_url)
    try:
        with db.session() as session:
            key = create_api_key(session, Scope.OPERATE, "local robot agents (dynamical up)").key
        legacy = api_settings.data_dir / "agent.key"
        legacy.write_text(key + "\n")
        assert retire_agent_key(api_settings, db)
        assert not legacy.exists()
        with db.session() as session, pytest.raises(AuthError, match="revoked"):
            authenticate(session, key)
        assert not retire_agent_key(api_settings, db)
    finally:
        db.dispose()


@pytest.mark.slow
def test_robots_add_revoke_and_credentials_commands(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "site")
    assert dynamical("db", "init", "--data-dir", data_dir).returncode == 0
    added = dynamical("robots", "add", "thor_002", "--data-dir", data_dir, "--json")
    assert added.returncode == 0, added.stderr
    issued = json.loads(added.stdout)
    path = Path(issued["path"])
    assert path == tmp_path / "site" / "credentials" / "thor_002.key" and _mode(path) == 0o600
    assert issued["fingerprint"] == RobotCredential.load(path).fingerprint

    again = dynamical("robots", "add", "thor_002", "--data-dir", data_dir)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "exists: pass --replace" in again.stderr
    bad = dynamical("robots", "add", "thor 002", "--data-dir", data_dir)
    assert bad.returncode == 2 and "robot id" in bad.stderr

    listed = dynamical("robots", "credentials", "--data-dir", data_dir, "--json")
    assert [(c["robot_id"], c["revoked_at"]) for c in json.loads(listed.stdout)] == [("thor_002", None)]
    revoked = dynamical("robots", "revoke", "thor_002", "--data-dir", data_dir)
    assert revoked.returncode == 0 and issued["fingerprint"] in revoked.stdout
    twice = dynamical("robots", "revoke", "thor_002", "--data-dir", data_dir)
    assert twice.returncode == 2 and "no active credential" in twice.stderr
    replaced = dynamical("robots", "add", "thor_002", "--replace", "--data-dir", data_dir, "--json")
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads(replaced.stdout)["fingerprint"] != issued["fingerprint"]

    # The agent refuses a credential file it cannot trust, in one line, before the robot starts.
    path.chmod(0o640)
    agent = dynamical("agent", "--robot-id", "thor_002", "--credential", str(path))
    assert agent.returncode == 2 and "readable by others" in agent.stderr and "Traceback" not in agent.stderr
