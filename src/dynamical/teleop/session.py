"""A teleop session: the operator's latest input, the deadman, latency, and the executor skill
that turns inputs into joint commands on every control tick.

The skill runs in the executor like any other (``Executor.run``): its commands stream through the
executive link into the safety kernel, which limits, zones, separates and watches them exactly as
it does a planned skill's. Inputs arrive on any thread (the agent link, a glove receiver); the
control tick reads the newest one. Deadman: an input whose ``deadman`` is false, or no input for
``deadman_s``, makes the robot brake to a hold where it is; the next held input resumes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from dynamical.robot.description import RobotDescription
from dynamical.runtime.channels import StateSample
from dynamical.skills.executor import SkillContext, SkillStep
from dynamical.skills.hands import HAND_CLOSED, HAND_OPEN
from dynamical.teleop.inputs import HandTarget, Side, TeleopConfig, TeleopInput
from dynamical.teleop.servo import SIDES, TeleopServo

LATENCY_WINDOW = 2048
"""Latencies kept for the percentiles (about 30 s of inputs at 60 Hz)."""

HoldReason = Literal["no input yet", "deadman released", "input timed out"]


class LatencyStats(BaseModel):
    """Input → kernel command latency over the last inputs, ms."""

    count: int
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None


class TeleopStatus(BaseModel):
    """What the operator's screen shows about the session."""

    active: bool
    operator: str | None = None
    since_s: float | None = Field(None, description="s since the session started")
    holding: bool = Field(description="the robot holds (deadman released, input timed out, none yet)")
    hold_reason: HoldReason | None = None
    inputs: int = Field(0, description="inputs accepted")
    stale_dropped: int = Field(0, description="inputs older than one already applied (by seq), dropped")
    commands: int = Field(0, description="control ticks that sent a teleop command")
    input_to_command: LatencyStats = Field(description="input received by the robot → first command from it")
    sent_to_command: LatencyStats = Field(
        description="the operator's sent_at → first command from it (same host clocks only)"
    )
    ended: str | None = Field(None, description="why the session ended, once it has")
    palm_start: dict[str, list[float]] = Field(
        default_factory=dict, description="each palm's world position when the session started, m (targets start here)"
    )


def _stats(values: deque[float]) -> LatencyStats:
    if not values:
        return LatencyStats(count=0)
    arr = np.fromiter(values, dtype=float) * 1e3
    return LatencyStats(
        count=len(arr),
        p50_ms=float(np.percentile(arr, 50)),
        p99_ms=float(np.percentile(arr, 99)),
        max_ms=float(arr.max()),
    )


@dataclass
class _Held:
    """The operator's standing targets (fields an input left out keep their value)."""

    hands: dict[Side, HandTarget] = field(default_factory=dict)
    hand_joints: dict[Side, np.ndarray] = field(default_factory=dict)
    head: np.ndarray | None = None
    waist: np.ndarray | None = None


class TeleopSession:
    """The operator's side of a session: thread-safe input, deadman and latency bookkeeping."""

    def __init__(
        self,
        description: RobotDescription,
        config: TeleopConfig | None = None,
        operator: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.description = description
        self.config = config or TeleopConfig()
        self.operator = operator
        self._clock = clock
        self._lock = threading.Lock()
        self._held = _Held()
        self._deadman = False
        self._last_input_at: float | None = None
        self._last_seq = -1
        self._pending: list[tuple[float, float | None]] = []
        """(received monotonic, sent_at wall) of inputs no command has used yet."""
        self._input_latency: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._sent_latency: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._inputs = 0
        self._stale = 0
        self._commands = 0
        self._started_at = clock()
        self._hold_reason: HoldReason | None = "no input yet"
        self.ended: str | None = None
        self.palm_start: dict[str, list[float]] = {}
        self.listeners: list[Callable[[TeleopInput, float], None]] = []
        """Called with every accepted input and its receipt time (monotonic s): the recorder
        stores the operator's raw input beside the robot's actions."""

    # ---- the operator's side (any thread) ----

    def submit(self, command: TeleopInput, received_at: float | None = None) -> bool:
        """Take one input; False when dropped as older (by ``seq``) than one already taken.
        ``received_at`` (``clock`` s): when the input reached the robot, if before this call (a
        glove sample before its retargeting)."""
        now = self._clock() if received_at is None else received_at
        with self._lock:
            if command.seq and command.seq <= self._last_seq:
                self._stale += 1
                return False
            self._last_seq = max(self._last_seq, command.seq)
            held = self._held
            held.hands.update(command.hands)
            for side, grip in command.grip.items():
                held.hand_joints[side] = HAND_OPEN + grip * (HAND_CLOSED - HAND_OPEN)
            for side, joints in command.fingers.items():
                held.hand_joints[side] = np.array(joints, dtype=float)
            if command.head is not None:
                held.head = np.array(command.head, dtype=float)
            if command.waist is not None:
                held.waist = np.array(command.waist, dtype=float)
            self._deadman = command.deadman
            self._last_input_at = now
            self._pending.append((now, command.sent_at))
            self._inputs += 1
        for listener in self.listeners:
            listener(command, now)
        return True

    def latencies(self) -> list[float]:
        """The input → command latencies kept (s, oldest first; the last ``LATENCY_WINDOW``)."""
        with self._lock:
            return list(self._input_latency)

    def status(self) -> TeleopStatus:
        with self._lock:
            return TeleopStatus(
                active=self.ended is None,
                operator=self.operator,
                since_s=self._clock() - self._started_at,
                holding=self._hold_reason is not None,
                hold_reason=self._hold_reason,
                inputs=self._inputs,
                stale_dropped=self._stale,
                commands=self._commands,
                input_to_command=_stats(self._input_latency),
                sent_to_command=_stats(self._sent_latency),
                ended=self.ended,
                palm_start=dict(self.palm_start),
            )

    # ---- the control tick's side ----

    def targets(self) -> tuple[_Held | None, HoldReason | None]:
        """The standing targets to track now, or None and why the robot must hold. Inputs this
        call hands out count as commanded now (their latency is taken here)."""
        now = self._clock()
        with self._lock:
            if self._last_input_at is None:
                reason: HoldReason | None = "no input yet"
            elif now - self._last_input_at > self.config.deadman_s:
                reason = "input timed out"
            elif not self._deadman:
                reason = "deadman released"
            else:
                reason = None
            self._hold_reason = reason
            if reason is not None:
                self._pending.clear()  # an input that only held the robot commanded no motion
                return None, reason
            wall = time.time()
            for received, sent_at in self._pending:
                self._input_latency.append(now - received)
                if sent_at is not None:
                    self._sent_latency.append(max(0.0, wall - sent_at))
            self._pending.clear()
            self._commands += 1
            held = self._held
            return (
                _Held(dict(held.hands), {s: j.copy() for s, j in held.hand_joints.items()}, held.head, held.waist),
                None,
            )


class TeleopSkill:
    """The executor's view of a session: every control tick, one servo step toward the
    operator's targets, or a braking hold when the deadman says so. Ends only when cancelled
    (the session stopped, an e-stop) or at ``max_duration_s``."""

    name = "teleop"

    def __init__(self, session: TeleopSession, control_period: float) -> None:
        self.session = session
        self.servo = TeleopServo(session.description, session.config, control_period)
        self.groups = self.servo.groups.names
        self._q = session.description.home.copy()
        self._t_start = 0.0
        self._hold: np.ndarray | None = None

    def start(self, context: SkillContext) -> None:
        self._t_start = context.t_start
        self._q = context.q_start.copy()
        self.servo.reset(self._q)  # from rest: no plan runs beside a session
        for side in self.servo.arm_sides:
            self.session.palm_start[side] = self.servo.palm_pose(self._q, side)[0].tolist()

    def step(self, t: float, state: StateSample) -> SkillStep:
        if t - self._t_start >= self.session.config.max_duration_s:
            return SkillStep(q=self._q.copy(), done=True)
        held, _ = self.session.targets()
        if held is None:
            if self._hold is None:  # brake to where the joints can stop, then stay there
                self._hold = self.servo.stopping_point(self._q)
            goal = self._hold
        else:
            self._hold = None
            goal = self.servo.goal(self._q, held.hands, held.hand_joints, held.head, held.waist)
        self._q = self.servo.step(self._q, goal)
        return SkillStep(q=self._q.copy())

    @staticmethod
    def sides() -> tuple[Side, ...]:
        return SIDES
