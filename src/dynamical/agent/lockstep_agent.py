"""The lock-step robot agent: the simulated robot, its safety kernel and the executive in this
process, stepped in a background thread paced to the wall clock (``speed`` × real time), for
tests and single-process demos. The same node, kernel, channels and executor as the realtime
agent; only the clock differs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dynamical.agent.errors import AgentBusyError
from dynamical.agent.learned_catalog import DeployedSkills
from dynamical.agent.plan_runner import PlanOutcome, StepProgress, announcing_plans, blamed_on_stop, run_steps
from dynamical.agent.reports import (
    ObjectPose,
    RobotStateReport,
    SafetyEventReport,
    event_report,
    refusal,
    safety_status,
)
from dynamical.orchestration.plan import SkillExecutionPlan
from dynamical.orchestration.world import WorldSnapshot, snapshot_from_world_model
from dynamical.robot.description import RobotDescription
from dynamical.robot.kinematics import IKInterruptedError, Kinematics
from dynamical.robot.scene import build_model
from dynamical.robot.scene_model import SceneModel, scene_model
from dynamical.robot.world import WorldSpec
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import BoxZone, HalfSpaceZone, SafetyConfig
from dynamical.safety.rules import SafetyMode
from dynamical.skills.evaluation import MANNEQUIN_AWAY
from dynamical.skills.runner import SETTLE_AFTER_S, SkillOutcome, SkillRunner

REST_SKILL = "go_home"
"""The skill a reset with ``posture`` runs: every joint back to the rest pose, slowly."""
RESET_TIMEOUT_S = 5.0
"""s a reset with ``posture`` waits for the kernel to clear its stop (the robot must be still)."""
RESET_RETRY_S = 0.25
"""s between two asks of that reset: the kernel drops one that comes while the robot still brakes."""
YIELD_S = 2e-4
"""s the stepping thread pauses between two control periods when it runs behind its pace."""


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
        skills: DeployedSkills | None = None,
    ) -> None:
        """``skills``: the built-in and deployed learned skills it runs (default: built-in only)."""
        if not speed > 0:
            raise ValueError(f"speed must be > 0 (× real time), got {speed}")
        self.robot_id = robot_id
        self.description = description
        self.world_spec = world
        self.speed = speed
        self._safety = safety or SafetyConfig()
        self.runtime = LockstepRuntime(description, world, self._safety, seed=seed)
        self.runtime.set_mannequin_pose(*MANNEQUIN_AWAY)
        self._config_zones = list(self._safety.zones)
        self._server_zones: list[BoxZone | HalfSpaceZone] = []
        self._epoch = 0
        """Bumped when the simulation is replaced (``reset_world``): the pacing restarts from it."""
        kinematics = Kinematics(build_model(description), description)
        # A cancel or e-stop stops the planning of a step at its next IK iteration.
        kinematics.interrupt = self._planning_interrupted
        self.skills = skills
        self.runner = SkillRunner(
            self.runtime, kinematics, *((skills.catalog, skills.artifact) if skills is not None else ())
        )
        self._scene = scene_model(build_model(description, world), description, world)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = threading.Lock()
        self._cancelled = False
        # What stopped the plan, for the step it stopped: a cancel, or an e-stop (a safety stop).
        self._stop_reason = "cancelled"
        self._estop_cancel = threading.Event()
        """Set by an e-stop: the stepping thread cancels the running skill before its next period."""
        self._reported = 0

    # ---- lifecycle ----

    def start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:  # measured before anyone asks: a state is never one of NaNs
            self.runtime.run(self.runtime.control_period, self.runner._control)
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
        epoch, wall0, sim0 = self._epoch, time.monotonic(), self.runtime.time
        while not self._stop.is_set():
            with self._lock:
                if self._estop_cancel.is_set():
                    self._estop_cancel.clear()
                    self.runner.executor.cancel()
                if self._epoch != epoch:  # a new simulation, its clock from zero
                    epoch, wall0, sim0 = self._epoch, time.monotonic(), self.runtime.time
                self.runtime.run(period, self.runner._control)
                sim = self.runtime.time
            # Pace to the wall clock: simulated time runs ``speed`` times as fast as real time.
            ahead = (sim - sim0) / self.speed - (time.monotonic() - wall0)
            # Behind the pace (a busy machine) the lock is still let go of for a moment: a thread
            # waiting for it (the state an e-stop's confirmation reads, a cancel) would otherwise
            # lose every race to this loop's next period and wait many of them.
            time.sleep(ahead if ahead > 0 else YIELD_S)

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
            with announcing_plans(self.runner, on_progress) as progress:
                return run_steps(plan, self._run_step, self._now, progress, lambda: self._cancelled)
        finally:
            self._busy.release()

    def _now(self) -> float:
        with self._lock:
            return self.runtime.time

    def _run_step(self, skill_id: str, params: dict[str, Any]) -> SkillOutcome:
        why = refusal(self.state().safety) if self.runtime.link.status() is not None else None
        if why is not None:
            return SkillOutcome(skill=skill_id, params=params, success=False, failure=why, cause="safety")
        try:
            with self._lock:
                started = self.runner.start(skill_id, params)
                if self._cancelled and not isinstance(started, SkillOutcome):
                    self.runner.executor.cancel()  # cancelled while planned: it stops where it starts
        except IKInterruptedError as exc:
            cause = "safety" if self._estop_reason() is not None else "skill"
            return SkillOutcome(skill=skill_id, params=params, success=False, failure=str(exc), cause=cause)
        if isinstance(started, SkillOutcome):
            return started
        while not self._stop.is_set():
            with self._lock:
                if not self.runner.executor.running:
                    break
            time.sleep(0.01)
        self._wait_sim(SETTLE_AFTER_S)
        with self._lock:
            return blamed_on_stop(self.runner.finish(started), self._estop_reason())

    def _estop_reason(self) -> str | None:
        """What stopped the running plan when it was an e-stop; None for a cancel or no stop."""
        return self._stop_reason if self._cancelled and self._stop_reason != "cancelled" else None

    def _planning_interrupted(self) -> str | None:
        """Why a step being planned must stop now; None while it may go on."""
        if self._cancelled:
            return f"{self._stop_reason} while the step was planned"
        return "the agent was stopped while the step was planned" if self._stop.is_set() else None

    def cancel(self) -> bool:
        """Stop the running step where it is (the robot holds) and skip the rest of the plan."""
        if not self._cancelled:
            self._stop_reason = "cancelled"
        self._cancelled = True
        with self._lock:
            return self.runner.executor.cancel()

    # ---- safety ----

    def estop(self, category: int) -> None:
        if category not in (0, 1, 2):
            raise ValueError(f"e-stop category must be 0, 1 or 2, got {category}")
        # The kernel's request word first, without the agent's lock (a step's planning holds it);
        # the kernel acts on it at its next tick.
        # Said before the kernel hears it: a step that fails as the kernel brakes blames the stop.
        self._stop_reason = f"stopped by an emergency stop (category {category})"
        self._cancelled = True
        self.runtime.link.estop(category)
        # The running skill is cancelled by the stepping thread before its next period, not here:
        # waiting for the lock (a period of a simulation slowed by a busy machine, or planning)
        # would only delay the confirmation; the kernel brakes meanwhile anyway.
        self._estop_cancel.set()

    def reset(self, posture: bool = False) -> None:
        """The explicit reset that clears an e-stop or a latched protective stop (once the robot is
        still). ``posture``: then bring the arms back to the rest posture (``go_home``); refused
        while a plan runs, and RuntimeError when the kernel did not clear or the motion failed."""
        with self._lock:
            self.runtime.link.reset()
        if posture:
            self._to_rest_posture()

    def _to_rest_posture(self) -> None:
        deadline = time.monotonic() + RESET_TIMEOUT_S
        asked = time.monotonic()
        while (status := self.runtime.link.status()) is None or status.mode != SafetyMode.RUNNING:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the safety kernel did not clear its stop ({self.state().safety})")
            if time.monotonic() - asked > RESET_RETRY_S:
                # The kernel drops a reset asked while the robot still brakes: ask again.
                self.runtime.link.reset()
                asked = time.monotonic()
            self._wait_sim(self.runtime.control_period)
        if not self._busy.acquire(blocking=False):
            raise AgentBusyError(f"robot {self.robot_id} is running a plan; it was reset, not moved")
        try:
            self._cancelled = False  # the stop this reset cleared must not stop the rest motion
            outcome = self._run_step(REST_SKILL, {})
        finally:
            self._busy.release()
        if not outcome.success:
            raise RuntimeError(f"reset, but the rest posture failed: {outcome.failure}")

    @property
    def zone_capacity(self) -> int:
        """Keep-out zones the kernel takes from the server: its capacity less the configured ones."""
        return self._safety.max_zones - len(self._config_zones)

    def set_zones(self, zones: Sequence[BoxZone | HalfSpaceZone]) -> None:
        """Keep-out zones from the server, in force from the next kernel tick, on top of the
        configured ones (the floor): the kernel replaces its whole set, so both go together.
        Raises ValueError (over capacity, invalid) with the zones in force unchanged."""
        with self._lock:
            self.runtime.set_zones([*self._config_zones, *zones])
            self._server_zones = list(zones)

    def reset_world(self, seed: int) -> None:
        """Simulation only: a new world drawn from ``seed`` (objects re-laid, the robot at rest, a
        fresh kernel with the same zones). Refused while a plan runs (AgentBusyError) or with an
        e-stop latched (RuntimeError: a new world, with its fresh kernel, must not be a way around
        one), as the realtime process refuses it."""
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        if not self._busy.acquire(blocking=False):
            raise AgentBusyError(f"robot {self.robot_id} is running a plan; cancel it before resetting the world")
        try:
            with self._lock:
                # One more period first: an e-stop requested a moment ago latches on its tick.
                self.runtime.run(self.runtime.control_period, self.runner._control)
                if self.runtime.kernel.estop.active:
                    raise RuntimeError("an emergency stop is latched: reset it before resetting the world")
                old = self.runtime
                runtime = LockstepRuntime(self.description, self.world_spec, self._safety, seed=seed)
                runtime.set_mannequin_pose(*MANNEQUIN_AWAY)
                if self._server_zones:
                    runtime.set_zones([*self._config_zones, *self._server_zones])
                runner = SkillRunner(runtime, self.runner.kinematics, self.runner.catalog, self.runner.artifacts)
                self.runtime, self.runner = runtime, runner
                # One control period on the new world: its state is measured before it is asked
                # for (the link's next state message would otherwise carry NaN, which the server
                # refuses).
                runtime.run(runtime.control_period, self.runner._control)
                self._reported = 0
                self._epoch += 1
                old.close()
        finally:
            self._busy.release()

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
            mannequin = None
            if self.world_spec.mannequin is not None:
                pos, quat = self.runtime.body_pose(self.world_spec.mannequin)
                mannequin = ObjectPose(name=self.world_spec.mannequin, pos=pos.tolist(), quat=quat.tolist())
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
            safety=None
            if status is None
            else safety_status(status, self._safety.watchdog, self.runner.executor.activity_at),
            timing={},
            objects=objects,
            mannequin=mannequin,
            busy=self._busy.locked(),
        )

    def drain_events(self) -> list[SafetyEventReport]:
        """Safety events raised since the last call, oldest first."""
        with self._lock:
            self.runner._drain()
            new = self.runner.events[self._reported :]
            self._reported = len(self.runner.events)
        zones = [z.name for z in (*self._config_zones, *self._server_zones)]
        points = tuple(self.description.safety_points)  # names, in the kernel's order
        return [event_report(e, self.description.joint_names, zones, points) for e in new]

    def world_snapshot(self) -> WorldSnapshot:
        with self._lock:
            return snapshot_from_world_model(self.runner.world, self.world_spec.name)

    def scene_model(self) -> SceneModel:
        return self._scene
