"""Robot credentials on the server: issue, provision, revoke, and check an agent's proof.

The server keeps only public keys (``models.RobotCredential``); a robot's private key is made
where the robot runs and stays in its 0600 file (``agent.credential``). An operate API key is not a
robot credential: the agent link accepts nothing but a signature by the robot's own key.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from dynamical.agent.credential import (
    PUBLIC_KEY_BYTES,
    CredentialError,
    RobotCredential,
    default_path,
    fingerprint,
    verify,
)
from dynamical.api.db import Database
from dynamical.api.models import RobotCredential as CredentialRow
from dynamical.api.models import utcnow
from dynamical.api.schemas import ID_PATTERN

log = logging.getLogger(__name__)
_ID = re.compile(ID_PATTERN)


class CredentialInfo(BaseModel):
    """A robot credential as tables and ``--json`` show it (never a key)."""

    robot_id: str
    fingerprint: str
    created_at: datetime
    revoked_at: datetime | None


class IssuedCredential(CredentialInfo):
    path: Path
    """Where the private key was written."""


class LinkRefusedError(Exception):
    """The agent's proof of identity failed; ``code`` is the WebSocket close code, the message says why."""

    def __init__(self, message: str, code: int = 1008) -> None:
        super().__init__(message)
        self.code = code


def _check_id(robot_id: str) -> None:
    if not _ID.fullmatch(robot_id):
        raise ValueError(f"robot id {robot_id!r} must be 1-64 letters, digits, '_', '.' or '-', starting alphanumeric")


def _info(row: CredentialRow) -> CredentialInfo:
    return CredentialInfo(
        robot_id=row.robot_id, fingerprint=row.fingerprint, created_at=row.created_at, revoked_at=row.revoked_at
    )


def store_public_key(session: Session, robot_id: str, public_key: bytes, *, replace: bool = False) -> CredentialInfo:
    """Make ``public_key`` the credential of ``robot_id``. An active credential is replaced only
    with ``replace`` (its agent's link then closes: the server checks connected robots' keys)."""
    _check_id(robot_id)
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise ValueError(f"an Ed25519 public key is {PUBLIC_KEY_BYTES} bytes, got {len(public_key)}")
    row = session.get(CredentialRow, robot_id)
    if row is not None and row.revoked_at is None and not replace:
        raise ValueError(
            f"robot {robot_id!r} already has a credential ({row.fingerprint}): "
            "`dynamical robots revoke` it first, or pass --replace"
        )
    if row is None:
        row = CredentialRow(robot_id=robot_id)
        session.add(row)
    row.public_key, row.fingerprint = public_key.hex(), fingerprint(public_key)
    row.created_at, row.revoked_at = utcnow(), None
    session.flush()
    return _info(row)


def issue(db: Database, robot_id: str, path: Path, *, replace: bool = False) -> IssuedCredential:
    """A new key pair for ``robot_id``: the private key to ``path`` (0600, directory 0700), the
    public key to the database. The file is written only once the database took the key."""
    _check_id(robot_id)
    if path.exists() and not replace:
        raise ValueError(f"{path} exists: pass --replace to make a new credential in its place")
    credential = RobotCredential.generate()
    with db.session() as session:
        info = store_public_key(session, robot_id, credential.public_key, replace=replace)
        # Inside the transaction: a key file that cannot be written leaves no credential behind.
        credential.save(path)
    return IssuedCredential(**info.model_dump(), path=path)


def revoke(db: Database, robot_id: str) -> CredentialInfo | None:
    """Revoke ``robot_id``'s credential; None when it has no active one. Its link closes within
    ``agent_link.CREDENTIAL_CHECK_S`` (whichever server process holds it)."""
    with db.session() as session:
        row = session.get(CredentialRow, robot_id)
        if row is None or row.revoked_at is not None:
            return None
        row.revoked_at = utcnow()
        return _info(row)


def listing(db: Database) -> list[CredentialInfo]:
    with db.session() as session:
        return [_info(row) for row in session.scalars(select(CredentialRow).order_by(CredentialRow.robot_id))]


def provision_local(db: Database, data_dir: Path, robot_id: str) -> tuple[Path, bool]:
    """The credential of the robot ``dynamical up`` runs: its file in the data directory and its
    public key in the database, made anew when either is missing, unreadable, revoked or not the
    other's match. Returns (path, whether a new one was made)."""
    path = default_path(data_dir, robot_id)
    try:
        credential = RobotCredential.load(path)
    except CredentialError as exc:
        if path.exists():
            log.warning("replacing the local robot credential: %s", exc)
        credential = None
    if credential is not None:
        with db.session() as session:
            row = session.get(CredentialRow, robot_id)
            if row is not None and row.revoked_at is None and row.public_key == credential.public_key.hex():
                return path, False
    issue(db, robot_id, path, replace=True)
    return path, True


def check_proof(session: Session, robot_id: str, nonce: bytes, signature: bytes) -> str:
    """The fingerprint of the credential that ``signature`` proves for ``robot_id``; raises
    ``LinkRefusedError`` saying why not (no credential, revoked, or a signature that does not verify)."""
    row = session.get(CredentialRow, robot_id)
    if row is None:
        raise LinkRefusedError(
            f"robot {robot_id!r} has no credential on this server: `dynamical robots add {robot_id}`"
        )
    if row.revoked_at is not None:
        raise LinkRefusedError(f"the credential of robot {robot_id!r} was revoked")
    if not verify(bytes.fromhex(row.public_key), signature, nonce, robot_id):
        raise LinkRefusedError(f"the signature does not prove robot {robot_id!r}'s credential ({row.fingerprint})")
    return row.fingerprint


def active_fingerprints(session: Session, robot_ids: list[str]) -> dict[str, str]:
    """robot id → fingerprint of its active credential, for those of ``robot_ids`` that have one."""
    if not robot_ids:
        return {}
    rows = session.execute(
        select(CredentialRow.robot_id, CredentialRow.fingerprint).where(
            CredentialRow.robot_id.in_(robot_ids), CredentialRow.revoked_at.is_(None)
        )
    )
    return {robot_id: fp for robot_id, fp in rows}
