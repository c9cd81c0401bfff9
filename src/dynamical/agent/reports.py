"""What a robot agent reports: its state (joints, safety status and the cause of a stop, timing,
objects) and its safety events. Plain pydantic models: they cross the agent link as they are."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from dynamical.runtime.channels import EventRecord, StatusSample
from dynamical.safety.config import WatchdogConfig
from dynamical.safety.rules import Rule, SafetyMode
from dynamical.safety.zone_events import zone_event_names


class ObjectPose(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    pos: list[float]
    """m, world frame."""
    quat: list[float]
    """wxyz."""


class StopCause(BaseModel):
    """Why the robot is stopped: the rule that latched the stop, when, and what the executive was
    doing then."""

    model_config = ConfigDict(frozen=True)

    rule: str
    """WATCHDOG_PROTECTIVE_STOP, SEPARATION_STOP or ESTOP."""
    t: float
    """s, when it latched (the robot's clock, as the safety events')."""
    tick: int
    """The kernel tick it latched on."""
    detail: str
    """What the rule means here, in words."""
    activity: str | None
    """What the executive was doing when it latched (None when it cannot tell)."""

    def describe(self) -> str:
        """One sentence for refusals and tables."""
        doing = f" while {self.activity}" if self.activity else ""
        return f"{self.rule} at t={self.t:.3f} s (tick {self.tick}): {self.detail}{doing}"


class SafetyStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    mode: str
    """RUNNING, HOLD, BRAKING, PROTECTIVE_STOP or ESTOP."""
    estop_category: int | None
    protective_stop: bool
    speed_scale: float
    separation_m: float | None
    """Distance to the nearest person; None when nobody is seen."""
    interventions: int
    power_on: bool
    stop_cause: StopCause | None = None
    """Why the robot is stopped (protective stop or e-stop in force); None while it is not."""
    lookahead_s: float | None = None
    """s of streamed trajectory left ahead of the kernel (None when it follows none)."""


class RecordingStatus(BaseModel):
    """Whether the robot records what it does now (``learning.session.RobotRecorder``)."""

    model_config = ConfigDict(frozen=True)

    active: bool
    dataset: str | None = None
    """The dataset being recorded (active), else the last one written."""
    task: str | None = None
    frames: int = 0
    started_at: str | None = None
    """ISO 8601, UTC."""
    writing: list[str] = []
    """Datasets stopped and still being written by the learning environment."""
    error: str | None = None
    """Why the last recording could not be written."""


class RobotStateReport(BaseModel):
    """One consistent look at the robot: joints, safety status, timing, and in simulation the objects."""

    model_config = ConfigDict(frozen=True)

    robot_id: str
    t: float
    """s, the robot's clock."""
    joint_names: list[str]
    q: list[float]
    """rad."""
    dq: list[float]
    """rad/s."""
    safety: SafetyStatus | None
    """None before the kernel's first tick."""
    timing: dict[str, dict[str, Any]]
    """Per tier (e.g. ``safety``, ``control``): the recorder's statistics; empty when the tiers
    are stepped in lock-step (no wall-clock timing to report)."""
    objects: list[ObjectPose]
    mannequin: ObjectPose | None = None
    """Where the simulated person stands (None without one): the pose the simulator was given."""
    busy: bool
    """Whether a plan is running."""
    fault: str | None = None
    """Why the robot cannot run plans now (its realtime process died or stopped responding);
    None when it can."""
    recording: RecordingStatus | None = None
    """The demonstration recorder (the dashboard's REC badge); None on an agent without one."""


class SafetyEventReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    t: float
    tick: int
    """The kernel tick it happened on."""
    rule: str
    joint: str | None
    value: float | None
    limit: float | None
    zone: str | None = None
    """KEEP_OUT_ZONE: the zone's name."""
    point: str | None = None
    """KEEP_OUT_ZONE: the monitored point's name (a safety point of the robot description)."""


def event_report(
    event: EventRecord,
    joint_names: Sequence[str],
    zone_names: Sequence[str] = (),
    point_names: Sequence[str] = (),
) -> SafetyEventReport:
    """``zone_names``: the kernel's zones in its order (configured, then the server's);
    ``point_names``: the description's safety points. A zone event's index names those, never a joint."""

    def finite(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    zone, point = None, None
    if event.rule == Rule.KEEP_OUT_ZONE:
        zone, point = zone_event_names(int(event.joint), zone_names, point_names)
        joint = None
    else:
        joint = joint_names[event.joint] if 0 <= event.joint < len(joint_names) else None
    return SafetyEventReport(
        seq=event.seq,
        t=event.t,
        tick=int(event.tick),
        rule=Rule(event.rule).name,
        joint=joint,
        value=finite(event.value),
        limit=finite(event.limit),
        zone=zone,
        point=point,
    )


def stop_detail(rule: Rule, watchdog: WatchdogConfig) -> str:
    """What a stopping rule means, in words."""
    if rule == Rule.WATCHDOG_PROTECTIVE_STOP:
        return (
            f"no command or trajectory reached the safety kernel for {watchdog.protective_stop_after_ticks} "
            "ticks after the last one ran out (the executive stopped streaming, or was starved past its lookahead)"
        )
    if rule == Rule.SEPARATION_STOP:
        return "a person came closer than the protective separation distance"
    if rule == Rule.ESTOP:
        return "an emergency stop was requested"
    return f"the kernel stopped the robot ({rule.name})"


def safety_status(
    status: StatusSample, watchdog: WatchdogConfig, activity_at: Callable[[float], str | None] | None = None
) -> SafetyStatus:
    """The report of a status sample; ``activity_at(t)`` says what the executive was doing at t."""
    cause = None
    if status.stop_rule != Rule.NONE and status.mode in (
        SafetyMode.PROTECTIVE_STOP,
        SafetyMode.ESTOP,
        SafetyMode.BRAKING,
    ):
        rule = Rule(status.stop_rule)
        cause = StopCause(
            rule=rule.name,
            t=float(status.stop_t),
            tick=int(status.stop_tick),
            detail=stop_detail(rule, watchdog),
            activity=None if activity_at is None else activity_at(status.stop_t),
        )
    return SafetyStatus(
        mode=SafetyMode(status.mode).name,
        estop_category=None if status.estop_category < 0 else int(status.estop_category),
        protective_stop=bool(status.protective_stop),
        speed_scale=float(status.speed_scale),
        separation_m=float(status.separation_m) if math.isfinite(status.separation_m) else None,
        interventions=int(status.interventions),
        power_on=bool(status.power_on),
        stop_cause=cause,
        lookahead_s=float(status.lookahead_s) if math.isfinite(status.lookahead_s) else None,
    )


def refusal(safety: SafetyStatus) -> str | None:
    """Why a plan cannot run in this safety state (a latched stop clears only by an explicit
    reset); None when it can."""
    if safety.mode not in ("PROTECTIVE_STOP", "ESTOP"):
        return None
    cause = safety.stop_cause.describe() if safety.stop_cause is not None else "cause not recorded"
    return (
        f"the safety kernel is in {safety.mode}: {cause}. Reset the robot (POST /api/safety/reset, "
        'with {"posture": true} to also return the arms to their rest posture) before running a plan'
    )
