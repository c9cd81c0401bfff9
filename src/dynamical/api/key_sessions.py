"""Open WebSockets by the API key that opened them, so that revoking a key closes them.

A key is revoked in the database, often by another process (``dynamical keys revoke``), so the
server cannot wait to be told: while any socket is open it asks the database every
``POLL_S`` which of their keys are revoked, and closes those sockets with 1008 "API key
revoked". A socket is held weakly: one whose handler ended is forgotten without being told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator

from fastapi import WebSocket, status
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketState

from dynamical.api.db import Database
from dynamical.api.models import ApiKey

log = logging.getLogger(__name__)
POLL_S = 0.25
REVOKED_REASON = "API key revoked"


class KeySessions:
    """Sockets per key id, and the watcher that closes those of revoked keys."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._sockets: dict[int, weakref.WeakSet[WebSocket]] = {}

    def track(self, key_id: int, websocket: WebSocket) -> None:
        """Close ``websocket`` when key ``key_id`` is revoked (until its handler ends)."""
        self._sockets.setdefault(key_id, weakref.WeakSet()).add(websocket)

    def open_sockets(self) -> int:
        return sum(len(self._live(key_id)) for key_id in list(self._sockets))

    def _live(self, key_id: int) -> list[WebSocket]:
        sockets = [s for s in self._sockets.get(key_id, ()) if s.application_state != WebSocketState.DISCONNECTED]
        if not sockets:
            self._sockets.pop(key_id, None)
        return sockets

    async def close_revoked(self) -> int:
        """Close the sockets of every revoked key now; how many were closed."""
        ids = [key_id for key_id in list(self._sockets) if self._live(key_id)]
        if not ids:
            return 0
        revoked = await run_in_threadpool(self._revoked, ids)
        closed = 0
        for key_id in revoked:
            for websocket in self._live(key_id):
                with contextlib.suppress(RuntimeError):  # closed meanwhile by its handler or the client
                    await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=REVOKED_REASON)
                    closed += 1
            self._sockets.pop(key_id, None)
        if closed:
            log.info("closed %d sockets of revoked keys %s", closed, sorted(revoked))
        return closed

    def _revoked(self, ids: list[int]) -> list[int]:
        with self.db.session() as session:
            query = select(ApiKey.id).where(ApiKey.id.in_(ids), ApiKey.revoked_at.is_not(None))
            return list(session.scalars(query))

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """Run the watcher for as long as the block (the server's lifespan)."""
        task = asyncio.create_task(self._watch(), name="key-sessions")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            try:
                await self.close_revoked()
            except Exception:
                # A database hiccup must not end the watcher: the next poll tries again.
                log.exception("could not check for revoked keys")
