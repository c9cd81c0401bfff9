"""The audit log: one row per mutating request (who, what, when, and how it ended), refused ones too.

Written after the response is decided, in its own transaction: a request that failed and was
rolled back is still recorded as attempted. Each row also joins the tamper-evident audit ledger
once committed (``api/write_hooks.py``): e-stops and resets as kinds of their own, a refused skill
upload as ``skill.refused``, the rest as ``request``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import FastAPI, Request, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import RequestResponseEndpoint

from dynamical.api.auth import Principal
from dynamical.api.db import Database
from dynamical.api.models import AuditEntry, utcnow

log = logging.getLogger(__name__)
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def record(
    db: Database,
    principal: Principal | None,
    method: str,
    path: str,
    code: int,
    client: str | None,
    at: datetime | None = None,
) -> None:
    """``at``: when the request was answered (default now; a row written later keeps its time)."""
    with db.session() as session:
        session.add(
            AuditEntry(
                at=at or utcnow(),
                api_key_id=principal.key_id if principal else None,
                actor=principal.prefix if principal else "anonymous",
                method=method,
                path=path[:2048],
                status_code=code,
                client=client[:64] if client else None,
            )
        )


def recent(db: Database, limit: int = 100) -> list[AuditEntry]:
    with db.session() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))


def install_audit(app: FastAPI) -> None:
    @app.middleware("http")
    async def audit(request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.method not in MUTATING:
            return await call_next(request)
        code = 500  # what the client gets if the handler raises past every exception handler
        try:
            response = await call_next(request)
            code = response.status_code
            return response
        finally:
            principal = getattr(request.state, "principal", None)
            client = request.client.host if request.client else None
            deferred = getattr(request.state, "audit_deferred", None)
            if deferred is not None:
                # A safety command (the e-stop) never waits for the database: its handler queued
                # the row's writing (api/event_queue.py) instead.
                deferred(principal, request.method, request.url.path, code, client)
            else:
                try:
                    await run_in_threadpool(
                        record, app.state.db, principal, request.method, request.url.path, code, client
                    )
                except Exception:
                    # The change itself is committed (or refused); losing its audit line must not turn it into a 500.
                    log.exception("could not write the audit log for %s %s", request.method, request.url.path)
