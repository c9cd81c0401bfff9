"""``/ws/telemetry``: robot state (30 Hz), safety events, execution progress and a heartbeat, as JSON.

A dashboard is a slow consumer on a fast stream: each subscriber has a bounded queue, and when
it is full the oldest message is dropped (a state sample 30 ms old is worth less than the newest
one). The publisher never waits for a subscriber. The key comes as the ``api_key`` query
parameter, the ``X-API-Key`` header, or the first message (``{"api_key": "..."}``); read scope.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from starlette.concurrency import run_in_threadpool

from dynamical.agent.messages import finite
from dynamical.api.auth import HEADER, AuthError, Scope, authenticate
from dynamical.api.db import Database

log = logging.getLogger(__name__)
QUEUE_SIZE = 512
HEARTBEAT_S = 1.0
FIRST_MESSAGE_TIMEOUT_S = 5.0


class Telemetry:
    """Fan-out of telemetry messages to every connected subscriber."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, message: dict[str, Any]) -> None:
        """Queue ``message`` (a JSON-able dict with a ``type``) for every subscriber; never blocks."""
        if not self._subscribers:
            return
        message = {**finite(message), "server_time": time.time()}
        for queue in self._subscribers:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(message)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)


async def authenticate_socket(websocket: WebSocket, db: Database, scope: Scope, presented: str | None) -> bool:
    """Check ``presented`` has ``scope``; on failure close the socket with 1008 and a reason. The
    socket must be accepted already (so that the reason reaches the client)."""
    try:
        principal = await run_in_threadpool(_authenticate, db, presented)
    except AuthError as exc:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=str(exc))
        return False
    if not principal.scope.allows(scope):
        reason = f"this needs the {scope.value!r} scope; key {principal.prefix} has {principal.scope.value!r}"
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason=reason)
        return False
    return True


def _authenticate(db: Database, presented: str | None):  # type: ignore[no-untyped-def]
    with db.session() as session:
        return authenticate(session, presented)


def telemetry_router(telemetry: Telemetry) -> APIRouter:
    router = APIRouter()

    @router.websocket("/ws/telemetry")
    async def telemetry_socket(websocket: WebSocket) -> None:
        await websocket.accept()
        presented = websocket.query_params.get("api_key") or websocket.headers.get(HEADER)
        if presented is None:
            try:
                first = await asyncio.wait_for(websocket.receive_text(), FIRST_MESSAGE_TIMEOUT_S)
                presented = json.loads(first).get("api_key")
            except (TimeoutError, ValueError, AttributeError, WebSocketDisconnect):
                presented = None
        if not await authenticate_socket(websocket, websocket.app.state.db, Scope.READ, presented):
            return
        robot_filter = websocket.query_params.get("robot_id")
        queue = telemetry.subscribe()
        try:
            await websocket.send_json({"type": "hello", "server_time": time.time()})
            next_beat = time.monotonic() + HEARTBEAT_S
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), max(0.0, next_beat - time.monotonic()))
                except TimeoutError:
                    message = {"type": "heartbeat", "server_time": time.time()}
                if message["type"] == "heartbeat" or time.monotonic() >= next_beat:
                    # A busy stream still carries a heartbeat every second.
                    next_beat = time.monotonic() + HEARTBEAT_S
                    if message["type"] != "heartbeat":
                        await websocket.send_json({"type": "heartbeat", "server_time": time.time()})
                if robot_filter and message.get("robot_id") not in (None, robot_filter):
                    continue
                await websocket.send_json(message)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the subscriber went away
        finally:
            telemetry.unsubscribe(queue)

    return router
