"""The realtime robot agent: the robot as deployed, the realtime process (driver, simulator,
safety kernel at 1 kHz) and, in this process, the executive's 200 Hz control thread, talking only
through shared memory. Skills see the world through the world-state channel the realtime process
publishes."""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dynamical.agent.errors import AgentBusyError, AgentNotStartedError
from dynamical.agent.learned_catalog import DeployedSkills
from dynamical.agent.lockstep_agent import RESET_RETRY_S, RESET_TIMEOUT_S, REST_SKILL
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
from dynamical.robot.shapes import object_shapes
from dynamical.robot.sim_robot import WorldIndex
from dynamical.robot.world import WorldSpec
from dynamical.runtime.channels.state import StateSample
from dynamical.runtime.clock import RealtimeClock, elevate_thread
from dynamical.runtime.link import ExecutiveLink
from dynamical.runtime.realtime_process import RealtimeProcess
from dynamical.runtime.timing import TimingRecorder
from dynamical.safety.config import BoxZone, HalfSpaceZone, SafetyConfig
from dynamical.safety.rules import SafetyMode
from dynamical.skills.channel_world import ChannelWorldModel, static_surfaces
from dynamical.skills.evaluation import MANNEQUIN_AWAY
from dynamical.skills.runner import SETTLE_AFTER_S, SkillHost, SkillOutcome, SkillRunner, builtin_catalog, warm_up

HEALTH_EVERY = 10
"""Control ticks between two checks that the realtime process lives (50 ms at 200 Hz)."""
CONTROL_PRIORITY = 40
"""SCHED_FIFO priority of the executive's control thread: below the realtime process's (80),
above everything at normal priority."""
SWITCH_INTERVAL_S = 1e-3
"""s, the interpreter's thread switch interval while a realtime agent runs (default 5 ms)."""
ZONES_ANSWER_TIMEOUT_S = 0.5
"""s, how long ``RealtimeRobotAgent.set_zones`` waits for the realtime process to take or refuse
a zone list: it answers within a tick or two (ms), so longer means dead or stalled."""
WORLD_RESET_TIMEOUT_S = 10.0
"""s, how long ``RealtimeRobotAgent.reset_world`` waits for the new world (the realtime process
re-lays the simulator and builds a fresh kernel between two ticks)."""
STATE_READ_ATTEMPTS = 100
"""Reads of the state channel, a ms apart, before ``state`` gives up on a robot never measured."""
STEP_GRACE_S = 2.0
"""s, how long past a step's timeout ``_run_step`` waits for the control loop to end it."""


def _standing_pose(body: str | None, pose: tuple[float, float, float] | None) -> ObjectPose | None:
    """The pose the realtime process gives the mannequin's mocap body at start (it never moves it
    after): (x, y, yaw) → standing on the floor, turned by yaw about z."""
    if body is None or pose is None:
        return None
    x, y, yaw = pose
    return ObjectPose(name=body, pos=[x, y, 0.0], quat=[math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])


class RealtimeRobotAgent:
    """The robot as deployed: the realtime process and this process's 200 Hz control thread.

    ``start`` spawns the realtime process (simulator, driver and safety kernel at 1 kHz; the
    world state published at ``world_hz``) and a control thread that ticks the executor on a
    ``RealtimeClock`` (absolute deadlines). The control thread does nothing slow: a plan step is
    checked and planned (IK) in the caller's thread, outside the lock, and only handed to the
    executor under it; the thread never waits longer than one executor call for the lock.

    The control thread asks for SCHED_FIFO below the realtime process (``elevate_thread``: no GC
    freeze, which would be wrong for a process that also serves the agent link), else a lower
    niceness: a busy machine (a browser rendering the dashboard on the same two cores) would
    otherwise starve it past the kernel's watchdog, which stops the robot. The interpreter's
    switch interval is lowered to 1 ms while the agent runs, so a busy planning thread holds the
    GIL for at most a fifth of a control period.

    The control thread streams trajectory segments reaching ``LOOKAHEAD_S`` ahead (see the
    executor): a tick it misses because the machine is busy costs nothing while the last segment
    lasts. A failed or cancelled step leaves the executor holding the measured pose, still
    streaming, so the watchdog never fires for it; a stop that does latch names its cause in
    ``state().safety.stop_cause``. ``reset_world`` lays out a new simulated world through the
    realtime process's world-reset mailbox.

    If the realtime process dies, the control thread notices within ``HEALTH_EVERY`` ticks, the
    running step fails with the reason, ``state().fault`` says it, and later steps are refused;
    ``stop`` still cleans up (the dead process's segments included). The process does not restart
    on its own: a robot that lost its safety tier waits for a person (``stop`` then ``start``).
    """

    def __init__(
        self,
        robot_id: str,
        description: RobotDescription,
        world: WorldSpec,
        safety: SafetyConfig | None = None,
        *,
        seed: int = 0,
        control_hz: float = 200.0,
        safety_hz: float = 1000.0,
        world_hz: float = 100.0,
        realtime: bool = True,
        mannequin: tuple[float, float, float] | None = (*MANNEQUIN_AWAY, 0.0),
        startup_timeout_s: float = 60.0,
        stall_timeout_s: float = 0.5,
        skills: DeployedSkills | None = None,
    ) -> None:
        """``mannequin``: (x m, y m, yaw rad) where the simulated person stands (away from the
        robot by default, as for the lock-step agent); ``realtime``: ask the OS for SCHED_FIFO in
        the realtime process (it falls back with a warning); ``stall_timeout_s``: a realtime
        process whose status has not changed for this long is reported as not responding;
        ``skills``: the built-in and deployed learned skills it runs (default: built-in only)."""
        if not control_hz > 0:
            raise ValueError(f"control_hz must be > 0, got {control_hz}")
        self.robot_id = robot_id
        self.description = description
        self.world_spec = world
        self.control_period = 1.0 / control_hz
        self.stall_timeout_s = stall_timeout_s
        self._realtime = realtime
        self.control_priority = "not started"
        """What the OS granted the control thread (see ``elevate_thread``)."""
        velocity_scale, effort_scale = _limit_scales(description)
        safety = safety or SafetyConfig()
        self._config_zones = list(safety.zones)
        self._zone_names = [z.name for z in self._config_zones]
        self._max_zones = safety.max_zones
        # The realtime process compiles the same files; the index and the surfaces come from our
        # own compile of them, and the world channel's digest proves that the two agree.
        model = build_model(description, world)
        self._index = WorldIndex.of(model, description, world)
        self._surfaces = static_surfaces(model, world)
        self._shapes = object_shapes(model, self._index.objects)
        self._scene = scene_model(model, description, world)
        self._mannequin = _standing_pose(world.mannequin, mannequin)
        self.process = RealtimeProcess(
            dict(
                robot=str(description.profile_path),
                world=str(world.path) if world.path is not None else world.name,
                seed=seed,
                safety_hz=safety_hz,
                velocity_scale=velocity_scale,
                effort_scale=effort_scale,
                safety=safety,
                realtime=realtime,
                world_hz=world_hz,
                mannequin=mannequin,
            ),
            description.n_joints,
            startup_timeout_s=startup_timeout_s,
            world_index=self._index,
        )
        self.kinematics = Kinematics(build_model(description), description)
        # Planning a step (IK, seconds on a loaded machine) stops at the next iteration once the
        # plan is cancelled or e-stopped, instead of planning on for a robot told to stop.
        self.kinematics.interrupt = self._planning_interrupted
        # The deployed learned skills join the built-in ones in place: runners see a deployment at once.
        self.catalog = skills.catalog if skills is not None else builtin_catalog()
        self._artifacts = skills.artifact if skills is not None else None
        self.startup_timeout_s = startup_timeout_s
        self.runner: SkillRunner | None = None
        self._link: ExecutiveLink | None = None
        self._control_timing = TimingRecorder("control", self.control_period)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._busy = threading.Lock()
        # Not self._lock: a zone list waits up to ZONES_ANSWER_TIMEOUT_S for its answer, which
        # the control thread must not wait for; this one only keeps two lists' answers apart.
        self._zones_lock = threading.Lock()
        self._cancelled = False
        # What stopped the plan, for the step it stopped: a cancel, or an e-stop (a safety stop).
        self._stop_reason = "cancelled"
        self._reported = 0
        self._dead: str | None = None
        self._last_sample: StateSample | None = None
        self._switch_interval: float | None = None
        self._last_tick = -1
        self._last_tick_seen = math.nan
        self._watchdog = safety.watchdog
        self._resetting_world = False
        self._paused = False
        """While a world reset is laid out: the control thread streams nothing (the old executor
        would command the old pose into the new world; the fresh kernel holds, unarmed)."""

    # ---- lifecycle ----

    def start(self) -> None:
        """Spawn the realtime process, wait for its first tick, start the control thread."""
        if self._thread is not None:
            return
        warm_up(self.catalog)  # before the control thread runs: imports would starve it
        link = self.process.start()
        try:
            self._link = link
            self._dead, self._reported, self._last_tick = None, 0, -1
            self._control_timing = TimingRecorder("control", self.control_period)
            world = ChannelWorldModel(link.channels, self.description, self._index, self._surfaces, self._shapes)
            host = SkillHost(
                description=self.description,
                link=link,
                now=time.monotonic,
                control_period=self.control_period,
                world=world,
                driver_violations=self._driver_violations,
            )
            self.runner = SkillRunner(host, self.kinematics, self.catalog, self._artifacts)
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch_interval, SWITCH_INTERVAL_S))
            self._stop.clear()
            self._thread = threading.Thread(target=self._control_loop, name=f"{self.robot_id}-control", daemon=True)
            self._thread.start()
            self._power_up(link)
        except BaseException:
            self.stop()  # no realtime process (nor its shared memory) outlives a failed start
            raise

    def _power_up(self, link: ExecutiveLink) -> None:
        """Wait for the kernel to take our commands and clear its start-up stop.

        Until the control thread's first command arrives, the realtime process has nobody
        commanding it, and its watchdog does what it must: hold, brake, then latch a protective
        stop (100 ms by default; spawning and attaching can take longer). The robot has not moved
        since it was powered up, so the agent gives the explicit reset that clears that stop,
        once, here: the reset a person would give after switching a robot on."""
        deadline = time.monotonic() + self.startup_timeout_s
        status = link.status()
        while status is None or (status.last_command_seq == 0 and status.segment_seq == 0):
            if time.monotonic() > deadline or self._dead is not None:
                raise TimeoutError(f"the realtime process took no command within {self.startup_timeout_s} s")
            time.sleep(self.control_period)
            status = link.status()
        if status.mode != SafetyMode.RUNNING:
            link.reset()
            while (status := link.status()) is None or status.mode != SafetyMode.RUNNING:
                if time.monotonic() > deadline or self._dead is not None:
                    mode = "no status" if status is None else status.mode.name
                    raise RuntimeError(f"the robot did not come up after its start-up reset ({mode})")
                time.sleep(self.control_period)

    def stop(self) -> None:
        """Stop the control thread and the realtime process (drives off, brakes on) and remove the
        shared memory. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self.process.stop()
        self._link = None
        self.runner = None
        self._last_sample = None  # the next start measures a new robot
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None

    @property
    def fault(self) -> str | None:
        """Why the robot cannot run plans now; None when it can (or has not started)."""
        if self._dead is not None:
            return self._dead
        link = self._link
        if link is None:
            return None
        if not self.process.alive:
            return self._died()
        status = link.status()
        tick = -1 if status is None else status.tick
        now = time.monotonic()
        if tick != self._last_tick:
            self._last_tick, self._last_tick_seen = tick, now
        elif now - self._last_tick_seen > self.stall_timeout_s and not self._resetting_world:
            return f"the realtime process has not ticked for {now - self._last_tick_seen:.2f} s"
        return None

    def _died(self) -> str:
        self._dead = f"the realtime process exited (code {self.process.exitcode}); the robot is stopped"
        return self._dead

    def _control_loop(self) -> None:
        self.control_priority = elevate_thread(CONTROL_PRIORITY) if self._realtime else "normal (not asked)"
        clock = RealtimeClock(self.control_period, realtime=False)
        recorder = self._control_timing
        ticks = 0
        try:
            while not self._stop.is_set():
                info = clock.wait_next()
                with self._lock:
                    # The time is read inside the lock: a skill launched while this tick waited
                    # for the lock started before it, never after. The runner too: a world reset
                    # replaces it.
                    runner = self.runner
                    if runner is None:
                        return
                    if not self._paused:
                        runner.control_tick(clock.now())
                recorder.record(info.start, info.deadline, clock.now())
                if clock.missed:
                    recorder.add_missed(clock.missed)
                    clock.missed = 0
                ticks += 1
                if ticks % HEALTH_EVERY == 0 and not self.process.alive:
                    self._died()
                    with self._lock:
                        runner.executor.cancel()
                    return
        except Exception as exc:  # reported as the robot's fault: nothing commands it any more
            self._dead = f"the control loop stopped: {type(exc).__name__}: {exc}"
            raise
        finally:
            clock.close()

    def _started(self) -> tuple[SkillRunner, ExecutiveLink]:
        if self.runner is None or self._link is None:
            raise AgentNotStartedError(f"robot {self.robot_id} is not running: call start() first")
        return self.runner, self._link

    def _driver_violations(self) -> int:
        link = self._link
        if link is None:
            raise AgentNotStartedError(f"robot {self.robot_id} is not running: call start() first")
        audit = link.channels.status.read_audit()
        return 0 if audit is None else audit.violations  # None: nothing audited yet

    # ---- plans ----

    def execute(
        self, plan: SkillExecutionPlan, on_progress: Callable[[StepProgress], None] | None = None
    ) -> PlanOutcome:
        runner, _ = self._started()
        if not self._busy.acquire(blocking=False):
            raise AgentBusyError(f"robot {self.robot_id} is running another plan")
        try:
            self._cancelled = False
            with announcing_plans(runner, on_progress) as progress:
                return run_steps(plan, self._run_step, time.monotonic, progress, lambda: self._cancelled)
        finally:
            self._busy.release()

    def _run_step(self, skill_id: str, params: dict[str, Any]) -> SkillOutcome:
        runner, link = self._started()
        fault = self.fault
        if fault is None:
            status = link.status()
            if status is not None:
                # A latched stop clears only by an explicit reset: say so now, with its cause,
                # rather than let the step time out against a robot that cannot move.
                fault = refusal(safety_status(status, self._watchdog, runner.executor.activity_at))
        if fault is not None:
            return SkillOutcome(skill=skill_id, params=params, success=False, failure=fault, cause="safety")
        try:
            started = runner.start(skill_id, params, lock=self._lock, cancelled=lambda: self._cancelled)
        except IKInterruptedError as exc:
            cause = "safety" if self._estop_reason() is not None else "skill"
            return SkillOutcome(skill=skill_id, params=params, success=False, failure=str(exc), cause=cause)
        if isinstance(started, SkillOutcome):
            return started
        with self._lock:
            timeout = runner.executor.timeout_s or 0.0
            # A cancel (or e-stop) that came while the step was being planned found nothing
            # running to stop: it stops the step now, instead of letting it play to its end.
            if self._cancelled:
                runner.executor.cancel()
        # The executor times the run out on its ticks; this wait is bounded on the wall clock
        # too, so a step ends even when no tick comes (a wedged control thread).
        deadline = time.monotonic() + timeout + STEP_GRACE_S
        while not self._stop.is_set() and self._dead is None:
            if time.monotonic() > deadline:
                return self._abandon(runner, started.skill.params, skill_id, timeout)
            if self._lock.acquire(timeout=0.1):
                try:
                    if not runner.executor.running:
                        break
                finally:
                    self._lock.release()
            time.sleep(0.01)
        # Settle on the robot's clock (the simulator's time), bounded on the wall clock in case
        # the realtime process stalls.
        state = link.state()
        until = (state.t if state is not None else 0.0) + SETTLE_AFTER_S
        give_up = time.monotonic() + SETTLE_AFTER_S + 2.0
        while not self._stop.is_set() and self._dead is None and time.monotonic() < give_up:
            state = link.state()
            if state is not None and state.t >= until:
                break
            time.sleep(0.01)
        if self._dead is not None or self._stop.is_set():
            with self._lock:
                runner.executor.cancel()
            why = self._dead or "the agent was stopped"
            resolved = dict(started.skill.params)
            return SkillOutcome(skill=skill_id, params=resolved, success=False, failure=why, cause="safety")
        return blamed_on_stop(runner.finish(started, lock=self._lock), self._estop_reason())

    def _abandon(self, runner: SkillRunner, params: dict[str, Any], skill_id: str, timeout: float) -> SkillOutcome:
        """The outcome of a step the control loop did not end within its timeout (plus
        ``STEP_GRACE_S``): stopped here if the lock can be had (the robot holds); else the control
        thread is wedged holding it, and the kernel's watchdog stops the robot once the last
        segment runs out."""
        if self._lock.acquire(timeout=STEP_GRACE_S):
            try:
                runner.executor.cancel()
            finally:
                self._lock.release()
            why = f"no result within {timeout:g} s (the control loop did not end the step)"
        else:
            why = f"no result within {timeout:g} s; the control loop is stuck (the safety kernel stops the robot)"
        return SkillOutcome(skill=skill_id, params=dict(params), success=False, failure=why, cause="timeout")

    def _estop_reason(self) -> str | None:
        """What stopped the running plan when it was an e-stop; None for a cancel or no stop."""
        return self._stop_reason if self._cancelled and self._stop_reason != "cancelled" else None

    def _planning_interrupted(self) -> str | None:
        """Why a step being planned must stop now; None while it may go on."""
        if self._cancelled:
            return f"{self._stop_reason} while the step was planned"
        if self._stop.is_set():
            return "the agent was stopped while the step was planned"
        return self._dead

    def cancel(self) -> bool:
        """Stop the running step where it is (the robot holds) and skip the rest of the plan;
        True when a step or plan was running (one still being planned stops once launched)."""
        runner, _ = self._started()
        if not self._cancelled:
            self._stop_reason = "cancelled"
        self._cancelled = True
        with self._lock:
            return runner.executor.cancel() or self._busy.locked()

    # ---- safety ----

    def estop(self, category: int) -> None:
        if category not in (0, 1, 2):
            raise ValueError(f"e-stop category must be 0, 1 or 2, got {category}")
        runner, link = self._started()
        # Said before the kernel hears it: a step that fails as the kernel brakes blames the stop.
        # The kernel next, without waiting for the agent's lock (a control tick or a step's
        # planning may hold it): the stop must not queue behind the work it stops.
        self._stop_reason = f"stopped by an emergency stop (category {category})"
        self._cancelled = True
        link.estop(category)
        with self._lock:
            runner.executor.cancel()

    def reset(self, posture: bool = False) -> None:
        """The explicit reset that clears an e-stop or a latched protective stop (once the robot is
        still). ``posture``: then bring the arms back to the rest posture (``go_home``); refused
        while a plan runs, and RuntimeError when the kernel did not clear or the motion failed."""
        _, link = self._started()
        with self._lock:
            link.reset()
        if not posture:
            return
        deadline = time.monotonic() + RESET_TIMEOUT_S
        asked = time.monotonic()
        while (status := link.status()) is None or status.mode != SafetyMode.RUNNING:
            if time.monotonic() > deadline or self._dead is not None:
                why = self._dead or self.state().safety
                raise RuntimeError(f"the safety kernel did not clear its stop: {why}")
            if time.monotonic() - asked > RESET_RETRY_S:
                # The kernel drops a reset asked while the robot still brakes: ask again.
                with self._lock:
                    link.reset()
                asked = time.monotonic()
            time.sleep(self.control_period)
        if not self._busy.acquire(blocking=False):
            raise AgentBusyError(f"robot {self.robot_id} is running a plan; it was reset, not moved")
        try:
            self._cancelled = False  # the stop this reset cleared must not stop the rest motion
            outcome = self._run_step(REST_SKILL, {})
        finally:
            self._busy.release()
        if not outcome.success:
            raise RuntimeError(f"reset, but the rest posture failed: {outcome.failure}")

    def reset_world(self, seed: int) -> None:
        """Simulation only: a new world drawn from ``seed`` (objects re-laid, the robot at rest, a
        fresh kernel with the same zones), laid out by the realtime process, which owns the
        simulator; returns once the new world is published, so the next plan (and the world
        snapshot) sees it. Refused while a plan runs (AgentBusyError) or with an e-stop latched
        (RuntimeError); TimeoutError when the realtime process does not answer."""
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        runner, link = self._started()
        mailbox = link.channels.world_reset
        if mailbox is None:
            raise RuntimeError(f"robot {self.robot_id}'s realtime process has no world-reset mailbox")
        if not self._busy.acquire(blocking=False):
            raise AgentBusyError(f"robot {self.robot_id} is running a plan; cancel it before resetting the world")
        # The executive's side of the new world, made before it exists (the world model reads the
        # channel when asked): the control thread is paused only for the swap.
        world = ChannelWorldModel(link.channels, self.description, self._index, self._surfaces, self._shapes)
        host = SkillHost(
            description=self.description,
            link=link,
            now=time.monotonic,
            control_period=self.control_period,
            world=world,
            driver_violations=self._driver_violations,
        )
        fresh = SkillRunner(host, self.kinematics, self.catalog, self._artifacts)
        fresh.watchers = runner.watchers
        fresh.launch_listeners = runner.launch_listeners
        try:
            self._resetting_world = True
            with self._lock:
                # The last segment streamed lasts LOOKAHEAD_S, and the realtime side takes the
                # request within a tick: the old kernel never starves before it is replaced.
                self._paused = True
                request = mailbox.post(seed)
            deadline = time.monotonic() + WORLD_RESET_TIMEOUT_S
            while (answer := mailbox.answer()) is None or answer.request < request:
                if not self.process.alive:
                    raise TimeoutError(f"no answer to the world reset: {self._died()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the realtime process did not reset the world within {WORLD_RESET_TIMEOUT_S} s")
                time.sleep(0.005)
            if not answer.done:
                raise RuntimeError(f"the realtime process refused the world reset: {answer.reason}")
            # The executive starts afresh on the new world: a new executor holds the robot's new
            # (rest) pose, and the world model reads the new layout. The fresh kernel took nothing
            # the old executor streamed: unarmed, it holds until the new executor's first segment.
            self._wait_for_world(world, answer.tick)
            with self._lock:
                runner._drain()
                fresh.events = runner.events  # the link hands each event out once: keep them
                self.runner = fresh
        finally:
            with self._lock:
                self._paused = False
            self._resetting_world = False
            self._busy.release()

    def _wait_for_world(self, world: ChannelWorldModel, tick: int) -> None:
        """Until the world channel carries a publication from the new world (tick >= ``tick``)."""
        deadline = time.monotonic() + WORLD_RESET_TIMEOUT_S
        while world.sample().tick < tick:
            if time.monotonic() > deadline:
                raise TimeoutError("the realtime process reset the world but has not published it")
            time.sleep(0.005)

    @property
    def zone_capacity(self) -> int:
        """Keep-out zones the kernel takes from the server: its capacity less the configured ones."""
        return self._max_zones - len(self._config_zones)

    def set_zones(self, zones: Sequence[BoxZone | HalfSpaceZone]) -> None:
        """Keep-out zones from the server, on top of the configured ones (the floor): the kernel
        replaces its whole set, so both go to the realtime process together, through the zone
        mailbox. Returns once the kernel has taken them (in force from its next tick, a
        millisecond later). Raises ValueError with the realtime side's reason when it refuses them
        (over capacity, invalid), TypeError for what is not a zone, TimeoutError when no answer
        comes within ``ZONES_ANSWER_TIMEOUT_S`` (the realtime process dead or stalled). On a
        refusal the zones in force stay as they were; on a timeout the list stays posted, and a
        stalled realtime process that resumes takes it."""
        _, link = self._started()
        mailbox = link.channels.zones
        if mailbox is None:
            raise RuntimeError(f"robot {self.robot_id}'s realtime process has no zone mailbox")
        with self._zones_lock:
            request = mailbox.post([*self._config_zones, *zones])
            deadline = time.monotonic() + ZONES_ANSWER_TIMEOUT_S
            while (answer := mailbox.answer()) is None or answer.request < request:
                if not self.process.alive:
                    raise TimeoutError(f"no answer to the zones: {self._died()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"the realtime process did not answer the zones within {ZONES_ANSWER_TIMEOUT_S} s "
                        "(stalled?); the list stays posted for it"
                    )
                time.sleep(0.001)
        if answer.request != request:  # only another executive on the same mailbox could do this
            raise RuntimeError(f"zone list {request} was replaced by list {answer.request} before the kernel took it")
        if not answer.applied:
            raise ValueError(f"the safety kernel refused the zones: {answer.reason}")
        self._zone_names = [z.name for z in (*self._config_zones, *zones)]  # the kernel's order, for events

    # ---- state ----

    def state(self) -> RobotStateReport:
        runner, link = self._started()
        sample = self._measured(link)
        status = link.status()
        world = runner.world
        assert isinstance(world, ChannelWorldModel)
        objects = world.sample()  # one publication: every object at one instant
        q, dq = sample.q, sample.dq
        return RobotStateReport(
            robot_id=self.robot_id,
            t=sample.t,
            joint_names=list(self.description.joint_names),
            q=[float(x) for x in q],
            dq=[float(x) for x in dq],
            safety=None if status is None else safety_status(status, self._watchdog, runner.executor.activity_at),
            timing={
                "safety": self.process.timing().model_dump(),
                "control": self._control_timing.snapshot().model_dump(),
            },
            objects=[
                ObjectPose(name=name, pos=objects.pos[i].tolist(), quat=objects.quat[i].tolist())
                for i, name in enumerate(world.object_names())
            ],
            mannequin=self._mannequin,
            busy=self._busy.locked(),
            fault=self.fault,
        )

    def _measured(self, link: ExecutiveLink) -> StateSample:
        """The latest measured state. A read that collided with the realtime process's writes on
        every retry (a loaded machine) gives the last one read, whose ``t`` says how old it is:
        never a state of NaNs, which the server rightly refuses."""
        for _ in range(STATE_READ_ATTEMPTS):
            sample = link.state()
            if sample is not None:
                self._last_sample = sample
                return sample
            if self._last_sample is not None:
                return self._last_sample
            time.sleep(0.001)  # nothing measured yet: the first tick is at most a ms away
        raise RuntimeError(f"robot {self.robot_id} has no measured state: the realtime process writes none")

    def drain_events(self) -> list[SafetyEventReport]:
        """Safety events raised since the last call, oldest first."""
        runner, _ = self._started()
        with self._lock:
            runner._drain()
            new = runner.events[self._reported :]
            self._reported = len(runner.events)
        zones, points = self._zone_names, tuple(self.description.safety_points)
        return [event_report(e, self.description.joint_names, zones, points) for e in new]

    def world_snapshot(self) -> WorldSnapshot:
        runner, _ = self._started()
        return snapshot_from_world_model(runner.world, self.world_spec.name)

    def scene_model(self) -> SceneModel:
        return self._scene


def _limit_scales(description: RobotDescription) -> tuple[float, float]:
    """The (velocity, effort) scales that turn the profile on disk into ``description``: the
    realtime process loads the robot from its profile and must end up with the same limits."""
    base = RobotDescription.load(description.profile_path)
    if base.joint_names != description.joint_names:
        raise ValueError(f"the description of {description.name!r} has other joints than its profile")
    scales = []
    for what, mine, theirs in (
        ("velocity", description.v_max, base.v_max),
        ("effort", description.tau_max, base.tau_max),
    ):
        ratio = mine / theirs
        if not np.allclose(ratio, ratio[0], rtol=1e-9, atol=0.0):
            raise ValueError(
                f"the {what} limits of {description.name!r} are not its profile's scaled by one factor; "
                "the realtime process can only rebuild a description from its profile and two limit scales"
            )
        scales.append(float(ratio[0]))
    for what in ("q_min", "q_max", "a_max", "home"):
        if not np.array_equal(getattr(description, what), getattr(base, what)):
            raise ValueError(
                f"{what} of {description.name!r} differs from its profile's; the realtime process loads the profile"
            )
    return scales[0], scales[1]
