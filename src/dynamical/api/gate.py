"""The gate in front of every router: the API key is checked before a byte of the body is read,
and no body is read past its route's limit.

An unauthenticated client can cost the server only its headers: ``/api/…`` without a valid key is
answered 401 (429 once its address has failed too often, see ``auth_throttle``) and the body is
never read. An authenticated request's body is read up to its route's limit (``max_body_bytes``,
1 MiB by default; only a skill upload may carry ``max_artifact_bytes``) and refused with 413 past
it, whether the client declared a ``Content-Length`` or streams chunks. Everything else (``/health``,
the API docs, the dashboard's files) is public; a key sent there anyway is checked too, and makes
``/health`` detailed.

WebSockets pass through: ``/ws/telemetry`` authenticates in its handler (the browser sends the key
in the first message) and ``/ws/agent`` by the robot's own handshake; uvicorn's ``ws_max_size``
(``max_socket_message_bytes``) bounds what either can be sent.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dynamical.api import audit
from dynamical.api.auth import HEADER, AuthError, Principal, authenticate
from dynamical.api.auth_throttle import AuthThrottle, Verdict
from dynamical.api.db import Database, DatabaseError
from dynamical.api.settings import ApiSettings
from dynamical.api.upload import MULTIPART_SLACK

log = logging.getLogger(__name__)
PROTECTED_PREFIX = "/api/"
ARTIFACT_UPLOAD = ("POST", "/api/v1/skills")
BACKSTOP_MARGIN = 1024 * 1024
_HEADER = HEADER.lower().encode("latin-1")


class RefusedError(Exception):
    """Authentication failed (401, 429) or could not be done (503); ``detail`` is the message to send."""

    def __init__(self, status: int, detail: str, retry_after_s: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after_s = retry_after_s


def client_address(scope: Scope) -> str:
    """The client's address as the server believes it (the TCP peer, or a trusted proxy's word)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def check_key(
    db: Database, throttle: AuthThrottle, presented: object, client: str, method: str, path: str
) -> Principal:
    """The principal behind ``presented``, or ``RefusedError`` (401, or 429 for an address that keeps failing).

    A failure is counted against ``client``, and audited when the throttle says so (the first of
    a burst, and the moment it turns into 429s)."""
    try:
        if not isinstance(presented, str):
            raise AuthError(
                f"missing API key: send it in the {HEADER} header" if presented is None else "invalid API key"
            )
        return await run_in_threadpool(_authenticate, db, presented)
    except (DatabaseError, SQLAlchemyError) as exc:
        log.error("cannot check an API key: %s", exc)
        raise RefusedError(503, "database unavailable: the key cannot be checked now") from None
    except AuthError as exc:
        verdict = throttle.failed(client, method, path)
        await _audit(db, verdict, client)
        if verdict.retry_after_s is not None:
            raise RefusedError(
                429,
                f"too many failed authentications from {client}; retry in {verdict.retry_after_s} s",
                verdict.retry_after_s,
            ) from None
        raise RefusedError(401, str(exc)) from None


def _authenticate(db: Database, presented: str) -> Principal:
    with db.session() as session:
        return authenticate(session, presented)


async def _audit(db: Database, verdict: Verdict, client: str) -> None:
    note = verdict.audit
    if note is None:
        return
    try:
        await run_in_threadpool(audit.record, db, None, note.method, note.path, note.status_code, client)
    except Exception:
        log.exception("could not write the audit row of a failed authentication from %s", client)


def _header(scope: Scope, name: bytes) -> str | None:
    values = [v for k, v in scope.get("headers", ()) if k == name]
    if not values:
        return None
    # Two copies of the key header is a malformed request, not a choice for the server to make.
    return values[0].decode("latin-1") if len(values) == 1 else ""


async def answer(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """Send a JSON ``{"detail": ...}`` response."""
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class RequestGate:
    """ASGI middleware: authentication before the body, then the body within its route's limit."""

    def __init__(self, app: ASGIApp, *, settings: ApiSettings, db: Database, throttle: AuthThrottle) -> None:
        self.app = app
        self.settings = settings
        self.db = db
        self.throttle = throttle

    def body_limit(self, method: str, path: str) -> tuple[int, bool]:
        """The most body bytes a request may send, and whether its route streams them itself."""
        if (method, path.rstrip("/")) == ARTIFACT_UPLOAD:
            # The upload reads and caps the artifact itself while it streams (413 with its own
            # message); this backstop, a read's worth above, only stops a route that would not.
            return self.settings.max_artifact_bytes + MULTIPART_SLACK + BACKSTOP_MARGIN, True
        return self.settings.max_body_bytes, False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        presented = _header(scope, _HEADER)
        principal: Principal | None = None
        if presented is not None or path.startswith(PROTECTED_PREFIX):
            try:
                principal = await check_key(self.db, self.throttle, presented, client_address(scope), method, path)
            except RefusedError as refused:
                headers = {"WWW-Authenticate": "APIKey"} if refused.status == 401 else {}
                if refused.retry_after_s is not None:
                    headers["Retry-After"] = str(refused.retry_after_s)
                await answer(send, refused.status, refused.detail, headers)
                return
            scope.setdefault("state", {})["principal"] = principal
        limit, streamed = self.body_limit(method, path)
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._too_large(send, scope, principal, limit, declared)
            return
        if not streamed:
            body = await _read_body(receive, limit)
            if body is None:
                await self._too_large(send, scope, principal, limit, declared)
                return
            receive = _replay(body, receive)
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _capped(receive, limit), watched)
        except* BodyTooLargeError:
            if not started:
                await answer(send, 413, f"request body larger than this route's limit of {limit} bytes")

    async def _too_large(
        self, send: Send, scope: Scope, principal: Principal | None, limit: int, declared: str | None
    ) -> None:
        if declared is not None and not declared.isdigit():
            await answer(send, 400, f"Content-Length {declared[:32]!r} is not a byte count")
            code = 400
        else:
            await answer(send, 413, f"request body larger than this route's limit of {limit} bytes")
            code = 413
        if scope["method"] in audit.MUTATING and principal is not None:
            # The router never saw it, so the audit middleware did not either.
            try:
                await run_in_threadpool(
                    audit.record, self.db, principal, scope["method"], scope["path"], code, client_address(scope)
                )
            except Exception:
                log.exception("could not write the audit row of a refused body")


async def _read_body(receive: Receive, limit: int) -> list[Message] | None:
    """The request's body messages, or None once they pass ``limit`` bytes (reading stops there)."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages  # a disconnect: the app sees it as the client left
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()  # after the body: the disconnect, when it comes

    return replay


class BodyTooLargeError(Exception):
    """A streamed body passed the gate's backstop limit."""


def _capped(receive: Receive, limit: int) -> Receive:
    size = 0

    async def capped() -> Message:
        nonlocal size
        message: dict[str, Any] = dict(await receive())
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLargeError(f"request body larger than this route's limit of {limit} bytes")
        return message

    return capped
