"""The server's end of the agent link: ``/ws/agent``, one WebSocket per robot agent.

Why WebSocket + msgpack rather than gRPC: the server is already an ASGI app (one port, one auth
scheme, one process), browsers and proxies pass WebSockets, and msgpack carries bytes (artifacts)
and floats compactly with pydantic models as the schema (``agent.messages``, versioned).

An agent proves its robot's identity: the server sends a fresh ``challenge``, the agent answers
``hello`` (robot id, capabilities, world) signed with the robot's Ed25519 credential
(``robot_credentials``; an API key is not one). A robot whose link is connected and alive cannot be
connected again (the second link is refused, the first keeps working), a revoked credential closes
its link, and every connect, refusal and disconnect is in the audit log (``link_audit``). The
robot is registered (``upsert_robot``); the server answers ``welcome`` and pushes the stored
keep-out zones. A link speaks only for its own robot: progress, results and events that name an
execution of another robot are ignored, answered with an ``error`` and audited; so is any message
that does not validate (``agent.messages`` bounds them all), and a link that keeps sending them
is closed. From then on the agent streams state, events,
progress and results; the hub keeps the latest state per robot, stores events, forwards all of it
to ``/ws/telemetry`` and hands progress and results to its listeners (the invoker). Commands
(estop, reset, cancel, zones, deploy) wait for the agent's ``command_result``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

import dynamical
from dynamical.agent.credential import NONCE_BYTES
from dynamical.agent.messages import (
    MAX_AGENT_MESSAGE_BYTES,
    Challenge,
    CommandResult,
    Estop,
    Heartbeat,
    Hello,
    LinkError,
    PlanResult,
    ProtocolError,
    SafetyEvents,
    StateReport,
    StepProgressReport,
    Welcome,
    Zones,
    _Message,
    decode_agent,
    encode,
    message_type,
)
from dynamical.agent.plan_runner import StepProgress
from dynamical.agent.robot_agent import RobotStateReport
from dynamical.api.auth import HEADER
from dynamical.api.db import Database
from dynamical.api.event_queue import RecordQueue, default_spool, events_write, writer_database
from dynamical.api.hub import EstopAck, ZoneAck, ZonesChanged
from dynamical.api.link_audit import record_link_event
from dynamical.api.models import SafetyZone, utcnow
from dynamical.api.records import RobotRecord, rule_name, upsert_robot
from dynamical.api.robot_credentials import LinkRefusedError, active_fingerprints, check_proof
from dynamical.api.schemas import ComponentHealth, RobotLink
from dynamical.api.telemetry import Telemetry
from dynamical.orchestration.world import WorldSnapshot
from dynamical.robot.scene_model import SceneModel
from dynamical.safety.config import BoxZone, HalfSpaceZone

log = logging.getLogger(__name__)
HELLO_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 5.0
ESTOP_TIMEOUT_S = 1.0
"""s, how long an e-stop waits for a robot to acknowledge it and report its kernel latched: the
kernel latches within a tick and the agent reports its state at 30 Hz, so ~50 ms; longer means
the robot is not stopping and the caller must treat it as not stopped."""
ZONES_TIMEOUT_S = 2.0
"""s, how long a zone change waits for each robot's kernel to take or refuse the new list (the
realtime agent waits 0.5 s for its realtime process)."""

ALIVE_S = 5.0
"""A link that sent nothing for this long (agents send state at 30 Hz and a heartbeat every
second) is dead: a new link of its robot replaces it. Within it, a second link is refused."""
CREDENTIAL_CHECK_S = 1.0
"""How often connected robots' credentials are checked: a revoked or replaced one closes its link."""
BAD_MESSAGES_LIMIT = 20
BAD_MESSAGES_WINDOW_S = 10.0
"""A link that sends more refused messages than the limit within the window is closed."""
# Close codes of the agent link (4000-4999 are the application's own).
CLOSE_ALREADY_CONNECTED = 4409
CLOSE_REVOKED = 4403
CLOSE_REPLACED = 4000

ProgressListener = Callable[[str, StepProgressReport], None]
ResultListener = Callable[[str, PlanResult], object]
OwnerOf = Callable[[str], Awaitable[str | None]]
"""request_id → the robot that runs (or ran) that execution, None when none does."""


class RobotNotConnectedError(LookupError):
    """The robot's agent is not connected now."""


@dataclass
class Connection:
    """One connected agent."""

    websocket: WebSocket
    hello: Hello
    since: datetime
    peer: str | None
    fingerprint: str = ""
    """Of the credential the link proved; a link whose credential changes is closed."""
    last_message_at: datetime | None = None
    last_seen: float = field(default_factory=time.monotonic)
    """time.monotonic() of the last message (liveness)."""
    refused: deque[float] = field(default_factory=deque)
    """time.monotonic() of recently refused messages."""
    state: RobotStateReport | None = None
    state_received: float | None = None
    """time.monotonic() when ``state`` arrived."""
    world: WorldSnapshot | None = None
    running: str | None = None
    """request_id of the execution the robot runs, as the server knows it."""
    pending: dict[str, asyncio.Future[CommandResult]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    state_waiters: list[asyncio.Future[RobotStateReport]] = field(default_factory=list)
    results: asyncio.Task[None] | None = None
    """The last plan result being handed to the listeners (they store it: see ``_deliver_result``)."""

    @property
    def robot_id(self) -> str:
        return self.hello.robot_id

    def alive(self, now: float) -> bool:
        return now - self.last_seen < ALIVE_S

    def joint_name(self, index: int) -> str | None:
        """The name of the robot's joint ``index`` (the order of its state's ``q``), if known."""
        names = self.hello.scene.joint_names if self.hello.scene is not None else []
        if not names and self.state is not None:
            names = self.state.joint_names
        return names[index] if 0 <= index < len(names) else None

    async def send(self, message: _Message) -> None:
        async with self.lock:  # one frame at a time: concurrent sends would interleave
            await self.websocket.send_bytes(encode(message))

    async def next_state(self, timeout_s: float) -> RobotStateReport | None:
        """The next state the robot reports, or None when none comes within ``timeout_s``."""
        future: asyncio.Future[RobotStateReport] = asyncio.get_running_loop().create_future()
        self.state_waiters.append(future)
        try:
            return await asyncio.wait_for(future, max(0.0, timeout_s))
        except TimeoutError:
            return None
        finally:
            if future in self.state_waiters:
                self.state_waiters.remove(future)

    @property
    def zone_capacity(self) -> int | None:
        """Keep-out zones the robot's kernel takes from the server (its capacity less its
        configured zones), as its hello said; None for an agent that does not say."""
        return self.hello.zone_capacity


def planned_hands(progress: StepProgress) -> dict[str, dict[str, list[list[float]]]]:
    """``{"planned_hands": side → the grasp site's planned positions at each phase end (m)}`` for
    a step whose motion is known (planned, or ended after moving); empty otherwise."""
    planned = progress.planned or (progress.outcome.trajectory if progress.outcome is not None else None)
    if planned is None:
        return {}
    sides = sorted({side for phase in planned.phases for side in phase.hands})
    return {"planned_hands": {side: [p.hands[side] for p in planned.phases if side in p.hands] for side in sides}}


class AgentLinkHub:
    """The ``AgentHub`` of ``dynamical up``: every connected agent, their state, their commands."""

    def __init__(self, db: Database, telemetry: Telemetry, spool: Path | None = None) -> None:
        """``spool``: where safety records wait while the database is unavailable (default:
        beside a SQLite database file; see ``event_queue``)."""
        self.db = db
        self.telemetry = telemetry
        self.records = RecordQueue(
            writer_database(db.url.render_as_string(hide_password=False), db), spool or default_spool(db)
        )
        """Safety events (and the e-stop's audit rows) go through here: never waited for."""
        self.connections: dict[str, Connection] = {}
        self.scenes: dict[str, SceneModel] = {}
        """The last scene model each robot sent (kept after it disconnects, for viewers)."""
        self.progress_listeners: list[ProgressListener] = []
        self.result_listeners: list[ResultListener] = []
        self.owner_of: OwnerOf | None = None
        """Set by the invoker: who runs an execution. Without it, reports name no execution of
        another robot (there is none to protect)."""
        self._credential_watch: asyncio.Task[None] | None = None
        self._zone_answers: set[asyncio.Task[None]] = set()
        self.router = APIRouter()
        self.router.add_api_websocket_route("/ws/agent", self._endpoint)

    # ---- AgentHub ----------------------------------------------------------------------------

    def connected_robots(self) -> Sequence[RobotLink]:
        return [
            RobotLink(
                robot_id=c.robot_id,
                connected_since=c.since,
                last_message_at=c.last_message_at,
                protocol_version=c.hello.v,
                peer=c.peer,
            )
            for c in self.connections.values()
        ]

    def health(self) -> ComponentHealth:
        """A ``/health`` line: which robots are connected and how fresh their state is."""
        now = time.monotonic()
        parts = []
        for c in self.connections.values():
            age = "no state yet" if c.state_received is None else f"state {now - c.state_received:.2f} s old"
            parts.append(f"{c.robot_id} ({age})")
        return ComponentHealth(
            name="agent_link", ok=True, detail=f"{len(parts)} connected" + (": " + ", ".join(parts) if parts else "")
        )

    async def push_zones(self, event: ZonesChanged) -> list[ZoneAck]:
        """The ``on_zones_changed`` listener: every connected robot gets its full zone list; the
        answer is what each one's kernel did with it (applied, or refused and why)."""

        async def one(robot_id: str) -> ZoneAck:
            zones = [z.zone for z in event.zones_for(robot_id)]
            try:
                result = await self.command(robot_id, lambda c: Zones(command_id=c, zones=zones), ZONES_TIMEOUT_S)
            except (RobotNotConnectedError, WebSocketDisconnect, RuntimeError) as exc:
                # Gone while we asked: it gets the stored zones when it reconnects.
                return ZoneAck(robot_id=robot_id, status="not_connected", detail=str(exc) or type(exc).__name__)
            if result.ok:
                return ZoneAck(robot_id=robot_id, status="applied", detail=f"{len(zones)} zones in force")
            status = "no_answer" if result.detail.startswith("no answer within") else "refused"
            return ZoneAck(robot_id=robot_id, status=status, detail=result.detail)

        return list(await asyncio.gather(*(one(r) for r in sorted(self.connections))))

    async def estop(self, robot_id: str, category: int) -> EstopAck:
        """Stop ``robot_id`` and answer from its own acknowledgement: the agent confirms the
        command and its next state shows the kernel latched (at ``category`` or a stricter one).
        Nothing here touches the database."""
        started = time.perf_counter()

        def ack(ok: bool, detail: str, state: RobotStateReport | None) -> EstopAck:
            safety = state.safety if state is not None else None
            return EstopAck(
                robot_id=robot_id,
                ok=ok,
                detail=detail,
                latched=_latched(state, category),
                mode=safety.mode if safety is not None else None,
                estop_category=safety.estop_category if safety is not None else None,
                answered_in_ms=round((time.perf_counter() - started) * 1e3, 2),
            )

        try:
            connection = self.connection(robot_id)
            result = await self.command(robot_id, lambda c: Estop(command_id=c, category=category), ESTOP_TIMEOUT_S)
        except (RobotNotConnectedError, WebSocketDisconnect, RuntimeError) as exc:
            return ack(False, f"not stopped: {exc or type(exc).__name__}", None)
        if not result.ok:
            return ack(False, f"not stopped: {result.detail}", connection.state)
        state = connection.state
        deadline = started + ESTOP_TIMEOUT_S
        while not _latched(state, category):
            state = await connection.next_state(deadline - time.perf_counter())
            if state is None:
                return ack(
                    False,
                    "the robot acknowledged, but its kernel did not report the stop latched "
                    f"within {ESTOP_TIMEOUT_S:g} s",
                    connection.state,
                )
        assert state is not None and state.safety is not None
        return ack(True, f"e-stop category {state.safety.estop_category} latched ({state.safety.mode})", state)

    def zone_capacity(self, robot_id: str) -> int | None:
        """How many server zones the connected robot's kernel takes; None when not connected or not said."""
        connection = self.connections.get(robot_id)
        return connection.zone_capacity if connection is not None else None

    def close(self) -> None:
        """Store (or spool) the safety records still queued; the server calls this when it stops."""
        self.records.close()
        if self.records.db is not self.db:
            self.records.db.dispose()

    # ---- what the invoker and routers use ------------------------------------------------

    def connection(self, robot_id: str) -> Connection:
        connection = self.connections.get(robot_id)
        if connection is None:
            raise RobotNotConnectedError(f"robot {robot_id!r} has no agent connected")
        return connection

    async def send(self, robot_id: str, message: _Message) -> None:
        await self.connection(robot_id).send(message)

    async def command(
        self, robot_id: str, make: Callable[[str], _Message], timeout_s: float = COMMAND_TIMEOUT_S
    ) -> CommandResult:
        """Send the command ``make(command_id)`` and wait for the agent's answer."""
        connection = self.connection(robot_id)
        command_id = uuid.uuid4().hex
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        connection.pending[command_id] = future
        try:
            await connection.send(make(command_id))
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            return CommandResult(command_id=command_id, ok=False, detail=f"no answer within {timeout_s:g} s")
        finally:
            connection.pending.pop(command_id, None)

    # ---- the endpoint ------------------------------------------------------------------------

    async def _endpoint(self, websocket: WebSocket) -> None:
        await websocket.accept()
        peer = f"{websocket.client.host}:{websocket.client.port}" if websocket.client else None
        connection = await self._handshake(websocket, peer)
        if connection is None:
            return
        robot_id = connection.robot_id
        hello = connection.hello
        log.info("robot %s connected from %s (credential %s)", robot_id, peer, connection.fingerprint)
        await run_in_threadpool(
            record_link_event, self.db, robot_id, "connected", 101, peer, proven=True, detail=connection.fingerprint
        )
        self.telemetry.publish({"type": "robot_connected", "robot_id": robot_id})
        self._watch_credentials()
        code, why = 1000, "closed"
        try:
            await connection.send(Welcome(server_version=dynamical.__version__))
            await self._send_zones(connection, await run_in_threadpool(self._stored_zones, robot_id))
            code, why = await self._serve(connection)
        except WebSocketDisconnect as exc:
            code, why = exc.code, exc.reason or "disconnected"
        except RuntimeError as exc:  # the socket was closed under us (replaced, revoked, server stopping)
            code, why = 1006, str(exc) or type(exc).__name__
        finally:
            if self.connections.get(robot_id) is connection:
                del self.connections[robot_id]
                self.telemetry.publish({"type": "robot_disconnected", "robot_id": robot_id})
            for future in connection.pending.values():
                if not future.done():
                    future.set_exception(RobotNotConnectedError(f"robot {hello.robot_id!r} disconnected"))
            log.info("robot %s disconnected: %s %s", robot_id, code, why)
            await run_in_threadpool(
                record_link_event, self.db, robot_id, "disconnected", code, peer, proven=True, detail=why[:200]
            )

    async def _handshake(self, websocket: WebSocket, peer: str | None) -> Connection | None:
        """Challenge, signed hello, one live link per robot: the registered connection, or None
        when the socket was refused (closed with a code and a reason, and audited)."""
        if websocket.headers.get(HEADER) or websocket.query_params.get("api_key"):
            await self._refuse(
                websocket, "?", 1008, 401, peer, False,
                "an API key is not a robot credential: the agent signs in with its robot's key "
                "(`dynamical robots add ID`; `dynamical agent --credential FILE`)",
            )  # fmt: skip
            return None
        nonce = secrets.token_bytes(NONCE_BYTES)
        try:
            await websocket.send_bytes(encode(Challenge(nonce=nonce, server_version=dynamical.__version__)))
            frame = await asyncio.wait_for(websocket.receive(), HELLO_TIMEOUT_S)
        except TimeoutError:
            await self._refuse(websocket, "?", 1008, 400, peer, False, f"no hello within {HELLO_TIMEOUT_S:g} s")
            return None
        except (WebSocketDisconnect, RuntimeError):
            return None
        data = frame.get("bytes")
        if frame["type"] == "websocket.disconnect":
            return None
        try:
            if data is None:
                raise ProtocolError("the link speaks msgpack in binary frames, got a text frame")
            hello = decode_agent(data)
            if not isinstance(hello, Hello):
                raise ProtocolError(f"the first message must be hello, got {hello.type!r}")
        except ProtocolError as exc:
            await self._refuse(websocket, "?", 1007, 400, peer, False, str(exc))
            return None
        robot_id = hello.robot_id
        try:
            record = RobotRecord(
                id=robot_id,
                name=hello.name,
                profile=hello.profile,
                kind=hello.kind,
                embodiment=hello.embodiment,
                info={
                    "capabilities": hello.capabilities,
                    "agent_version": hello.agent_version,
                    # Kept for when it is offline: zones stored then must still fit its kernel.
                    "zone_capacity": hello.zone_capacity,
                },
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            await self._refuse(websocket, robot_id, 1007, 400, peer, False, f"invalid hello: {where}: {first['msg']}")
            return None
        try:
            fingerprint = await run_in_threadpool(self._prove, robot_id, nonce, hello.signature)
        except LinkRefusedError as exc:
            status_code = 403 if "revoked" in str(exc) else 401
            await self._refuse(websocket, robot_id, exc.code, status_code, peer, False, str(exc))
            return None
        except Exception:  # the database is away: the agent retries with its backoff
            log.warning("cannot check robot %s's credential now", robot_id, exc_info=True)
            await _close(websocket, 1011, "the server cannot check credentials now; try again")
            return None
        old = self.connections.get(robot_id)
        now = time.monotonic()
        if old is not None and old.alive(now):
            # The robot is connected and speaking: a second link is an impostor or a duplicate
            # agent, never a replacement (issue 18). The live one keeps working.
            await self._refuse(
                websocket, robot_id, CLOSE_ALREADY_CONNECTED, 409, peer, True,
                f"robot {robot_id!r} is connected already (from {old.peer}, last message "
                f"{now - old.last_seen:.1f} s ago); a second link is refused",
            )  # fmt: skip
            return None
        connection = Connection(websocket, hello, since=utcnow(), peer=peer, world=hello.world, fingerprint=fingerprint)
        # Registered before any await: a concurrent handshake of the same robot now sees it.
        self.connections[robot_id] = connection
        if old is not None:
            # Silent for ALIVE_S: its agent is gone (restarted, or the network dropped) without a goodbye.
            log.warning("robot %s: replacing a link silent for %.1f s", robot_id, now - old.last_seen)
            await _close(old.websocket, CLOSE_REPLACED, "replaced: silent, and the robot connected again")
        if hello.scene is not None:
            self.scenes[robot_id] = hello.scene
        try:
            if hello.running_request_id is not None and await self._owns(robot_id, hello.running_request_id):
                connection.running = hello.running_request_id
            await run_in_threadpool(self._register, record)
        except Exception:  # the database is away: the agent retries with its backoff
            log.warning("cannot register robot %s now", robot_id, exc_info=True)
            if self.connections.get(robot_id) is connection:
                del self.connections[robot_id]
            await _close(websocket, 1011, "the server cannot register the robot now; try again")
            return None
        return connection

    async def _serve(self, connection: Connection) -> tuple[int, str]:
        """Receive until the link ends; returns its close code and reason."""
        websocket = connection.websocket
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                return int(frame.get("code", 1000)), str(frame.get("reason") or "disconnected")
            connection.last_seen = time.monotonic()
            connection.last_message_at = utcnow()
            data = frame.get("bytes")
            if data is None:
                await self._reject(connection, None, "the link speaks msgpack in binary frames, got a text frame")
            elif len(data) > MAX_AGENT_MESSAGE_BYTES:
                detail = f"message of {len(data)} bytes exceeds {MAX_AGENT_MESSAGE_BYTES}"
                await run_in_threadpool(
                    record_link_event, self.db, connection.robot_id, "closed", 413, connection.peer,
                    proven=True, detail=detail,
                )  # fmt: skip
                await _close(websocket, 1009, detail)
                return 1009, detail
            else:
                await self._handle(connection, data)
            if self._too_many_refused(connection):
                detail = f"more than {BAD_MESSAGES_LIMIT} refused messages in {BAD_MESSAGES_WINDOW_S:g} s"
                await _close(websocket, 1008, detail)
                return 1008, detail

    async def _handle(self, connection: Connection, data: bytes) -> None:
        """Decode, validate and dispatch one frame; a bad one is answered with an ``error``."""
        try:
            message = decode_agent(data)
        except ProtocolError as exc:
            await self._reject(connection, message_type(data), str(exc))
            return
        try:
            await self._dispatch(connection, message)
        except ProtocolError as exc:
            await self._reject(connection, message.type, str(exc))
        except (WebSocketDisconnect, RuntimeError):
            raise
        except Exception as exc:  # a server fault on one message must not drop the robot
            log.exception("robot %s: handling a %s message failed", connection.robot_id, message.type)
            await self._reject(connection, message.type, f"the server could not handle it: {type(exc).__name__}")

    async def _reject(self, connection: Connection, about: str | None, detail: str) -> None:
        """Refuse one message: an ``error`` answer, a warning (never a traceback), a count."""
        log.warning("robot %s: refused a %s message: %s", connection.robot_id, about or "malformed", detail[:300])
        connection.refused.append(time.monotonic())
        await connection.send(LinkError(detail=detail[:1024], about=about))

    @staticmethod
    def _too_many_refused(connection: Connection) -> bool:
        horizon = time.monotonic() - BAD_MESSAGES_WINDOW_S
        while connection.refused and connection.refused[0] < horizon:
            connection.refused.popleft()
        return len(connection.refused) > BAD_MESSAGES_LIMIT

    async def _refuse(
        self, websocket: WebSocket, robot_id: str, code: int, status_code: int, peer: str | None, proven: bool,
        reason: str,
    ) -> None:  # fmt: skip
        log.warning("agent link from %s refused (robot %s): %s", peer, robot_id, reason)
        await run_in_threadpool(
            record_link_event, self.db, robot_id, "refused", status_code, peer, proven=proven, detail=reason
        )
        await _close(websocket, code, reason)

    def _prove(self, robot_id: str, nonce: bytes, signature: bytes) -> str:
        with self.db.session() as session:
            return check_proof(session, robot_id, nonce, signature)

    async def _owns(self, robot_id: str, request_id: str) -> bool:
        if self.owner_of is None:
            return True
        return await self.owner_of(request_id) == robot_id

    async def _ignore_foreign(self, connection: Connection, message: StepProgressReport | PlanResult) -> bool:
        """True (and the report refused, audited) when ``message`` names an execution its robot does not run."""
        if await self._owns(connection.robot_id, message.request_id):
            return False
        detail = f"execution {message.request_id} is not run by robot {connection.robot_id!r}: {message.type} ignored"
        await run_in_threadpool(
            record_link_event, self.db, connection.robot_id, f"ignored {message.type}", 403, connection.peer,
            proven=True, detail=f"execution {message.request_id}",
        )  # fmt: skip
        await self._reject(connection, message.type, detail)
        return True

    async def _own_events(self, connection: Connection, message: SafetyEvents) -> SafetyEvents:
        """``message`` with the execution of each event kept only when it is this robot's."""
        named = {e.request_id for e in message.events if e.request_id is not None}
        foreign = {r for r in named if not await self._owns(connection.robot_id, r)}
        if not foreign:
            return message
        log.warning(
            "robot %s: events name executions it does not run (%s): kept unlinked", connection.robot_id, foreign
        )
        events = [e.model_copy(update={"request_id": None}) if e.request_id in foreign else e for e in message.events]
        return message.model_copy(update={"events": events})

    def _watch_credentials(self) -> None:
        if self._credential_watch is None or self._credential_watch.done():
            self._credential_watch = asyncio.create_task(self._check_credentials_forever())

    async def _check_credentials_forever(self) -> None:
        """Close the link of a robot whose credential was revoked or replaced (by ``dynamical robots
        revoke``, from any process that reaches the database)."""
        while self.connections:
            await asyncio.sleep(CREDENTIAL_CHECK_S)
            connected = list(self.connections.values())
            try:
                active = await run_in_threadpool(self._active, [c.robot_id for c in connected])
            except Exception:  # the database is away: keep the links, look again later
                log.warning("cannot check robot credentials", exc_info=True)
                continue
            for connection in connected:
                if active.get(connection.robot_id) == connection.fingerprint:
                    continue
                if self.connections.get(connection.robot_id) is connection:
                    del self.connections[connection.robot_id]
                    self.telemetry.publish({"type": "robot_disconnected", "robot_id": connection.robot_id})
                log.warning("robot %s: its credential was revoked: closing its link", connection.robot_id)
                await run_in_threadpool(
                    record_link_event, self.db, connection.robot_id, "revoked", 403, connection.peer,
                    proven=True, detail=f"credential {connection.fingerprint} no longer active",
                )  # fmt: skip
                await _close(connection.websocket, CLOSE_REVOKED, "the robot's credential was revoked")

    def _active(self, robot_ids: list[str]) -> dict[str, str]:
        with self.db.session() as session:
            return active_fingerprints(session, robot_ids)

    async def _dispatch(self, connection: Connection, message: object) -> None:
        robot_id = connection.robot_id
        if isinstance(message, StateReport):
            if message.state.robot_id != robot_id:
                raise ProtocolError(f"a state of robot {message.state.robot_id!r} on robot {robot_id!r}'s link")
            connection.state = message.state
            connection.state_received = time.monotonic()
            for waiter in connection.state_waiters:
                if not waiter.done():
                    waiter.set_result(message.state)
            self.telemetry.publish(
                {"type": "state", "robot_id": robot_id, "state": message.state.model_dump(mode="json")}
            )
        elif isinstance(message, SafetyEvents):
            message = await self._own_events(connection, message)
            self.records.submit(events_write(robot_id, message.events, utcnow()))  # never waits for the database
            for event in message.events:
                self.telemetry.publish(
                    {
                        "type": "safety_event",
                        "robot_id": robot_id,
                        **event.model_dump(mode="json"),
                        "rule_name": rule_name(event.rule),
                        "joint_name": connection.joint_name(event.joint),
                        # KEEP_OUT_ZONE: the zone and the monitored point (its joint is -1).
                        "zone_name": event.zone,
                        "point_name": event.point,
                    }
                )
        elif isinstance(message, StepProgressReport):
            if await self._ignore_foreign(connection, message):
                return
            connection.running = message.request_id
            self.telemetry.publish(
                {
                    "type": "progress",
                    "robot_id": robot_id,
                    "request_id": message.request_id,
                    **message.progress.model_dump(mode="json", exclude={"outcome", "planned"}),
                    **planned_hands(message.progress),
                }
            )
            for listener in self.progress_listeners:
                listener(robot_id, message)
        elif isinstance(message, PlanResult):
            if await self._ignore_foreign(connection, message):
                return
            if connection.running == message.request_id:
                connection.running = None
            if message.world is not None:
                connection.world = message.world
            # Storing a result waits for the database: it runs beside the link, one result after
            # another, so that a locked database never holds up what the robot says next (an
            # e-stop's confirmation).
            connection.results = asyncio.create_task(self._deliver_result(connection.results, robot_id, message))
        elif isinstance(message, CommandResult):
            if message.ok and message.world is not None:
                connection.world = message.world  # a simulated world laid out anew
            future = connection.pending.get(message.command_id)
            if future is not None and not future.done():
                future.set_result(message)
        elif isinstance(message, Hello):
            raise ProtocolError("hello comes once, first")
        elif isinstance(message, Heartbeat):
            pass  # last_seen is updated for every message

    async def _deliver_result(self, previous: asyncio.Task[None] | None, robot_id: str, message: PlanResult) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        for listener in self.result_listeners:
            try:
                result = listener(robot_id, message)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:  # logged; the link is not this task's to break
                log.exception("robot %s: handling the result of execution %s failed", robot_id, message.request_id)

    async def _send_zones(self, connection: Connection, zones: list[BoxZone | HalfSpaceZone]) -> None:
        """The stored zones, to a robot that just connected. Nobody waits for its kernel's answer
        (the link must start reading first), so a task does: a refusal (more zones than the
        kernel now takes) is logged and published on telemetry as ``zones_refused``."""
        command_id = uuid.uuid4().hex
        answer: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        connection.pending[command_id] = answer
        try:
            await connection.send(Zones(command_id=command_id, zones=zones))
        except (WebSocketDisconnect, RuntimeError) as exc:
            # The agent is gone; it gets the stored zones when it reconnects.
            connection.pending.pop(command_id, None)
            log.warning("zones not sent to %s: %s", connection.robot_id, exc)
            return
        task = asyncio.create_task(self._zones_answer(connection, command_id, answer, len(zones)))
        self._zone_answers.add(task)
        task.add_done_callback(self._zone_answers.discard)

    async def _zones_answer(
        self, connection: Connection, command_id: str, answer: asyncio.Future[CommandResult], count: int
    ) -> None:
        try:
            result = await asyncio.wait_for(answer, ZONES_TIMEOUT_S)
        except TimeoutError:
            result = None
        except RobotNotConnectedError:
            return  # it gets the stored zones when it reconnects
        finally:
            connection.pending.pop(command_id, None)
        if result is None or not result.ok:
            detail = result.detail if result is not None else f"no answer within {ZONES_TIMEOUT_S:g} s"
            log.error("robot %s did not take its %d stored zones: %s", connection.robot_id, count, detail)
            self.telemetry.publish({"type": "zones_refused", "robot_id": connection.robot_id, "detail": detail})

    # ---- database --------------------------------------------------------------------------

    def _register(self, record: RobotRecord) -> None:
        with self.db.session() as session:
            upsert_robot(session, record)

    def _stored_zones(self, robot_id: str) -> list[BoxZone | HalfSpaceZone]:
        from dynamical.api.routers.safety import _zone

        with self.db.session() as session:
            rows = session.scalars(
                select(SafetyZone)
                .where((SafetyZone.robot_id == robot_id) | SafetyZone.robot_id.is_(None))
                .order_by(SafetyZone.id)
            )
            return [_zone.validate_python(row.definition) for row in rows]


def _latched(state: RobotStateReport | None, category: int) -> bool:
    """Whether ``state`` shows an e-stop of ``category`` or a stricter (lower) one latched."""
    safety = state.safety if state is not None else None
    return safety is not None and safety.estop_category is not None and safety.estop_category <= category


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    # A close reason is at most 123 bytes of UTF-8.
    reason = reason.encode()[:123].decode(errors="ignore")
    try:
        await websocket.close(code=code, reason=reason)
    except RuntimeError:
        pass  # already closed
    except Exception:  # the old socket may be half-dead; closing it must not break the new one
        log.debug("closing a replaced agent socket failed", exc_info=True)
