"""API keys: made here, stored hashed, checked on every API request (by ``api.gate``, before the body).

A key reads ``dyn_<prefix>_<secret>``: the 10-hex-digit prefix is public (it names the key in the
audit log and in ``keys list``), the secret is 32 random bytes. The database holds the prefix and
the sha256 of the whole key; a key is found by its prefix and its hash compared in constant time.
The secret has 256 bits of entropy, so a fast hash is enough (a password hash guards low-entropy
secrets against guessing; nobody can guess these).

Scopes nest: ``read`` < ``operate`` < ``admin``; a key may do what its scope and every lower one allow.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from dynamical.api.db import Database
from dynamical.api.models import ApiKey, utcnow
from dynamical.names import check_display_name

HEADER = "X-API-Key"
_KEY = re.compile(r"^dyn_([0-9a-f]{10})_([A-Za-z0-9_-]{43})$")
_MAX_KEY_CHARS = 256


class Scope(StrEnum):
    READ = "read"
    OPERATE = "operate"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Scope) -> bool:
        return self.rank >= needed.rank


_RANK = {Scope.READ: 0, Scope.OPERATE: 1, Scope.ADMIN: 2}


class Principal(BaseModel):
    """Who is calling: the key that authenticated the request."""

    key_id: int
    prefix: str
    scope: Scope
    name: str


class NewKey(BaseModel):
    """A key just made. ``key`` is shown once and never stored."""

    key: str
    prefix: str
    scope: Scope
    name: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, scope: Scope | str, name: str = "") -> NewKey:
    """Make a key with ``scope`` in the caller's transaction; the caller commits."""
    scope = Scope(scope)
    label = check_display_name(name.strip(), "key name") if name.strip() else f"{scope.value} key"
    prefix = secrets.token_hex(5)
    key = f"dyn_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(ApiKey(prefix=prefix, key_hash=hash_key(key), scope=scope.value, name=label, created_at=utcnow()))
    session.flush()
    return NewKey(key=key, prefix=prefix, scope=scope, name=label)


def ensure_admin_key(db: Database) -> NewKey | None:
    """A new admin key when the database holds no active admin key (a first start), else None.

    ``dynamical up`` prints the returned key once; only its hash is kept.
    """
    with db.session() as session:
        existing = session.scalar(
            select(ApiKey.id).where(ApiKey.scope == Scope.ADMIN.value, ApiKey.revoked_at.is_(None)).limit(1)
        )
        if existing is not None:
            return None
        return create_api_key(session, Scope.ADMIN, "first admin key")


def revoke_api_key(session: Session, prefix: str) -> bool:
    """Revoke the key with ``prefix``; False when no active key has it."""
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)))
    if row is None:
        return False
    row.revoked_at = utcnow()
    return True


class AuthError(Exception):
    """Authentication failed: 401, with a message that never says which part of the key was wrong."""


def authenticate(session: Session, presented: object) -> Principal:
    """The principal behind ``presented`` (anything a client sent); raises ``AuthError``."""
    if presented is None or presented == "":
        raise AuthError(f"missing API key: send it in the {HEADER} header")
    if not isinstance(presented, str) or len(presented) > _MAX_KEY_CHARS:
        raise AuthError("invalid API key")
    match = _KEY.fullmatch(presented.strip())
    if match is None:
        raise AuthError("invalid API key")
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == match.group(1)))
    # Compare even when no row matched, so the answer takes the same time either way.
    expected = row.key_hash if row is not None else hash_key("dyn_0000000000_" + "0" * 43)
    if not hmac.compare_digest(expected, hash_key(presented.strip())) or row is None:
        raise AuthError("invalid API key")
    if row.revoked_at is not None:
        raise AuthError("API key revoked")
    return Principal(key_id=row.id, prefix=row.prefix, scope=Scope(row.scope), name=row.name)


# auto_error=False: a missing header is our 401 with our message, not FastAPI's 403.
_header = APIKeyHeader(name=HEADER, auto_error=False, description="An API key; `dynamical keys create` makes one")


def require(scope: Scope):  # type: ignore[no-untyped-def]
    """A dependency that authenticates the request and demands at least ``scope``."""

    def dependency(request: Request, presented: Annotated[str | None, Security(_header)]) -> Principal:
        # The gate (api.gate) authenticated the key before the body was read; an app built
        # without it (none is, but a router mounted elsewhere could be) checks here.
        principal: Principal | None = getattr(request.state, "principal", None)
        if principal is None:
            db: Database = request.app.state.db
            try:
                with db.session() as session:
                    principal = authenticate(session, presented)
            except AuthError as exc:
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "APIKey"}
                ) from None
            # The audit log records who made the request, whatever the outcome.
            request.state.principal = principal
        if not principal.scope.allows(scope):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the {scope.value!r} scope; key {principal.prefix} has {principal.scope.value!r}",
            )
        return principal

    return dependency


Reader = Annotated[Principal, Depends(require(Scope.READ))]
Operator = Annotated[Principal, Depends(require(Scope.OPERATE))]
Admin = Annotated[Principal, Depends(require(Scope.ADMIN))]
