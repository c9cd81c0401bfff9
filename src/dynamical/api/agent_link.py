"""The server's end of the agent link: ``/ws/agent``, one WebSocket per robot agent.

Why WebSocket + msgpack rather than gRPC: the server is already an ASGI app (one port, one auth
scheme, one process), browsers and proxies pass WebSockets, and msgpack carries bytes (artifacts)
and floats compactly with pydantic models as the schema (``agent.messages``, versioned).

An agent authenticates with an operate-scope key (``X-API-Key`` header or ``api_key`` query), says
``hello`` (robot id, capabilities, world), and is registered (``upsert_robot``); the server answers
``welcome`` and pushes the stored keep-out zones. From then on the agent streams state, events,
progress and results; the hub keeps the latest state per robot, stores events, forwards all of it
to ``/ws/telemetry`` and hands progress and results to its listeners (the invoker). Commands
(estop, reset, cancel, zones, deploy) wait for the agent's ``command_result``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

import dynamical
from dynamical.agent.messages import (
    CommandResult,
    Heartbeat,
    Hello,
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
)
from dynamical.agent.plan_runner import StepProgress
from dynamical.agent.robot_agent import RobotStateReport
from dynamical.api.auth import HEADER, Scope
from dynamical.api.db import Database
from dynamical.api.hub import ZonesChanged
from dynamical.api.models import Execution, SafetyZone, utcnow
from dynamical.api.records import RobotRecord, SafetyEventRecord, record_safety_events, rule_name, upsert_robot
from dynamical.api.schemas import ComponentHealth, RobotLink
from dynamical.api.telemetry import Telemetry, authenticate_socket
from dynamical.orchestration.world import WorldSnapshot
from dynamical.robot.scene_model import SceneModel
from dynamical.safety.config import BoxZone, HalfSpaceZone

log = logging.getLogger(__name__)
HELLO_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 5.0

ProgressListener = Callable[[str, StepProgressReport], None]
ResultListener = Callable[[str, PlanResult], object]


class RobotNotConnectedError(LookupError):
    """The robot's agent is not connected now."""


@dataclass
class Connection:
    """One connected agent."""

    websocket: WebSocket
    hello: Hello
    since: datetime
    peer: str | None
    last_message_at: datetime | None = None
    state: RobotStateReport | None = None
    state_received: float | None = None
    """time.monotonic() when ``state`` arrived."""
    world: WorldSnapshot | None = None
    running: str | None = None
    """request_id of the execution the robot runs, as the server knows it."""
    pending: dict[str, asyncio.Future[CommandResult]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def robot_id(self) -> str:
        return self.hello.robot_id

    def joint_name(self, index: int) -> str | None:
        """The name of the robot's joint ``index`` (the order of its state's ``q``), if known."""
        names = self.hello.scene.joint_names if self.hello.scene is not None else []
        if not names and self.state is not None:
            names = self.state.joint_names
        return names[index] if 0 <= index < len(names) else None

    async def send(self, message: _Message) -> None:
        async with self.lock:  # one frame at a time: concurrent sends would interleave
            await self.websocket.send_bytes(encode(message))


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

    def __init__(self, db: Database, telemetry: Telemetry) -> None:
        self.db = db
        self.telemetry = telemetry
        self.connections: dict[str, Connection] = {}
        self.scenes: dict[str, SceneModel] = {}
        """The last scene model each robot sent (kept after it disconnects, for viewers)."""
        self.progress_listeners: list[ProgressListener] = []
        self.result_listeners: list[ResultListener] = []
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

    async def push_zones(self, event: ZonesChanged) -> None:
        """The ``on_zones_changed`` listener: every connected robot gets its full zone list."""
        for connection in list(self.connections.values()):
            zones = [z.zone for z in event.zones_for(connection.robot_id)]
            await self._send_zones(connection, zones)

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
        presented = websocket.headers.get(HEADER) or websocket.query_params.get("api_key")
        if not await authenticate_socket(websocket, self.db, Scope.OPERATE, presented):
            return
        try:
            hello = decode_agent(await asyncio.wait_for(websocket.receive_bytes(), HELLO_TIMEOUT_S))
            if not isinstance(hello, Hello):
                raise ProtocolError(f"the first message must be hello, got {hello.type!r}")
            record = RobotRecord(
                id=hello.robot_id,
                name=hello.name,
                profile=hello.profile,
                kind=hello.kind,
                embodiment=hello.embodiment,
                info={"capabilities": hello.capabilities, "agent_version": hello.agent_version},
            )
        except (ProtocolError, ValueError, TimeoutError, KeyError) as exc:
            await websocket.close(code=status.WS_1002_PROTOCOL_ERROR, reason=str(exc)[:120])
            return
        except WebSocketDisconnect:
            return
        await run_in_threadpool(self._register, record)
        peer = f"{websocket.client.host}:{websocket.client.port}" if websocket.client else None
        connection = Connection(websocket, hello, since=utcnow(), peer=peer, world=hello.world)
        if hello.scene is not None:
            self.scenes[hello.robot_id] = hello.scene
        connection.running = hello.running_request_id
        old = self.connections.get(hello.robot_id)
        self.connections[hello.robot_id] = connection
        if old is not None:
            # The same robot again (its agent restarted before we noticed): the newest link wins.
            await _close(old.websocket, 4000, "replaced by a newer connection of the same robot")
        log.info("robot %s connected from %s", hello.robot_id, peer)
        self.telemetry.publish({"type": "robot_connected", "robot_id": hello.robot_id})
        try:
            await connection.send(Welcome(server_version=dynamical.__version__))
            await self._send_zones(connection, await run_in_threadpool(self._stored_zones, hello.robot_id))
            while True:
                data = await websocket.receive_bytes()
                try:
                    message = decode_agent(data)
                except ProtocolError as exc:
                    log.warning("robot %s sent a bad message: %s", hello.robot_id, exc)
                    continue
                connection.last_message_at = utcnow()
                await self._dispatch(connection, message)
        except (WebSocketDisconnect, RuntimeError) as exc:
            log.info("robot %s disconnected: %s", hello.robot_id, exc or type(exc).__name__)
        finally:
            if self.connections.get(hello.robot_id) is connection:
                del self.connections[hello.robot_id]
                self.telemetry.publish({"type": "robot_disconnected", "robot_id": hello.robot_id})
            for future in connection.pending.values():
                if not future.done():
                    future.set_exception(RobotNotConnectedError(f"robot {hello.robot_id!r} disconnected"))

    async def _dispatch(self, connection: Connection, message: object) -> None:
        robot_id = connection.robot_id
        if isinstance(message, StateReport):
            connection.state = message.state
            connection.state_received = time.monotonic()
            self.telemetry.publish(
                {"type": "state", "robot_id": robot_id, "state": message.state.model_dump(mode="json")}
            )
        elif isinstance(message, SafetyEvents):
            await run_in_threadpool(self._store_events, robot_id, message)
            for event in message.events:
                self.telemetry.publish(
                    {
                        "type": "safety_event",
                        "robot_id": robot_id,
                        **event.model_dump(mode="json"),
                        "rule_name": rule_name(event.rule),
                        "joint_name": connection.joint_name(event.joint),
                    }
                )
        elif isinstance(message, StepProgressReport):
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
            if connection.running == message.request_id:
                connection.running = None
            if message.world is not None:
                connection.world = message.world
            for listener in self.result_listeners:
                result = listener(robot_id, message)
                if asyncio.iscoroutine(result):
                    await result
        elif isinstance(message, CommandResult):
            if message.ok and message.world is not None:
                connection.world = message.world  # a simulated world laid out anew
            future = connection.pending.get(message.command_id)
            if future is not None and not future.done():
                future.set_result(message)
        elif isinstance(message, Heartbeat | Hello):
            pass  # last_message_at is updated for every message

    async def _send_zones(self, connection: Connection, zones: list[BoxZone | HalfSpaceZone]) -> None:
        try:
            await connection.send(Zones(command_id=uuid.uuid4().hex, zones=zones))
        except (WebSocketDisconnect, RuntimeError) as exc:
            # The agent is gone; it gets the stored zones when it reconnects.
            log.warning("zones not sent to %s: %s", connection.robot_id, exc)

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

    def _store_events(self, robot_id: str, message: SafetyEvents) -> None:
        with self.db.session() as session:
            asked = {e.request_id for e in message.events if e.request_id is not None}
            known = set(session.scalars(select(Execution.request_id).where(Execution.request_id.in_(asked))))
            records = [
                SafetyEventRecord(
                    t=e.t,
                    # An agent that does not report ticks leaves the ring's sequence number in their place.
                    tick=e.tick if e.tick >= 0 else e.seq,
                    rule=e.rule,
                    joint=e.joint,
                    # The database keeps numbers; a non-finite value the agent reported as None is stored as 0.
                    value=e.value if e.value is not None else 0.0,
                    limit=e.limit if e.limit is not None else 0.0,
                    # An event of an execution this database does not hold (a wiped database) is kept, unlinked.
                    request_id=e.request_id if e.request_id in known else None,
                )
                for e in message.events
            ]
            record_safety_events(session, robot_id, records)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        await websocket.close(code=code, reason=reason)
    except RuntimeError:
        pass  # already closed
    except Exception:  # the old socket may be half-dead; closing it must not break the new one
        log.debug("closing a replaced agent socket failed", exc_info=True)
