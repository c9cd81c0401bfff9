"""The agent's end of the agent link: a WebSocket to the platform server that never holds the robot hostage.

The robot does not need the server to stay safe. The client reconnects forever with exponential
backoff (and jitter, so a fleet does not reconnect in lock-step after a server restart); while it
is away the safety kernel keeps running, safety events, step progress and plan results queue up
and go out on the next connection, and a running plan either finishes or (the default) is
cancelled after ``link_loss_stop_s`` so that nobody is left without a way to stop the robot
remotely. Plans run in a worker thread (``RobotAgent.execute`` blocks); everything else runs in
one asyncio loop.

The agent proves its robot's identity on every connection: it signs the server's challenge with
the robot's credential (``agent.credential``, a 0600 key file), never with an API key. A refusal
(no credential on the server, revoked, the robot connected already) is logged with the server's
reason and retried with the same backoff, so an agent outlives a revocation being undone.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI

import dynamical
from dynamical.agent.credential import RobotCredential
from dynamical.agent.learned_catalog import DeployedSkills, DeployRefusedError
from dynamical.agent.messages import (
    MAX_MESSAGE_BYTES,
    Cancel,
    Challenge,
    CommandResult,
    Deploy,
    Estop,
    ExecutePlan,
    Heartbeat,
    Hello,
    LinkError,
    PlanResult,
    ProtocolError,
    Recording,
    Reset,
    SafetyEvents,
    SafetyEventWire,
    ServerMessage,
    SimReset,
    StateReport,
    StepProgressReport,
    Teleop,
    Welcome,
    Zones,
    _Message,
    decode_server,
    encode,
)
from dynamical.agent.plan_runner import StepProgress
from dynamical.agent.reports import RecordingStatus
from dynamical.agent.robot_agent import RobotAgent
from dynamical.agent.teleop_link import handle_teleop
from dynamical.orchestration.plan import SkillExecutionPlan
from dynamical.safety.config import BoxZone, HalfSpaceZone

log = logging.getLogger(__name__)
AGENT_PATH = "/ws/agent"
CHALLENGE_TIMEOUT_S = 10.0
ESTOP_LATCH_WAIT_S = 0.2
"""s, how long an e-stop's answer waits for the kernel to report the stop latched (it latches on
its next tick, 1 ms; the lock-step agent's within a control period); the server says "not
latched" when it is not."""


@runtime_checkable
class ZoneAware(Protocol):
    """An agent whose safety kernel takes keep-out zones at run time."""

    def set_zones(self, zones: list[BoxZone | HalfSpaceZone]) -> None: ...


@runtime_checkable
class ZoneCapacity(Protocol):
    """An agent that knows how many keep-out zones its kernel takes from the server (said in hello)."""

    @property
    def zone_capacity(self) -> int: ...


@runtime_checkable
class SimResettable(Protocol):
    """A simulated robot whose world can be laid out anew."""

    def reset_world(self, seed: int) -> None: ...


@runtime_checkable
class Recorder(Protocol):
    """Records what the robot does as LeRobot datasets (``learning.session.RobotRecorder``)."""

    def start(self, task: str) -> str: ...
    def stop(self, success: bool | None = None, meta: dict[str, Any] | None = None) -> str | None: ...
    def status(self) -> dict[str, Any]: ...


class RobotIdentity(BaseModel):
    """What the agent says about its robot in ``hello``."""

    model_config = ConfigDict(extra="forbid")
    name: str
    profile: str
    kind: Literal["simulated", "hardware"]
    embodiment: str | None = None
    capabilities: list[str]


class LinkConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    server: str = Field(description="http(s):// or ws(s):// URL of the platform server")
    credential: Path = Field(description="the robot's credential file (`dynamical robots add` makes it)")
    state_hz: float = Field(30.0, gt=0, le=200)
    heartbeat_s: float = Field(1.0, gt=0)
    backoff_initial_s: float = Field(0.5, gt=0)
    backoff_max_s: float = Field(10.0, gt=0)
    link_loss_stop_s: float | None = Field(
        2.0, ge=0, description="cancel a running plan after the link is down this long; None: let it finish"
    )
    outbox_limit: int = Field(100_000, gt=0, description="messages kept for the server while it is away")
    cache_dir: Path | None = Field(None, description="where deployed skill artifacts are stored")


def agent_url(server: str) -> str:
    """The WebSocket URL of the agent endpoint of ``server`` (http → ws, https → wss)."""
    parts = urlsplit(server.strip())
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ValueError(f"the server must be an http(s):// or ws(s):// URL, got {server!r}")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + AGENT_PATH, "", ""))


class AgentLinkClient:
    """Connects ``agent`` to the server and keeps it connected; ``run()`` blocks until ``stop()``."""

    def __init__(
        self,
        agent: RobotAgent,
        identity: RobotIdentity,
        config: LinkConfig,
        recorder: Recorder | None = None,
        skills: DeployedSkills | None = None,
    ) -> None:
        """Raises ``CredentialError`` (a ValueError) now when the credential file is unusable.
        ``recorder``: records executions invoked with ``record`` and on ``recording`` commands.
        ``skills``: the agent's skill cache: a deployed artifact is verified, stored there and
        runnable at once (the agent must have been built with the same ``DeployedSkills``)."""
        self.agent = agent
        self.skills = skills
        self.recorder = recorder
        self.identity = identity
        self.config = config
        self.url = agent_url(config.server)
        self.credential = RobotCredential.load(config.credential)
        self.refusals: list[str] = []
        """Why the server closed or refused recent links (newest last, at most 20)."""
        self.connected = threading.Event()
        self.connections = 0
        """Successful handshakes so far (tests and logs read it)."""
        self.dropped = 0
        """Messages dropped because the outbox was full while the server was away."""
        self._outbox: deque[bytes] = deque()
        self._outbox_lock = threading.Lock()
        self._running: str | None = None
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._outbox_ready: asyncio.Event | None = None
        self._down_since: float | None = time.monotonic()
        self._stopped_for_link_loss = False
        self._estops: set[asyncio.Task[None]] = set()
        """E-stops being handled apart from the other commands (a reference keeps each alive)."""

    # ---- public ---------------------------------------------------------------------------

    def run(self) -> None:
        """Run until ``stop()``; the caller's thread becomes the link's event loop."""
        asyncio.run(self._main())

    def stop(self) -> None:
        """Leave the loop. The running plan, if any, is the caller's to cancel (``agent.cancel()``)."""
        self._stop.set()
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    @property
    def running_request(self) -> str | None:
        return self._running

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait for the running plan's worker to end; True when none runs."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True

    # ---- the loop -------------------------------------------------------------------------

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._outbox_ready = asyncio.Event()
        watcher = asyncio.create_task(self._watch_robot())
        try:
            await self._connect_forever()
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    async def _connect_forever(self) -> None:
        self._attempt = 0
        while not self._stop.is_set():
            try:
                async with connect(
                    self.url,
                    max_size=MAX_MESSAGE_BYTES,
                    open_timeout=5,
                    ping_interval=5,
                    ping_timeout=10,
                ) as ws:
                    await self._session(ws)
            except InvalidStatus as exc:
                log.error("server %s refused the agent link: HTTP %d", self.url, exc.response.status_code)
            except ConnectionClosed as exc:
                received = exc.rcvd
                if received is not None and received.code not in (1000, 1001):
                    # The server's reason: not this robot's credential, revoked, connected already...
                    self._note_refusal(f"{received.code} {received.reason}")
                elif self.connected.is_set() or self._attempt == 0:
                    log.warning("agent link to %s down: %s", self.url, exc)
            except InvalidURI as exc:
                log.error("bad server URL %s: %s", self.url, exc)
            except (OSError, TimeoutError, ProtocolError) as exc:
                if self.connected.is_set() or self._attempt == 0:
                    log.warning("agent link to %s down: %s", self.url, exc or type(exc).__name__)
            finally:
                if self.connected.is_set():
                    self.connected.clear()
                    self._down_since = time.monotonic()
            if self._stop.is_set():
                return
            delay = min(self.config.backoff_max_s, self.config.backoff_initial_s * 2**self._attempt)
            delay *= random.uniform(0.8, 1.2)  # jitter: a fleet must not reconnect all at once
            self._attempt += 1
            await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        assert self._wake is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    def _note_refusal(self, why: str) -> None:
        log.error("server %s closed the agent link of robot %s: %s", self.url, self.agent.robot_id, why)
        self.refusals = [*self.refusals[-19:], why]

    async def _challenge(self, ws: ClientConnection) -> bytes:
        """The nonce of the server's challenge, the first thing it sends."""
        data = await asyncio.wait_for(ws.recv(), CHALLENGE_TIMEOUT_S)
        message = decode_server(data) if isinstance(data, bytes) else None
        if not isinstance(message, Challenge):
            raise ProtocolError("the server did not open with a challenge (a server of another version?)")
        return message.nonce

    async def _session(self, ws: ClientConnection) -> None:
        nonce = await self._challenge(ws)
        world = await asyncio.to_thread(self.agent.world_snapshot)
        hello = Hello(
            robot_id=self.agent.robot_id,
            signature=self.credential.sign_challenge(nonce, self.agent.robot_id),
            world=world,
            scene=self.agent.scene_model(),
            running_request_id=self._running,
            agent_version=dynamical.__version__,
            zone_capacity=self.agent.zone_capacity if isinstance(self.agent, ZoneCapacity) else None,
            **self._identity(),
        )
        await ws.send(encode(hello))
        # Up only once the server took the hello: a refused handshake keeps backing off.
        welcome = await asyncio.wait_for(ws.recv(), CHALLENGE_TIMEOUT_S)
        welcome = decode_server(welcome) if isinstance(welcome, bytes) else None
        if not isinstance(welcome, Welcome):
            raise ProtocolError("the server did not answer hello with welcome")
        log.info("server %s speaks version %s", self.url, welcome.server_version)
        self._attempt = 0
        self.connections += 1
        self.connected.set()
        self._down_since = None
        self._stopped_for_link_loss = False
        log.info("agent link up: %s as robot %s", self.url, self.agent.robot_id)
        sender = asyncio.create_task(self._send_forever(ws))
        receiver = asyncio.create_task(self._receive_forever(ws))
        stopper = asyncio.create_task(self._wake_on_stop())
        done, pending = await asyncio.wait({sender, receiver, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def _wake_on_stop(self) -> None:
        assert self._wake is not None
        await self._wake.wait()  # only stop() sets it

    async def _send_forever(self, ws: ClientConnection) -> None:
        period = 1.0 / self.config.state_hz
        next_beat = 0.0
        while True:
            started = time.monotonic()
            state = await asyncio.to_thread(self.agent.state)
            if self.recorder is not None:
                state = state.model_copy(update={"recording": RecordingStatus(**self.recorder.status())})
            await ws.send(encode(StateReport(state=state)))
            await self._send_outbox(ws)
            if started >= next_beat:
                await ws.send(encode(Heartbeat(t_wall=time.time())))
                next_beat = started + self.config.heartbeat_s
            # Until the next state, what is queued goes out at once: an e-stop's confirmation
            # must not wait up to a state period.
            assert self._outbox_ready is not None
            while (left := period - (time.monotonic() - started)) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._outbox_ready.wait(), left)
                self._outbox_ready.clear()
                await self._send_outbox(ws)

    async def _send_outbox(self, ws: ClientConnection) -> None:
        while (data := self._peek_outbox()) is not None:
            await ws.send(data)
            self._pop_outbox(data)  # only once sent: a send that fails keeps it for the next link

    async def _receive_forever(self, ws: ClientConnection) -> None:
        """Read every frame as it arrives. Commands are handled one after the other, in order, by
        a worker; an e-stop is handled at once, never queued behind the command being handled (a
        world reset, a reset to the rest posture: seconds)."""
        commands: asyncio.Queue[ServerMessage | None] = asyncio.Queue()
        worker = asyncio.create_task(self._handle_in_order(commands))
        try:
            async for data in ws:
                if worker.done():
                    await worker  # a handler raised: the link ends, as it did when handled inline
                if isinstance(data, str):
                    log.warning("ignoring a text frame from the server: the link speaks msgpack")
                    continue
                try:
                    message = decode_server(data)
                except ProtocolError as exc:
                    log.error("ignoring a message from the server: %s", exc)
                    continue
                if isinstance(message, Estop):
                    stop = asyncio.create_task(self._handle(message))
                    self._estops.add(stop)  # a reference keeps it alive until it answered
                    stop.add_done_callback(self._estops.discard)
                else:
                    commands.put_nowait(message)
            commands.put_nowait(None)  # the server closed the link: what arrived is still handled
            await worker
            # and an e-stop still latching is seen through (its answer queued), not dropped
            await asyncio.gather(*self._estops)
        finally:
            worker.cancel()

    async def _handle_in_order(self, commands: asyncio.Queue[ServerMessage | None]) -> None:
        while (message := await commands.get()) is not None:
            await self._handle(message)

    # ---- what the server asks ---------------------------------------------------------------

    async def _handle(self, message: ServerMessage) -> None:
        if isinstance(message, Welcome):
            log.info("server %s speaks version %s", self.url, message.server_version)
        elif isinstance(message, LinkError):
            log.warning("the server refused a %s message: %s", message.about or "malformed", message.detail)
        elif isinstance(message, ExecutePlan):
            self._start_plan(message.request_id, message.plan, message.record)
        elif isinstance(message, Cancel):
            if message.request_id is not None and message.request_id != self._running:
                self._reply(message.command_id, False, f"execution {message.request_id} is not running here")
            else:
                ok = await asyncio.to_thread(self.agent.cancel)
                self._reply(message.command_id, ok, "cancelled" if ok else "nothing was running")
        elif isinstance(message, Estop):
            await self._call(
                message.command_id, f"e-stop category {message.category}", self._estop_latched, message.category
            )
        elif isinstance(message, Reset):
            await self._call(message.command_id, "reset", self.agent.reset, message.posture)
        elif isinstance(message, Zones):
            if isinstance(self.agent, ZoneAware):
                await self._call(message.command_id, f"{len(message.zones)} zones", self.agent.set_zones, message.zones)
            else:
                self._reply(message.command_id, False, "this robot's kernel does not take zones at run time")
        elif isinstance(message, Deploy):
            ok, detail = await asyncio.to_thread(self._store_artifact, message)
            self._reply(message.command_id, ok, detail)
        elif isinstance(message, SimReset):
            await self._sim_reset(message)
        elif isinstance(message, Recording):
            await self._recording(message)
        elif isinstance(message, Teleop):
            await handle_teleop(self.agent, message, self._queue)

    async def _call(self, command_id: str, what: str, func: Callable[..., object], *args: object) -> None:
        try:
            await asyncio.to_thread(func, *args)
        except Exception as exc:  # the answer says what went wrong; the link stays up
            log.exception("%s failed", what)
            self._reply(command_id, False, f"{what} failed: {type(exc).__name__}: {exc}")
        else:
            self._reply(command_id, True, what)

    def _estop_latched(self, category: int) -> None:
        """E-stop, wait (briefly) until the kernel reports it latched, and queue that state ahead
        of the confirmation: the server answers the operator from the kernel's own state."""
        self.agent.estop(category)
        deadline = time.monotonic() + ESTOP_LATCH_WAIT_S
        while True:
            state = self.agent.state()
            held = state.safety.estop_category if state.safety is not None else None
            if (held is not None and held <= category) or time.monotonic() > deadline:
                break
            time.sleep(0.001)
        self._queue(StateReport(state=state))

    async def _sim_reset(self, message: SimReset) -> None:
        if not isinstance(self.agent, SimResettable):
            self._reply(message.command_id, False, "this robot is not simulated: its world cannot be reset")
            return
        try:
            await asyncio.to_thread(self.agent.reset_world, message.seed)
            world = await asyncio.to_thread(self.agent.world_snapshot)
        except Exception as exc:  # the answer says what went wrong; the link stays up
            log.exception("world reset failed")
            self._reply(message.command_id, False, f"world reset failed: {type(exc).__name__}: {exc}")
            return
        self._queue(
            CommandResult(
                command_id=message.command_id, ok=True, detail=f"world reset to seed {message.seed}", world=world
            )
        )

    async def _recording(self, message: Recording) -> None:
        if self.recorder is None:
            self._reply(message.command_id, False, "this agent has no demonstration recorder")
            return
        try:
            if message.action == "start":
                name = await asyncio.to_thread(self.recorder.start, message.task)
                detail = f"recording {name}"
            else:
                written = await asyncio.to_thread(self.recorder.stop, None, {"source": "operator"})
                detail = f"stopped; writing {written}" if written else "stopped; nothing was recorded"
        except Exception as exc:  # not recording, already recording: the answer says which
            self._reply(message.command_id, False, f"{type(exc).__name__}: {exc}")
            return
        self._reply(message.command_id, True, detail)

    def _reply(self, command_id: str, ok: bool, detail: str) -> None:
        self._queue(CommandResult(command_id=command_id, ok=ok, detail=detail))

    def _identity(self) -> dict[str, Any]:
        """What hello says of the robot: its capabilities include the learned skills it holds."""
        identity = self.identity.model_dump()
        if self.skills is not None:
            learned = [m.id for m in self.skills.learned if m.id not in identity["capabilities"]]
            identity["capabilities"] = [*identity["capabilities"], *learned]
        return identity

    def _store_artifact(self, message: Deploy) -> tuple[bool, str]:
        if hashlib.sha256(message.artifact).hexdigest() != message.sha256:
            return False, "artifact damaged in transit (sha256 mismatch)"
        if self.skills is not None:
            try:
                detail = self.skills.install(message.skill_id, message.version, message.artifact)
            except DeployRefusedError as exc:
                log.warning("deployment refused: %s", exc)
                return False, str(exc)
            log.info("%s", detail)
            return True, detail
        if self.config.cache_dir is None:
            return False, "this agent has no skill cache directory"
        folder = self.config.cache_dir / "skills" / message.skill_id
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{message.version}.dskill"
        partial = target.with_suffix(".partial")
        partial.write_bytes(message.artifact)
        os.replace(partial, target)  # a reader never sees half an artifact
        return True, (
            f"stored {message.skill_id}@{message.version} ({len(message.artifact)} bytes), not loaded: "
            "this agent holds no skill keys to verify it with (dynamical agent --skill-keys)"
        )

    # ---- plans ------------------------------------------------------------------------------

    def _start_plan(self, request_id: str, plan: SkillExecutionPlan, record: bool = False) -> None:
        if self._running is not None:
            self._queue(PlanResult(request_id=request_id, error=f"the robot is running execution {self._running}"))
            return
        self._running = request_id
        self._worker = threading.Thread(
            target=self._execute, args=(request_id, plan, record), name=f"plan-{request_id[:8]}", daemon=True
        )
        self._worker.start()

    def _execute(self, request_id: str, plan: SkillExecutionPlan, record: bool = False) -> None:
        def progress(step: StepProgress) -> None:
            self._queue(StepProgressReport(request_id=request_id, progress=step, t_wall=time.time()))

        result: PlanResult
        recording = self._start_recording(request_id, plan) if record else None
        try:
            outcome = self.agent.execute(plan, progress)
            cancelled = not outcome.success and any(s.failure == "the plan was cancelled" for s in outcome.steps)
            result = PlanResult(request_id=request_id, outcome=outcome, cancelled=cancelled)
        except Exception as exc:  # a plan that cannot run is an answer, never a dead agent
            log.exception("execution %s failed to run", request_id)
            result = PlanResult(request_id=request_id, error=f"{type(exc).__name__}: {exc}")
        if recording is not None:
            self._stop_recording(request_id, result)
        try:
            result = result.model_copy(update={"world": self.agent.world_snapshot()})
        except Exception:
            log.exception("no world snapshot after execution %s", request_id)
        # Events of this plan go out before its result, tagged with its id.
        self._drain_events()
        self._running = None
        self._queue(result)
        log.info("execution %s ended: %s", request_id, "ok" if result.outcome and result.outcome.success else "failed")

    def _start_recording(self, request_id: str, plan: SkillExecutionPlan) -> str | None:
        """Start recording an execution invoked with ``record``; a recorder that cannot (none, or
        one already recording) never keeps the plan from running: the log says why."""
        if self.recorder is None:
            log.warning("execution %s asked to be recorded, but this agent has no recorder", request_id)
            return None
        try:
            return self.recorder.start(plan.task)
        except Exception:
            log.exception("execution %s: recording did not start", request_id)
            return None

    def _stop_recording(self, request_id: str, result: PlanResult) -> None:
        assert self.recorder is not None
        success = result.outcome is not None and result.outcome.success
        skills = [s.skill for s in result.outcome.steps] if result.outcome is not None else []
        try:
            self.recorder.stop(success, {"source": "invoke", "request_id": request_id, "skills": skills})
        except Exception:
            log.exception("execution %s: recording did not stop cleanly", request_id)

    # ---- the robot, connected or not ------------------------------------------------------------

    async def _watch_robot(self) -> None:
        """Drain safety events at the state rate and apply the link-loss policy, link or no link."""
        period = 1.0 / self.config.state_hz
        while True:
            await asyncio.to_thread(self._drain_events)
            grace = self.config.link_loss_stop_s
            down = self._down_since
            if (
                grace is not None
                and down is not None
                and self._running is not None
                and not self._stopped_for_link_loss
                and time.monotonic() - down >= grace
            ):
                self._stopped_for_link_loss = True
                log.warning(
                    "link down for %.1f s: cancelling execution %s; the robot holds, its safety kernel runs",
                    time.monotonic() - down,
                    self._running,
                )
                await asyncio.to_thread(self.agent.cancel)
            await asyncio.sleep(period)

    def _drain_events(self) -> None:
        reports = self.agent.drain_events()
        if not reports:
            return
        names = self._joint_names()
        events = [SafetyEventWire.from_report(r, names, self._running) for r in reports]
        self._queue(SafetyEvents(events=events))

    def _joint_names(self) -> list[str]:
        names = getattr(self, "_names", None)
        if names is None:
            names = self._names = list(self.agent.state().joint_names)
        return names

    def _queue(self, message: _Message) -> None:
        data = encode(message)
        with self._outbox_lock:
            if len(self._outbox) >= self.config.outbox_limit:
                self._outbox.popleft()
                self.dropped += 1
            self._outbox.append(data)
        loop, ready = self._loop, self._outbox_ready
        if loop is not None and ready is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the next link sends it
                loop.call_soon_threadsafe(ready.set)  # from a plan's thread too

    def _peek_outbox(self) -> bytes | None:
        with self._outbox_lock:
            return self._outbox[0] if self._outbox else None

    def _pop_outbox(self, data: bytes) -> None:
        with self._outbox_lock:
            if self._outbox and self._outbox[0] is data:
                self._outbox.popleft()
