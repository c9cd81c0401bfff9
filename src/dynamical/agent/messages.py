"""The agent link's wire format: versioned msgpack messages, one pydantic model per message type.

Every message is a msgpack map with ``v`` (the protocol version) and ``type`` (which model it is).
msgpack rather than JSON because state goes up at 30 Hz and skill artifacts go down as raw bytes;
never pickle, because a server must not run code an agent (or anyone who reaches the port) sends.
A peer that speaks another major version is refused with a message that says both versions, so an
old agent and a new server fail loudly instead of misreading each other.

Agent → server: ``hello`` (once per connection, first), ``state`` (30 Hz), ``safety_events``,
``step_progress``, ``plan_result``, ``command_result``, ``heartbeat``.
Server → agent: ``welcome``, ``execute_plan``, ``cancel``, ``estop``, ``reset``, ``zones``, ``deploy``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgpack
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from dynamical.agent.plan_runner import PlanOutcome, StepProgress
from dynamical.agent.robot_agent import RobotStateReport, SafetyEventReport
from dynamical.orchestration.plan import SkillExecutionPlan
from dynamical.orchestration.world import WorldSnapshot
from dynamical.robot.scene_model import SceneModel
from dynamical.safety.config import Zone
from dynamical.safety.rules import Rule

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 128 * 1024 * 1024
"""Largest message either side accepts: a skill artifact (64 MiB by default) plus headroom."""


class ProtocolError(ValueError):
    """A message that is not msgpack, names an unknown type, has another version, or is invalid."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: int = PROTOCOL_VERSION


# ---- what the robot looks like on the wire ---------------------------------------------------


class SafetyEventWire(BaseModel):
    """One safety kernel intervention, with the rule and joint as numbers the database keeps."""

    model_config = ConfigDict(extra="forbid")
    seq: int
    """Sequence number in the robot's event ring."""
    t: float
    """s, robot clock."""
    tick: int = -1
    """The kernel tick it happened on (-1: an agent that does not say)."""
    rule: int
    """``safety.rules.Rule`` code."""
    joint: int = -1
    value: float | None = None
    limit: float | None = None
    request_id: str | None = None
    """The execution that was running when it happened, if any."""

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
        )


# ---- agent → server ---------------------------------------------------------------------------


class Hello(_Message):
    """First message of every connection: who the robot is and what it can do now."""

    type: Literal["hello"] = "hello"
    robot_id: str
    name: str
    profile: str
    kind: Literal["simulated", "hardware"]
    embodiment: str | None = None
    capabilities: list[str]
    """Skill ids the robot can run."""
    world: WorldSnapshot | None = None
    """What the robot sees of its world, for planning; none when it has no world model."""
    running_request_id: str | None = None
    """A plan still running from before a reconnect."""
    agent_version: str = ""
    scene: SceneModel | None = None
    """The robot in its world, for viewers that redraw it from the streamed joint positions."""


class StateReport(_Message):
    type: Literal["state"] = "state"
    state: RobotStateReport


class SafetyEvents(_Message):
    type: Literal["safety_events"] = "safety_events"
    events: list[SafetyEventWire]


class StepProgressReport(_Message):
    type: Literal["step_progress"] = "step_progress"
    request_id: str
    progress: StepProgress
    t_wall: float
    """Unix time on the agent when it happened (for trace spans)."""


class PlanResult(_Message):
    """A plan ended: ``outcome`` when it ran (successfully or not), ``error`` when it could not start."""

    type: Literal["plan_result"] = "plan_result"
    request_id: str
    outcome: PlanOutcome | None = None
    error: str | None = None
    cancelled: bool = False
    world: WorldSnapshot | None = None
    """The world after the plan, so the next plan starts from where things are now."""


class CommandResult(_Message):
    """The answer to an ``estop``, ``reset``, ``cancel``, ``zones``, ``deploy`` or ``sim_reset``."""

    type: Literal["command_result"] = "command_result"
    command_id: str
    ok: bool
    detail: str = ""
    world: WorldSnapshot | None = None
    """The world after a command that changed it (``sim_reset``): the next plan starts from it."""


class Heartbeat(_Message):
    type: Literal["heartbeat"] = "heartbeat"
    t_wall: float


# ---- server → agent ---------------------------------------------------------------------------


class Welcome(_Message):
    type: Literal["welcome"] = "welcome"
    server_version: str


class ExecutePlan(_Message):
    type: Literal["execute_plan"] = "execute_plan"
    request_id: str
    plan: SkillExecutionPlan


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
    Welcome | ExecutePlan | Cancel | Estop | Reset | Zones | Deploy | SimReset,
    Field(discriminator="type"),
]
_agent = TypeAdapter(AgentMessage)
_server = TypeAdapter(ServerMessage)


def encode(message: _Message) -> bytes:
    """msgpack bytes of ``message`` (bytes stay bytes; tuples become arrays)."""
    return msgpack.packb(message.model_dump(mode="python"), use_bin_type=True)


def _unpack(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        raw = msgpack.unpackb(data, raw=False, strict_map_key=True)
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
    """A message an agent sent (the server calls this)."""
    return _validate(_agent, _unpack(data))


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
