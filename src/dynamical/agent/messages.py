"""The agent link's wire format: versioned msgpack messages, one pydantic model per message type.

Every message is a msgpack map with ``v`` (the protocol version) and ``type`` (which model it is).
msgpack rather than JSON because state goes up at 30 Hz and skill artifacts go down as raw bytes;
never pickle, because a server must not run code an agent (or anyone who reaches the port) sends.
A peer that speaks another major version is refused with a message that says both versions, so an
old agent and a new server fail loudly instead of misreading each other.

Handshake: the server sends ``challenge`` (a fresh random nonce); the agent answers ``hello``
signed with its robot credential (``agent.credential``); the server answers ``welcome`` or closes.
Agent → server: ``hello`` (once per connection, first), ``state`` (30 Hz), ``safety_events``,
``step_progress``, ``plan_result``, ``command_result``, ``heartbeat``.
Server → agent: ``challenge``, ``welcome``, ``error``, ``execute_plan``, ``cancel``, ``estop``,
``reset``, ``zones``, ``deploy``, ``sim_reset``, ``recording``, ``teleop``.

Everything an agent sends is bounded before it is believed: the frame's size, every string, byte
string, list and map (msgpack refuses longer ones while unpacking), every integer (int64, and
tighter where the field says), and numbers are finite (a NaN or infinity is no number: it reads as
null, which only an optional field accepts). A server must not be taken down, or fill its database,
by one robot's bad message.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgpack
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError, field_validator

from dynamical.agent.plan_runner import PlanOutcome, StepProgress
from dynamical.agent.robot_agent import RobotStateReport, SafetyEventReport
from dynamical.names import DisplayName
from dynamical.orchestration.plan import SkillExecutionPlan
from dynamical.orchestration.world import WorldSnapshot
from dynamical.robot.scene_model import SceneModel
from dynamical.safety.config import Zone
from dynamical.safety.rules import Rule
from dynamical.teleop.inputs import TeleopConfig, TeleopInput
from dynamical.teleop.session import TeleopStatus

PROTOCOL_VERSION = 2
"""2: the handshake proves the robot's identity (challenge, signed hello)."""
MAX_MESSAGE_BYTES = 128 * 1024 * 1024
"""Largest message either side accepts: a skill artifact (64 MiB by default) plus headroom."""
MAX_AGENT_MESSAGE_BYTES = 4 * 1024 * 1024
"""Largest message an agent may send (a hello with its scene model is ~30 kB, a state ~2 kB)."""
MAX_STRING = 64 * 1024
MAX_BINARY = 64 * 1024
MAX_ARRAY = 100_000
MAX_MAP = 10_000
INT64 = 2**63
ROBOT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""The API's identifier: a robot id the API can name."""
REQUEST_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
RobotId = Annotated[str, StringConstraints(pattern=ROBOT_ID_PATTERN)]
RequestId = Annotated[str, StringConstraints(pattern=REQUEST_ID_PATTERN)]
Label = DisplayName
"""A name people read (dashboard, CLI, audit log): 1-128 visible characters, no bidi or zero-width ones."""
WallTime = Annotated[float, Field(ge=0, le=1e11, allow_inf_nan=False, description="Unix time, s")]


class ProtocolError(ValueError):
    """A message that is not msgpack, names an unknown type, has another version, or is invalid."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: int = PROTOCOL_VERSION


# ---- what the robot looks like on the wire ---------------------------------------------------


class SafetyEventWire(BaseModel):
    """One safety kernel intervention, with the rule and joint as numbers the database keeps."""

    model_config = ConfigDict(extra="forbid")
    seq: int = Field(ge=0, lt=2**62)
    """Sequence number in the robot's event ring."""
    t: float = Field(ge=0, le=1e10, allow_inf_nan=False)
    """s, robot clock."""
    tick: int = Field(-1, ge=-1, lt=2**62)
    """The kernel tick it happened on (-1: an agent that does not say)."""
    rule: int = Field(ge=0, lt=2**15)
    """``safety.rules.Rule`` code."""
    joint: int = Field(-1, ge=-1, lt=2**15)
    value: float | None = None
    """What the kernel saw; None when it was not a finite number (a NaN command is itself an event)."""
    limit: float | None = None
    request_id: RequestId | None = None
    """The execution that was running when it happened, if any."""
    zone: Annotated[str, StringConstraints(max_length=128)] | None = None
    """KEEP_OUT_ZONE: the zone's name (``joint`` is then -1: the index was a monitored point's)."""
    point: Annotated[str, StringConstraints(max_length=128)] | None = None
    """KEEP_OUT_ZONE: the monitored point's name."""

    @field_validator("value", "limit", mode="before")
    @classmethod
    def _finite_or_none(cls, value: Any) -> Any:
        return None if isinstance(value, float) and not math.isfinite(value) else value

    @classmethod
    def from_report(
        cls, report: SafetyEventReport, joint_names: Sequence[str], request_id: str | None
    ) -> SafetyEventWire:
        joints = list(joint_names)
        return cls(
            seq=report.seq,
            t=report.t,
            tick=report.tick,
            rule=int(Rule[report.rule]),
            joint=joints.index(report.joint) if report.joint in joints else -1,
            value=report.value,
            limit=report.limit,
            request_id=request_id,
            zone=report.zone,
            point=report.point,
        )


# ---- agent → server ---------------------------------------------------------------------------


class Hello(_Message):
    """First message of every connection: who the robot is and what it can do now."""

    type: Literal["hello"] = "hello"
    robot_id: RobotId
    signature: bytes = Field(min_length=64, max_length=64)
    """Ed25519 signature of ``credential.challenge_message(nonce, robot_id)`` by the robot's key."""
    name: DisplayName
    profile: Label
    kind: Literal["simulated", "hardware"]
    embodiment: Label | None = None
    capabilities: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(max_length=1000)
    """Skill ids the robot can run."""
    world: WorldSnapshot | None = None
    """What the robot sees of its world, for planning; none when it has no world model."""
    running_request_id: RequestId | None = None
    """A plan still running from before a reconnect."""
    agent_version: str = Field("", max_length=64)
    scene: SceneModel | None = None
    """The robot in its world, for viewers that redraw it from the streamed joint positions."""
    zone_capacity: int | None = Field(None, ge=0, le=256)
    """Keep-out zones its kernel takes from the server (``safety.max_zones`` less its configured
    zones); the server refuses (409) a zone that would exceed it. None: an agent that does not say."""


class StateReport(_Message):
    type: Literal["state"] = "state"
    state: RobotStateReport


class SafetyEvents(_Message):
    type: Literal["safety_events"] = "safety_events"
    events: list[SafetyEventWire] = Field(max_length=10_000)


class StepProgressReport(_Message):
    type: Literal["step_progress"] = "step_progress"
    request_id: RequestId
    progress: StepProgress
    t_wall: WallTime
    """Unix time on the agent when it happened (for trace spans)."""


class PlanResult(_Message):
    """A plan ended: ``outcome`` when it ran (successfully or not), ``error`` when it could not start."""

    type: Literal["plan_result"] = "plan_result"
    request_id: RequestId
    outcome: PlanOutcome | None = None
    error: str | None = Field(None, max_length=4096)
    cancelled: bool = False
    world: WorldSnapshot | None = None
    """The world after the plan, so the next plan starts from where things are now."""


class CommandResult(_Message):
    """The answer to an ``estop``, ``reset``, ``cancel``, ``zones``, ``deploy`` or ``sim_reset``."""

    type: Literal["command_result"] = "command_result"
    command_id: Annotated[str, StringConstraints(max_length=64)]
    ok: bool
    detail: str = Field("", max_length=4096)
    world: WorldSnapshot | None = None
    """The world after a command that changed it (``sim_reset``): the next plan starts from it."""
    teleop: TeleopStatus | None = None
    """The teleop session's status, in the answer to a ``teleop`` command."""


class Heartbeat(_Message):
    type: Literal["heartbeat"] = "heartbeat"
    t_wall: WallTime


# ---- server → agent ---------------------------------------------------------------------------


class Challenge(_Message):
    """First message of every connection: sign this nonce with the robot's credential."""

    type: Literal["challenge"] = "challenge"
    nonce: bytes = Field(min_length=32, max_length=32)
    server_version: str


class LinkError(_Message):
    """The server refused one message (it says why); the link stays up."""

    type: Literal["error"] = "error"
    detail: str
    about: str | None = None
    """The ``type`` of the refused message, when it had one."""


class Welcome(_Message):
    type: Literal["welcome"] = "welcome"
    server_version: str


class ExecutePlan(_Message):
    type: Literal["execute_plan"] = "execute_plan"
    request_id: str
    plan: SkillExecutionPlan
    record: bool = False
    """Record the execution as a LeRobot dataset (the agent's demonstration recorder)."""


class Cancel(_Message):
    type: Literal["cancel"] = "cancel"
    command_id: str
    request_id: str | None = None
    """Cancel only this execution; none cancels whatever runs."""


class Estop(_Message):
    type: Literal["estop"] = "estop"
    command_id: str
    category: Literal[0, 1, 2] = 1


class Reset(_Message):
    type: Literal["reset"] = "reset"
    command_id: str
    posture: bool = False
    """Once the stop has cleared, also bring the arms back to their rest posture."""


class Zones(_Message):
    """Every keep-out zone that applies to the robot (a full list: it replaces the previous one)."""

    type: Literal["zones"] = "zones"
    command_id: str
    zones: list[Zone]


class SimReset(_Message):
    """Simulation only: lay out a new world drawn from ``seed`` (evaluations over many layouts)."""

    type: Literal["sim_reset"] = "sim_reset"
    command_id: str
    seed: int = Field(ge=0)


class Recording(_Message):
    """Start or stop recording demonstrations on the robot (the dashboard's Ctrl+R)."""

    type: Literal["recording"] = "recording"
    command_id: str
    action: Literal["start", "stop"]
    task: Annotated[str, StringConstraints(max_length=1000)] = "teleoperated demonstration"


class Teleop(_Message):
    """Teleoperation (the dashboard's Ctrl+T, a data glove): ``start`` or ``stop`` a session, ask
    its ``status`` (each answered by a ``command_result`` carrying the status), or stream an
    operator ``input`` (no answer: inputs come at 30-100 Hz and the newest wins)."""

    type: Literal["teleop"] = "teleop"
    command_id: Annotated[str, StringConstraints(max_length=64)] = ""
    action: Literal["start", "stop", "status", "input"]
    operator: Label | None = None
    config: TeleopConfig | None = None
    input: TeleopInput | None = None


class Deploy(_Message):
    """A signed, encrypted skill artifact for the robot's local cache."""

    type: Literal["deploy"] = "deploy"
    command_id: str
    skill_id: str
    version: str
    sha256: str
    """Of ``artifact``, checked on arrival."""
    artifact: bytes


AgentMessage = Annotated[
    Hello | StateReport | SafetyEvents | StepProgressReport | PlanResult | CommandResult | Heartbeat,
    Field(discriminator="type"),
]
ServerMessage = Annotated[
    Challenge | Welcome | LinkError | ExecutePlan | Cancel | Estop | Reset | Zones | Deploy | SimReset | Recording
    | Teleop,
    Field(discriminator="type"),
]
_agent = TypeAdapter(AgentMessage)
_server = TypeAdapter(ServerMessage)


def encode(message: _Message) -> bytes:
    """msgpack bytes of ``message`` (bytes stay bytes; tuples become arrays)."""
    return msgpack.packb(message.model_dump(mode="python"), use_bin_type=True)


def _unpack(data: bytes, limit: int = MAX_MESSAGE_BYTES, **bounds: int) -> dict[str, Any]:
    if len(data) > limit:
        raise ProtocolError(f"message of {len(data)} bytes exceeds {limit}")
    try:
        raw = msgpack.unpackb(data, raw=False, strict_map_key=True, **bounds)
    except (msgpack.UnpackException, ValueError) as exc:
        raise ProtocolError(f"not a msgpack message: {exc}") from None
    if not isinstance(raw, dict):
        raise ProtocolError(f"a message is a map, got {type(raw).__name__}")
    version = raw.get("v")
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {version!r} is not supported (this side speaks {PROTOCOL_VERSION})")
    return raw


def _validate(adapter: TypeAdapter[Any], raw: dict[str, Any]) -> Any:
    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ProtocolError(f"invalid {raw.get('type')!r} message: {where}: {first.get('msg')}") from None


def decode_agent(data: bytes) -> AgentMessage:
    """A message an agent sent (the server calls this): bounded, finite, then validated."""
    raw = _unpack(
        data,
        MAX_AGENT_MESSAGE_BYTES,
        max_str_len=MAX_STRING,
        max_bin_len=MAX_BINARY,
        max_array_len=MAX_ARRAY,
        max_map_len=MAX_MAP,
    )
    return _validate(_agent, _numbers(raw))


def message_type(data: bytes) -> str | None:
    """The ``type`` a frame says it is, if it is a msgpack map that says (for error replies)."""
    try:
        raw = msgpack.unpackb(data, raw=False, max_str_len=MAX_STRING, max_bin_len=MAX_BINARY)
    except Exception:  # anything msgpack refuses has no type to name
        return None
    kind = raw.get("type") if isinstance(raw, dict) else None
    return kind[:32] if isinstance(kind, str) else None


def _numbers(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with every non-finite float as None; refuses integers beyond int64 (the database's
    widest). Iterative: msgpack already bounds the nesting depth, this walk must not recurse."""
    stack: list[dict[str, Any] | list[Any]] = [raw]
    while stack:
        container = stack.pop()
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in items:
            if isinstance(value, float) and not math.isfinite(value):
                container[key] = None  # type: ignore[index]
            elif isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value < INT64:
                raise ProtocolError(f"invalid {raw.get('type')!r} message: {key}: {value} is beyond a 64-bit integer")
            elif isinstance(value, dict | list):
                stack.append(value)
    return raw


def decode_server(data: bytes) -> ServerMessage:
    """A message the server sent (the agent calls this)."""
    return _validate(_server, _unpack(data))


def finite(value: Any) -> Any:
    """``value`` with NaN and ±inf replaced by None, recursively: JSON (and the browser) has no NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value
