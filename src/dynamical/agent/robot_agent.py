"""The robot behind an agent: run plans, stop, report state. What the agent link talks to.

``RobotAgent`` is the interface. ``LockstepRobotAgent`` holds the simulation, the safety kernel
and the executive in this process and steps them in a background thread, paced to the wall clock
(``speed`` × real time): the same kernel and executor as the two-process runtime, for tests and
single-process demos. Plans run in the caller's thread: each step is started under the lock,
and the stepping thread plays it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from dynamical.agent.plan_runner import PlanOutcome, StepProgress, run_steps
from dynamical.orchestration.plan import SkillExecutionPlan
from dynamical.orchestration.world import WorldSnapshot, snapshot_from_world_model
from dynamical.robot.description import RobotDescription
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.robot.world import WorldSpec
from dynamical.runtime.channels import EventRecord, StatusSample
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import SafetyConfig
from dynamical.safety.rules import Rule, SafetyMode
from dynamical.skills.runner import SETTLE_AFTER_S, SkillOutcome, SkillRunner

AgentMode = Literal["realtime", "lockstep"]


class ObjectPose(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    pos: list[float]
    """m, world frame."""
    quat: list[float]
    """wxyz."""


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
    busy: bool
    """Whether a plan is running."""


class SafetyEventReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    t: float
    rule: str
    joint: str | None
    value: float | None
    limit: float | None


class RobotAgent(Protocol):
    robot_id: str

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def execute(
        self, plan: SkillExecutionPlan, on_progress: Callable[[StepProgress], None] | None = None
    ) -> PlanOutcome: ...
    def cancel(self) -> bool: ...
    def estop(self, category: int) -> None: ...
    def reset(self) -> None: ...
    def state(self) -> RobotStateReport: ...
    def drain_events(self) -> list[SafetyEventReport]: ...
    def world_snapshot(self) -> WorldSnapshot: ...


class AgentBusyError(RuntimeError):
    """A plan was handed to an agent that is running another one."""


def event_report(event: EventRecord, joint_names: Sequence[str]) -> SafetyEventReport:
    def finite(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    return SafetyEventReport(
        seq=event.seq,
        t=event.t,
        rule=Rule(event.rule).name,
        joint=joint_names[event.joint] if 0 <= event.joint < len(joint_names) else None,
        value=finite(event.value),
        limit=finite(event.limit),
    )


class LockstepRobotAgent:
    """The simulated robot, its kernel and its executor in this process, stepped in a thread."""

    def __init__(
        self,
        robot_id: str,
        description: RobotDescription,
        world: WorldSpec,
        safety: SafetyConfig | None = None,
        *,
        seed: int = 0,
        speed: float = 1.0,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0 (× real time), got {speed}")
        self.robot_id = robot_id
        self.description = description
        self.world_spec = world
        self.speed = speed
        self.runtime = LockstepRuntime(description, world, safety or SafetyConfig(), seed=seed)
        self.runtime.set_mannequin_pose(4.0, 4.0)
        self.runner = SkillRunner(self.runtime, Kinematics(build_model(description), description))
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = threading.Lock()
        self._cancelled = False
        self._reported = 0

    # ---- lifecycle ----

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._step_forever, name=f"{self.robot_id}-lockstep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        with self._lock:
            self.runtime.close()

    def _step_forever(self) -> None:
        period = self.runtime.control_period
        wall0, sim0 = time.monotonic(), self.runtime.time
        while not self._stop.is_set():
            with self._lock:
                self.runtime.run(period, self.runner._control)
                sim = self.runtime.time
            # Pace to the wall clock: simulated time runs ``speed`` times as fast as real time.
            ahead = (sim - sim0) / self.speed - (time.monotonic() - wall0)
            if ahead > 0:
                time.sleep(ahead)

    def _wait_sim(self, seconds: float) -> None:
        with self._lock:
            until = self.runtime.time + seconds
        while not self._stop.is_set():
            with self._lock:
                if self.runtime.time >= until:
                    return
            time.sleep(0.005)

    # ---- plans ----

    def execute(
        self, plan: SkillExecutionPlan, on_progress: Callable[[StepProgress], None] | None = None
    ) -> PlanOutcome:
        if not self._busy.acquire(blocking=False):
            raise AgentBusyError(f"robot {self.robot_id} is running another plan")
        try:
            self._cancelled = False
            return run_steps(plan, self._run_step, self._now, on_progress, lambda: self._cancelled)
        finally:
            self._busy.release()

    def _now(self) -> float:
        with self._lock:
            return self.runtime.time

    def _run_step(self, skill_id: str, params: dict[str, Any]) -> SkillOutcome:
        with self._lock:
            started = self.runner.start(skill_id, params)
        if isinstance(started, SkillOutcome):
            return started
        while not self._stop.is_set():
            with self._lock:
                if not self.runner.executor.running:
                    break
            time.sleep(0.01)
        self._wait_sim(SETTLE_AFTER_S)
        with self._lock:
            return self.runner.finish(started)

    def cancel(self) -> bool:
        """Stop the running step where it is (the robot holds) and skip the rest of the plan."""
        self._cancelled = True
        with self._lock:
            return self.runner.executor.cancel()

    # ---- safety ----

    def estop(self, category: int) -> None:
        if category not in (0, 1, 2):
            raise ValueError(f"e-stop category must be 0, 1 or 2, got {category}")
        self._cancelled = True
        with self._lock:
            self.runtime.link.estop(category)
            self.runner.executor.cancel()

    def reset(self) -> None:
        with self._lock:
            self.runtime.link.reset()

    # ---- state ----

    def state(self) -> RobotStateReport:
        with self._lock:
            sample = self.runtime.link.state()
            status = self.runtime.link.status()
            world = self.runner.world
            objects = [
                ObjectPose(name=name, pos=world.object(name).pos.tolist(), quat=world.object(name).quat.tolist())
                for name in world.object_names()
            ]
            t = self.runtime.time
        n = self.description.n_joints
        q = sample.q if sample is not None else np.full(n, np.nan)
        dq = sample.dq if sample is not None else np.zeros(n)
        return RobotStateReport(
            robot_id=self.robot_id,
            t=t,
            joint_names=list(self.description.joint_names),
            q=[float(x) for x in q],
            dq=[float(x) for x in dq],
            safety=None if status is None else _safety(status),
            timing={},
            objects=objects,
            busy=self._busy.locked(),
        )

    def drain_events(self) -> list[SafetyEventReport]:
        """Safety events raised since the last call, oldest first."""
        with self._lock:
            self.runner._drain()
            new = self.runner.events[self._reported :]
            self._reported = len(self.runner.events)
        return [event_report(e, self.description.joint_names) for e in new]

    def world_snapshot(self) -> WorldSnapshot:
        with self._lock:
            return snapshot_from_world_model(self.runner.world, self.world_spec.name)


def _safety(status: StatusSample) -> SafetyStatus:
    return SafetyStatus(
        mode=SafetyMode(status.mode).name,
        estop_category=None if status.estop_category < 0 else int(status.estop_category),
        protective_stop=bool(status.protective_stop),
        speed_scale=float(status.speed_scale),
        separation_m=float(status.separation_m) if math.isfinite(status.separation_m) else None,
        interventions=int(status.interventions),
        power_on=bool(status.power_on),
    )


def make_robot_agent(
    robot_id: str,
    description: RobotDescription,
    world: WorldSpec,
    safety: SafetyConfig | None = None,
    *,
    mode: AgentMode = "lockstep",
    seed: int = 0,
    speed: float = 1.0,
) -> RobotAgent:
    """The robot agent for ``mode``. Only ``lockstep`` exists so far: the two-process realtime
    agent needs the simulator's object states published by the realtime process (not built yet),
    and asking for it says so."""
    if mode == "lockstep":
        return LockstepRobotAgent(robot_id, description, world, safety, seed=seed, speed=speed)
    raise ValueError(
        f"agent mode {mode!r} is not available yet: skills read the world through the simulator, "
        "which the realtime process does not publish to the executive yet; use mode='lockstep'"
    )
