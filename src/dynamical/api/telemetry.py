"""``/ws/telemetry``: robot state (30 Hz), safety events, execution progress and a heartbeat, as JSON.

A dashboard is a slow consumer on a fast stream: each subscriber has a bounded queue, and when
it is full the oldest message is dropped (a state sample 30 ms old is worth less than the newest
one). The publisher never waits for a subscriber.

The key (read scope) comes in the ``X-API-Key`` header or as the first message
(``{"api_key": "..."}``, what a browser sends); never in the URL, where it would end up in logs
and history. Failures count against the client's address like any other (``auth_throttle``), and
revoking the key closes the socket within a second (``key_sessions``). What a client sends is
bounded (``CLIENT_MESSAGE_MAX_BYTES``) and validated: ``{"type": "ping"}`` is answered ``pong``,
anything else ``error``, and the ``MAX_BAD_MESSAGES``-th bad one closes the socket (1008).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import Counter
from typing import Any, Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from dynamical.agent.messages import finite
from dynamical.api.auth import HEADER, Principal, Scope
from dynamical.api.gate import RefusedError, check_key, client_address
from dynamical.api.schemas import ID_PATTERN

log = logging.getLogger(__name__)
QUEUE_SIZE = 512
HEARTBEAT_S = 1.0
FIRST_MESSAGE_TIMEOUT_S = 5.0
CLIENT_MESSAGE_MAX_BYTES = 4096
MAX_BAD_MESSAGES = 5
CLOSED: dict[str, Any] = {"type": "closed"}
"""Put in a subscriber's queue when its client left: the sender stops."""
TOO_BIG = f"message over {CLIENT_MESSAGE_MAX_BYTES} bytes"
MAX_PENDING_PER_CLIENT = 8
TOO_MANY_PENDING = f"more than {MAX_PENDING_PER_CLIENT} sockets of this address wait to authenticate"
KEY_IN_URL = "the API key goes in the X-API-Key header or the first message, never in the URL"


class Telemetry:
    """Fan-out of telemetry messages to every connected subscriber."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.pending: Counter[str] = Counter()
        """Sockets per client address that are still to send their key."""

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, message: dict[str, Any]) -> None:
        """Queue ``message`` (a JSON-able dict with a ``type``) for every subscriber; never blocks."""
        if not self._subscribers:
            return
        message = {**finite(message), "server_time": time.time()}
        for queue in self._subscribers:
            _offer(queue, message)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)


class AuthMessage(BaseModel):
    """The first message of a client that did not send ``X-API-Key``: ``{"api_key": "dyn_…"}``."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["auth"] = "auth"
    api_key: str = Field(min_length=1, max_length=256)


class Ping(BaseModel):
    """Answered with ``{"type": "pong"}``: a client's own liveness check."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["ping"]


_auth_message = TypeAdapter(AuthMessage)
_client_message = TypeAdapter(Ping)


class SocketClosed(Exception):  # noqa: N818 -- a control-flow signal, not an error
    """The socket was closed with a code and reason the client has been sent."""


async def _close(websocket: WebSocket, code: int, reason: str) -> SocketClosed:
    # A close reason is at most 123 bytes on the wire.
    with contextlib.suppress(RuntimeError):
        await websocket.close(code=code, reason=reason.encode()[:123].decode(errors="ignore"))
    return SocketClosed(reason)


def _text(message: dict[str, Any]) -> str | bytes | None:
    return message.get("text") if message.get("text") is not None else message.get("bytes")


async def _first_message_key(websocket: WebSocket) -> str | None:
    """The key of the client's first message; None when it sent none in time or malformed (the
    failure is counted by the caller like any missing key). Larger than ``CLIENT_MESSAGE_MAX_BYTES``:
    closed with 1009."""
    try:
        message = await asyncio.wait_for(websocket.receive(), FIRST_MESSAGE_TIMEOUT_S)
    except TimeoutError:
        return None
    if message["type"] == "websocket.disconnect":
        raise SocketClosed("the client left before authenticating")
    raw = _text(message)
    if raw is None:
        return None
    if len(raw) > CLIENT_MESSAGE_MAX_BYTES:
        raise await _close(websocket, status.WS_1009_MESSAGE_TOO_BIG, TOO_BIG)
    try:
        return _auth_message.validate_json(raw).api_key
    except ValidationError:
        return None


async def _awaiting_key(websocket: WebSocket, pending: Counter[str]) -> str | None:
    """``_first_message_key``, for at most ``MAX_PENDING_PER_CLIENT`` sockets of one address at a
    time: each may hold a message of up to ``ws_max_size`` in the server before it is refused, so
    an address cannot open sockets by the hundred and never say who it is."""
    client = client_address(websocket.scope)
    if pending[client] >= MAX_PENDING_PER_CLIENT:
        raise await _close(websocket, status.WS_1013_TRY_AGAIN_LATER, TOO_MANY_PENDING)
    pending[client] += 1
    try:
        return await _first_message_key(websocket)
    finally:
        pending[client] -= 1
        if not pending[client]:
            del pending[client]


async def authenticate_socket(websocket: WebSocket, scope: Scope, presented: object, path: str) -> Principal:
    """The principal behind ``presented`` with at least ``scope``, tracked so that revoking its key
    closes the socket; else the socket is closed (1008, or 1013 for a throttled address) and
    ``SocketClosed`` raised. The socket must be accepted already (so the reason reaches the client)."""
    state = websocket.app.state
    try:
        principal = await check_key(
            state.db, state.auth_throttle, presented, client_address(websocket.scope), "GET", path
        )
    except RefusedError as refused:
        if refused.status == 429:
            raise await _close(websocket, status.WS_1013_TRY_AGAIN_LATER, refused.detail) from None
        if refused.status == 503:
            raise await _close(websocket, status.WS_1011_INTERNAL_ERROR, refused.detail) from None
        reason = refused.detail
        if presented is None:
            reason = f'missing API key: send it in the {HEADER} header or as the first message {{"api_key": ...}}'
        raise await _close(websocket, status.WS_1008_POLICY_VIOLATION, reason) from None
    if not principal.scope.allows(scope):
        reason = f"this needs the {scope.value!r} scope; key {principal.prefix} has {principal.scope.value!r}"
        raise await _close(websocket, status.WS_1008_POLICY_VIOLATION, reason)
    state.key_sessions.track(principal.key_id, websocket)
    return principal


async def _read_client(websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
    """Answer the client's messages until it leaves; then tell the sender (``CLOSED`` in its queue).

    Each message is bounded and validated: a malformed one is answered with an ``error`` message,
    and the ``MAX_BAD_MESSAGES``-th closes the socket with 1008."""
    bad = 0
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = _text(message)
            if raw is None:
                continue
            if len(raw) > CLIENT_MESSAGE_MAX_BYTES:
                await _close(websocket, status.WS_1009_MESSAGE_TOO_BIG, TOO_BIG)
                return
            try:
                _client_message.validate_json(raw)
            except ValidationError as exc:
                bad += 1
                if bad >= MAX_BAD_MESSAGES:
                    await _close(websocket, status.WS_1008_POLICY_VIOLATION, f"{bad} malformed messages")
                    return
                problem = exc.errors()[0]
                detail = f'malformed message: {problem.get("msg", "invalid")}; send {{"type": "ping"}} or nothing'
                await websocket.send_json({"type": "error", "detail": detail, "server_time": time.time()})
                continue
            await websocket.send_json({"type": "pong", "server_time": time.time()})
    except (WebSocketDisconnect, RuntimeError):
        return  # gone, or closed by the server (a revoked key)
    finally:
        _offer(queue, CLOSED)


def _offer(queue: asyncio.Queue[dict[str, Any]], message: dict[str, Any]) -> None:
    """Put ``message`` in ``queue``, dropping the oldest when it is full."""
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(message)


def telemetry_router(telemetry: Telemetry) -> APIRouter:
    router = APIRouter()

    @router.websocket("/ws/telemetry")
    async def telemetry_socket(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            if "api_key" in websocket.query_params:
                raise await _close(websocket, status.WS_1008_POLICY_VIOLATION, KEY_IN_URL)
            robot_filter = websocket.query_params.get("robot_id")
            if robot_filter is not None and not re.fullmatch(ID_PATTERN, robot_filter):
                raise await _close(websocket, status.WS_1008_POLICY_VIOLATION, "robot_id is not a robot id")
            presented: str | None = websocket.headers.get(HEADER)
            if presented is None:
                presented = await _awaiting_key(websocket, telemetry.pending)
            await authenticate_socket(websocket, Scope.READ, presented, "/ws/telemetry")
        except SocketClosed:
            return
        except WebSocketDisconnect:
            return
        queue = telemetry.subscribe()
        reader = asyncio.create_task(_read_client(websocket, queue))
        try:
            await websocket.send_json({"type": "hello", "server_time": time.time()})
            next_beat = time.monotonic() + HEARTBEAT_S
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), max(0.0, next_beat - time.monotonic()))
                except TimeoutError:
                    message = {"type": "heartbeat", "server_time": time.time()}
                if message is CLOSED:
                    return
                if message["type"] == "heartbeat" or time.monotonic() >= next_beat:
                    # A busy stream still carries a heartbeat every second.
                    next_beat = time.monotonic() + HEARTBEAT_S
                    if message["type"] != "heartbeat":
                        await websocket.send_json({"type": "heartbeat", "server_time": time.time()})
                if robot_filter and message.get("robot_id") not in (None, robot_filter):
                    continue
                await websocket.send_json(message)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the subscriber went away, or the server closed it (a revoked key)
        finally:
            telemetry.unsubscribe(queue)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    return router
