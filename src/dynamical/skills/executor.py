"""The skill executor: tier 1's control loop body, one call per control tick (200 Hz).

It steps the running skill (or the blend of several), plays action chunks with a lead so the
queue never runs dry, and streams a trajectory segment per tick through the ``ExecutiveLink``:
the target for now and samples of the plan ``lookahead`` seconds ahead (positions and
velocities every ``sample_period``), which the realtime side interpolates tick by tick. A late
or starved control tick therefore costs nothing while the last segment lasts; the kernel's
watchdog counts only once it has run out. It always streams something: with no skill running,
or after one failed or was cancelled, it holds (the measured pose once the robot is still), so
the watchdog never fires for a failure the software handled. The kernel still bounds speed,
acceleration and everything else; the executor's job is to ask for smooth motion in the first
place.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from dynamical.robot.description import RobotDescription
from dynamical.runtime.channels import SEGMENT_SAMPLES, StateSample
from dynamical.runtime.link import ExecutiveLink
from dynamical.safety.rules import Rule
from dynamical.skills.chunks import ActionChunk, ChunkQueue, ChunkSource
from dynamical.skills.errors import SkillsError
from dynamical.skills.motion import smoothstep

RunStatus = Literal["running", "succeeded", "failed", "cancelled", "timed_out"]

STILL_SPEED = 0.01
"""rad/s: below this on every joint the robot counts as stopped and a stop's hold is latched."""
LOOKAHEAD_S = 0.5
"""s of plan each trajectory segment reaches past now: how long the control thread may starve
before the robot notices (the realtime side keeps interpolating the plan meanwhile). On a busy
2-core machine (load 20) the executive's Python thread went 0.2-0.3 s without the CPU or the GIL
(planning in the same process) and the watchdog stopped the robot; 0.5 s, with the watchdog's
0.1 s after it, rides that out, fits the trajectory ring (27 of its 32 samples at 20 ms) and
stays under the kernel's ``max_lookahead`` (1 s). A new segment still replaces the one followed
at once: a cancel or a new skill is not delayed by it."""
SAMPLE_PERIOD_S = 0.02
"""s between two samples of a segment (cubic Hermite between them on the realtime side)."""
VELOCITY_STEP_S = 0.005
"""s, the step of the (second-order, forward) difference that gives the plan's velocity at a
sample: a control period, which smooths over the rows of a chunk (piecewise linear)."""
MIN_GAP_S = 0.002
"""s: a grid sample closer than this after now is left out (the sample of now stands for it)."""
ACTIVITY_LOG = 64
"""Activities the executor remembers, to say what it was doing when the robot stopped."""


class ExecutorBusyError(SkillsError, RuntimeError):
    """A skill was started while another one still runs."""


@dataclass(frozen=True)
class SkillContext:
    """What a skill learns when it starts."""

    description: RobotDescription
    t_start: float
    """s, executor clock."""
    q_start: np.ndarray
    """(n,) the target the executor was holding, rad: where the motion starts from."""
    state: StateSample | None
    """The measured state at start (None before the realtime side wrote one)."""
    control_period: float
    """s between two calls of ``step``."""


@dataclass
class SkillStep:
    """One step's output. ``q`` wins over chunks; with neither, the skill's last target holds."""

    q: np.ndarray | None = None
    """(n,) joint position target, rad; only the joints of the skill's groups are used."""
    chunk: ActionChunk | None = None
    """A chunk to play from its ``t0`` on (overrides what is queued from then)."""
    done: bool = False
    failed: str | None = None
    """Why the skill failed; the run stops and the robot holds where it is."""


class Skill(Protocol):
    """A skill the executor can run: scripted, or a policy behind :class:`PolicySkill`.

    A skill may also offer ``preview(t) -> (n,)``: its planned target at a later time ``t``,
    without side effects (no gates checked, no phase advanced). The executor samples it for the
    lookahead of its trajectory segments; a skill without it (or playing chunks) is sampled from
    its chunk queue, else held at its current target."""

    name: str
    groups: tuple[str, ...]
    """The joint groups it drives (its action space)."""

    def start(self, context: SkillContext) -> None: ...

    def step(self, t: float, state: StateSample) -> SkillStep:
        """Called once per control tick with the executor's time ``t`` (s) and the measured state."""
        ...


class PolicySkill:
    """A :class:`ChunkSource` run as a skill: the executor requests chunks ahead of need and
    plays them; the skill is done after ``duration_s`` (None: only cancel or timeout end it)."""

    def __init__(
        self, source: ChunkSource, *, name: str, groups: tuple[str, ...], duration_s: float | None = None
    ) -> None:
        if duration_s is not None and not duration_s > 0:
            raise ValueError(f"duration_s must be > 0 s, got {duration_s}")
        self.source = source
        self.name = name
        self.groups = tuple(groups)
        self.duration_s = duration_s
        self._t_start = 0.0

    def start(self, context: SkillContext) -> None:
        self._t_start = context.t_start

    def step(self, t: float, state: StateSample) -> SkillStep:
        done = self.duration_s is not None and t - self._t_start >= self.duration_s
        return SkillStep(done=done)


class ExecutionReport(BaseModel):
    """How one run went; the executor's boundary towards plan runners, logs and the server."""

    model_config = ConfigDict(frozen=True)

    skill: str
    status: RunStatus
    started_at: float
    """s, executor clock."""
    ended_at: float | None
    duration_s: float
    steps: int
    """Control ticks the skill was stepped."""
    interventions: int
    """Safety kernel interventions during the run."""
    starvations: int
    """Ticks on which a chunk-playing skill had no planned target ahead."""
    max_chunk_latency_s: float | None = None
    """Longest time from a chunk request to its arrival, s (None: no chunk was requested)."""
    failure: str | None = None


class _SkillFailedError(Exception):
    """A skill reported failure (or gave an unusable target) during a step."""


@dataclass
class _Member:
    skill: Skill
    queue: ChunkQueue
    target: np.ndarray
    """(n,) the last target this skill gave."""
    source: ChunkSource | None
    lead_time: float
    requested_at: float | None = None
    fed: bool = False
    done: bool = False


@dataclass
class _Run:
    name: str
    members: list[_Member]
    mask: np.ndarray
    """(n,) bool, joints the run drives; the others hold ``base``."""
    base: np.ndarray
    t_start: float
    timeout_s: float
    interventions_at_start: int
    weights_from: np.ndarray
    weights_to: np.ndarray
    weights_now: np.ndarray
    ramp_start: float | None = None
    steps: int = 0
    starvations: int = 0
    max_latency: float | None = None
    status: RunStatus = "running"
    ended_at: float | None = None
    failure: str | None = None
    interventions: int = 0
    last_t: float = 0.0
    previews: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """Grid index → the run's planned target and velocity (n,) at that time (see
    ``Executor._preview_run``)."""


class Executor:
    """Runs one skill (or one blend) at a time; call :meth:`tick` once per control tick."""

    def __init__(
        self,
        link: ExecutiveLink,
        description: RobotDescription,
        control_period: float = 0.005,
        *,
        expected_latency: float = 0.02,
        lead_time: float | None = None,
        crossfade: float = 0.05,
        weight_ramp: float = 0.1,
        lookahead: float = LOOKAHEAD_S,
        sample_period: float = SAMPLE_PERIOD_S,
    ) -> None:
        """``lead_time`` (s, default 2 × ``expected_latency``): a chunk-playing skill asks for
        its next chunk when less than this (plus ``crossfade``) is left. It is a floor: the executor raises it per
        run to twice the slowest chunk latency it has seen, so a policy slower than expected
        still does not let the queue run dry. ``lookahead`` (s) and ``sample_period`` (s): how far
        each trajectory segment reaches past now, and the spacing of its samples."""
        if not control_period > 0:
            raise ValueError(f"control_period must be > 0 s, got {control_period}")
        if not expected_latency >= 0:
            raise ValueError(f"expected_latency must be >= 0 s, got {expected_latency}")
        self.link = link
        self.description = description
        self.control_period = float(control_period)
        self.lead_time = 2.0 * expected_latency if lead_time is None else float(lead_time)
        if not self.lead_time >= 0:
            raise ValueError(f"lead_time must be >= 0 s, got {self.lead_time}")
        if not (lookahead >= 0 and sample_period > 0):
            raise ValueError(f"need lookahead >= 0 s and sample_period > 0 s, got {lookahead}, {sample_period}")
        samples = math.ceil(lookahead / sample_period) + 2  # now, then the grid through now + lookahead
        if samples > SEGMENT_SAMPLES:
            raise ValueError(
                f"a lookahead of {lookahead} s at {sample_period} s needs {samples} samples a segment; "
                f"the trajectory ring holds {SEGMENT_SAMPLES}"
            )
        self.lookahead = float(lookahead)
        self.sample_period = float(sample_period)
        self._offsets = np.arange(round(lookahead / sample_period) + 1) * self.sample_period  # (k,) s, holds
        self.crossfade = float(crossfade)
        self.weight_ramp = float(weight_ramp)
        self.history: list[ExecutionReport] = []
        self.last_command: np.ndarray | None = None
        """(n,) the target sent on the last tick."""
        self._last_sent_t = -math.inf
        self._run: _Run | None = None
        self._hold: np.ndarray | None = None
        self._stopping = False
        self._stop_latched: np.ndarray | None = None
        self._activity: deque[tuple[float, str]] = deque(maxlen=ACTIVITY_LOG)

    # ---- what it is doing ----

    def activity_at(self, t: float) -> str:
        """What the executor was doing at ``t`` (s, its clock): running a skill, holding after
        one, or holding with none run yet."""
        what = "holding still (no skill run yet)"
        for since, label in self._activity:
            if since > t:
                break
            what = label
        return what

    @property
    def activity(self) -> str:
        """What the executor is doing now."""
        return self._activity[-1][1] if self._activity else "holding still (no skill run yet)"

    def _note(self, t: float, label: str) -> None:
        self._activity.append((t, label))

    # ---- starting and stopping ----

    @property
    def running(self) -> bool:
        return self._run is not None and self._run.status == "running"

    @property
    def timeout_s(self) -> float | None:
        """s, the running skill's timeout (None when none runs): a caller waiting for the run can
        bound its wait by it even when no tick comes to time the run out."""
        run = self._run
        return run.timeout_s if run is not None and run.status == "running" else None

    @property
    def controller(self) -> Callable[[float, ExecutiveLink], None]:
        """This executor as a ``LockstepRuntime.run`` controller."""
        return lambda t, link: self.tick(t)

    def run(self, skill: Skill, timeout_s: float) -> None:
        """Start ``skill``; it runs on the following ticks until done, failed, cancelled or
        ``timeout_s`` seconds have passed."""
        self._start([skill], [1.0], timeout_s, skill.name)

    def run_blend(self, entries: Sequence[tuple[Skill, float]], timeout_s: float, name: str | None = None) -> None:
        """Step every skill and send the weighted average of their targets (a mixture of
        experts). The skills must drive the same joint groups; weights are normalised."""
        if len(entries) < 1:
            raise ValueError("a blend needs at least one skill")
        skills = [skill for skill, _ in entries]
        first = skills[0]
        for other in skills[1:]:
            if set(other.groups) != set(first.groups):
                raise ValueError(
                    f"cannot blend {first.name!r} (groups {sorted(first.groups)}) with {other.name!r} "
                    f"(groups {sorted(other.groups)}): blended skills must drive the same joint groups"
                )
        label = name or "blend(" + ", ".join(s.name for s in skills) + ")"
        self._start(skills, [w for _, w in entries], timeout_s, label)

    def set_weights(self, weights: Sequence[float]) -> None:
        """New blend weights (normalised), reached over ``weight_ramp`` s by a ramp with zero
        slope at both ends, so the blended target's velocity does not step."""
        run = self._run
        if run is None or run.status != "running":
            raise RuntimeError("no skill is running: there are no weights to set")
        new = _normalised(weights, len(run.members))
        run.weights_from, run.weights_to, run.ramp_start = run.weights_now.copy(), new, None

    def cancel(self) -> bool:
        """Stop the running skill and bring the robot to rest where it is; False when none runs."""
        run = self._run
        if run is None or run.status != "running":
            return False
        self._finish(run, "cancelled", self.link.now(), None)
        return True

    def _start(self, skills: list[Skill], weights: Sequence[float], timeout_s: float, name: str) -> None:
        current = self._run
        if current is not None and current.status == "running":
            raise ExecutorBusyError(
                f"skill {current.name!r} is still running (started at t={current.t_start:.3f} s); "
                f"cancel it or wait for it to end before starting {name!r}"
            )
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0 s, got {timeout_s}")
        w = _normalised(weights, len(skills))
        mask = np.zeros(self.description.n_joints, dtype=bool)
        for group in skills[0].groups:
            mask[self.description.group_indices(group)] = True
        if not mask.any():
            raise ValueError(f"skill {name!r} drives no joints: its groups are empty")

        t = self.link.now()
        state = self.link.state()
        base = self._current_hold(state)
        context = SkillContext(self.description, t, base.copy(), state, self.control_period)
        members: list[_Member] = []
        for skill in skills:
            skill.start(context)
            source = skill.source if isinstance(skill, PolicySkill) else None
            members.append(
                _Member(skill, ChunkQueue(base, self.crossfade), base.copy(), source, lead_time=self.lead_time)
            )
        self._stopping, self._stop_latched = False, None
        self._note(t, f"running {name}")
        self._run = _Run(
            name=name,
            members=members,
            mask=mask,
            base=base,
            t_start=t,
            timeout_s=float(timeout_s),
            interventions_at_start=self._interventions(),
            weights_from=w,
            weights_to=w.copy(),
            weights_now=w.copy(),
            last_t=t,
        )

    # ---- the control tick ----

    def tick(self, t: float) -> None:
        """One control tick at time ``t`` (s): step the skill and stream exactly one segment."""
        state = self.link.state()
        hold = self._current_hold(state)
        run = self._run
        if run is not None and run.status == "running":
            q = self._step_run(run, t, state)
            if q is not None:
                # Also on the tick a run succeeds: its plan ahead carries the motion of now into
                # the next tick, which then streams the hold.
                ahead = None if state is None else self._preview_run(run, t)
                self._stream(t, q, ahead)
                return
        self._stream(t, self._stop_target(state) if self._stopping else hold, None)

    def _stream(self, t: float, q: np.ndarray, ahead: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> None:
        """Send the segment from ``q`` (n,) at ``t``: with ``ahead`` (sample times (k,) s, the
        plan's targets (k+1, n) and velocities (k+1, n) at now and those times) the plan; None:
        hold ``q`` with zero velocity."""
        if ahead is None:  # a hold
            times = t + self._offsets
            points = np.broadcast_to(q, (len(times), len(q)))
            velocities = np.zeros_like(points)
        else:
            times = np.concatenate([[t], ahead[0]])
            points = np.vstack([q[None, :], ahead[1][1:]])
            velocities = ahead[2]
            # Inside the joint ranges, never moving outward at a range's end: the sample of now,
            # interpolated between two grid samples, undershoots a motion that starts gently
            # from a joint's stop (the rest pose's fingers), and the kernel would refuse the push.
            lo, hi = self.description.q_min, self.description.q_max
            points = np.clip(points, lo, hi)
            velocities = np.where(
                ((points <= lo) & (velocities < 0.0)) | ((points >= hi) & (velocities > 0.0)), 0.0, velocities
            )
        self.link.send_trajectory(times, points, velocities)
        self.last_command = q.copy()
        self._last_sent_t = t

    def _preview_run(self, run: _Run, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The run's plan ahead of ``t``: sample times (k,) s, then targets and velocities (k+1, n)
        at ``t`` and at those times; None when nothing ahead is known (the robot then holds the
        target of now).

        Velocities are the plan's own (differences over ``VELOCITY_STEP_S``), so that two
        consecutive segments agree where they meet. The samples lie on a fixed grid of
        ``sample_period`` (from ``MIN_GAP_S`` after now, through at least ``lookahead`` ahead):
        consecutive ticks share most of them, and a grid sample is computed once per run while
        the plan ahead cannot have changed (no new chunk, no weight ramp under way)."""
        if any(getattr(m.skill, "preview", None) is None and m.queue.empty for m in run.members):
            # A skill that shows nothing of its plan gets no lookahead: the sample of now, with
            # the velocity of its last two targets (what single targets at 200 Hz gave the kernel).
            now = self._plan_at(run, t)
            last, since = self.last_command, self._last_sent_t
            velocity = np.zeros_like(now) if last is None or not t > since else (now - last) / (t - since)
            return np.empty(0), now[None, :], velocity[None, :]
        period = self.sample_period
        first = math.floor((t + MIN_GAP_S) / period) + 1
        last = math.ceil((t + self.lookahead) / period)
        # A policy's plan ends with its last chunk: sampling past it would plan a stop that the
        # next chunk then takes back. The segment ends where the chunks do (shorter lookahead).
        known = min(
            (m.queue.end_time for m in run.members if getattr(m.skill, "preview", None) is None and not m.queue.empty),
            default=math.inf,
        )
        if known < math.inf:
            last = min(last, math.floor((known - 2.0 * VELOCITY_STEP_S) / period))
        last = max(last, first - 1)  # none ahead: the segment is the sample of now alone
        if not np.array_equal(run.weights_now, run.weights_to):
            run.previews.clear()  # the blend is still ramping: what was computed is stale
        cache = run.previews
        below = math.floor(t / period)  # the grid sample at or before now
        for key in [k for k in cache if k < below]:
            del cache[key]
        n = len(run.base)
        count = last - first + 2
        rows, rates = np.empty((count, n)), np.empty((count, n))
        for i, k in enumerate(range(first, last + 1), start=1):
            sample = self._grid_sample(run, k)
            if sample is None:
                return None
            rows[i], rates[i] = sample
        if known < math.inf:
            # A chunk queue cannot be asked about the past: the plan's velocity at now, directly.
            now = self._plan_sample(run, t)
        else:
            # A timed plan: its velocity at now from the grid samples around now (cached), as the
            # kernel interpolates them; no extra preview, and the same velocity the previous
            # segment gave this instant.
            before, after = self._grid_sample(run, below), self._grid_sample(run, below + 1)
            now = None if before is None or after is None else _hermite(t, below * period, period, before, after)
        if now is None:
            return None
        rows[0], rates[0] = now
        return np.arange(first, last + 1) * period, rows, rates

    def _grid_sample(self, run: _Run, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The run's plan (target, velocity) at grid time ``k`` × ``sample_period``, computed once."""
        sample = run.previews.get(k)
        if sample is None:
            sample = self._plan_sample(run, k * self.sample_period)
            if sample is not None:
                run.previews[k] = sample
        return sample

    def _plan_sample(self, run: _Run, t: float) -> tuple[np.ndarray, np.ndarray] | None:
        """The run's planned target (n,) and velocity (n,) at ``t``; None when a preview is not
        finite (a plan gone wrong must not reach the kernel)."""
        exact = self._plan_velocity(run, t)
        if exact is not None:  # timed plans know their velocity: no difference smooths a switch
            at, velocity = self._plan_at(run, t), exact
        else:
            h = VELOCITY_STEP_S
            # Forward differences (second order): a plan is asked about now and later only (a
            # chunk queue has dropped what no longer shows before now).
            at, ahead, further = (self._plan_at(run, t + d) for d in (0.0, h, 2.0 * h))
            velocity = (4.0 * ahead - 3.0 * at - further) / (2.0 * h)
        if not (np.isfinite(at).all() and np.isfinite(velocity).all()):
            return None
        return at, velocity

    def _plan_velocity(self, run: _Run, t: float) -> np.ndarray | None:
        """(n,) the run's planned velocity at ``t`` when every skill gives its own
        (``preview_velocity(t) -> (n,)``, as timed scripted plans do); else None."""
        previews = [getattr(m.skill, "preview_velocity", None) for m in run.members]
        if any(p is None for p in previews):
            return None
        velocity = np.zeros(len(run.base))
        rates = np.stack([np.asarray(p(t), dtype=float) for p in previews])
        velocity[run.mask] = np.einsum("k,kj->j", run.weights_now, rates[:, run.mask])
        return velocity

    def _plan_at(self, run: _Run, t: float) -> np.ndarray:
        """(n,) the run's planned target at ``t`` (the blend of its members' previews)."""
        targets = []
        for m in run.members:
            preview = getattr(m.skill, "preview", None)
            if preview is not None:
                target = np.asarray(preview(t), dtype=float)
            elif not m.queue.empty:
                target = m.queue.preview(t)
            else:
                target = m.target
            targets.append(target)
        q = run.base.copy()
        q[run.mask] = np.einsum("k,kj->j", run.weights_now, np.stack(targets)[:, run.mask])
        return q

    def _step_run(self, run: _Run, t: float, state: StateSample | None) -> np.ndarray | None:
        """The run's target for ``t``, or None when it just ended without one."""
        run.last_t = t
        if t - run.t_start >= run.timeout_s:
            self._finish(run, "timed_out", t, f"no result within {run.timeout_s:g} s")
            return None
        if state is None:  # the realtime side has not measured anything yet
            return run.base.copy()
        stopped = self._latched_stop()
        if stopped is not None:  # the robot cannot follow the plan any more: the run has failed
            self._finish(run, "failed", t, stopped)
            return None
        try:
            targets = [self._member_target(run, m, t, state) for m in run.members]
        except _SkillFailedError as exc:
            self._finish(run, "failed", t, str(exc))
            return None
        except Exception as exc:  # a skill's bug must not take the control loop down with it
            self._finish(run, "failed", t, f"{type(exc).__name__}: {exc}")
            return None
        weights = self._weights(run, t)
        q = run.base.copy()
        q[run.mask] = np.einsum("k,kj->j", weights, np.stack(targets)[:, run.mask])
        run.steps += 1
        if all(m.done for m in run.members):
            self._hold = q.copy()
            self._finish(run, "succeeded", t, None)
        return q

    def _member_target(self, run: _Run, m: _Member, t: float, state: StateSample) -> np.ndarray:
        if m.done:
            return m.target
        if m.source is not None:
            chunk = m.source.poll()
            if chunk is not None:
                self._accept_chunk(run, m, chunk, t)
        step = m.skill.step(t, state)
        if step.failed is not None:
            raise _SkillFailedError(f"{m.skill.name}: {step.failed}")
        if step.chunk is not None:
            self._accept_chunk(run, m, step.chunk, t)
        # Ask with the crossfade to spare: a chunk that lands before the old one ends fades in
        # from a plan, not from the old chunk's held last row.
        if m.source is not None and m.requested_at is None and m.queue.remaining(t) <= m.lead_time + self.crossfade:
            m.source.request(t, state)
            m.requested_at = t

        if step.q is not None:
            q = np.asarray(step.q, dtype=float)
            if q.shape != m.target.shape or not np.isfinite(q[run.mask]).all():
                shape = m.target.shape
                raise _SkillFailedError(f"{m.skill.name}: target must be finite with shape {shape}, got {q.shape}")
            target = run.base.copy()
            target[run.mask] = q[run.mask]
        elif not m.queue.empty:
            target = m.queue.target(t)
            target[~run.mask] = run.base[~run.mask]
            # Half a tick of slack: a chunk's last row landing on this tick is still a plan.
            if m.fed and not step.done and t > m.queue.end_time + 0.5 * self.control_period:
                run.starvations += 1
        else:
            target = m.target
        m.target, m.done = target, step.done
        return target

    def _accept_chunk(self, run: _Run, m: _Member, chunk: ActionChunk, t: float) -> None:
        m.queue.push(chunk, now=t)
        run.previews.clear()  # the plan ahead changed
        m.fed = True
        if m.requested_at is not None:
            latency = t - m.requested_at
            run.max_latency = latency if run.max_latency is None else max(run.max_latency, latency)
            m.lead_time = max(m.lead_time, 2.0 * latency)
            m.requested_at = None

    def _weights(self, run: _Run, t: float) -> np.ndarray:
        if run.ramp_start is None:
            run.ramp_start = t
        a = 1.0 if self.weight_ramp <= 0 else smoothstep((t - run.ramp_start) / self.weight_ramp)
        run.weights_now = (1.0 - a) * run.weights_from + a * run.weights_to
        return run.weights_now

    def _stop_target(self, state: StateSample | None) -> np.ndarray:
        # Follow the measured position (velocity target zero) while the kernel decelerates the
        # robot, then latch it once still: holding the measurement for ever would let the arm
        # creep down by the drives' steady-state sag, one tick at a time.
        if self._stop_latched is not None or state is None:
            return self._current_hold(state)
        target = self._inside(state.q)
        if np.abs(state.dq).max() < STILL_SPEED:
            self._stop_latched = target
        self._hold = target
        return target.copy()

    def _finish(self, run: _Run, status: RunStatus, t: float, failure: str | None) -> None:
        run.status, run.ended_at, run.failure = status, t, failure
        run.interventions = self._interventions() - run.interventions_at_start
        if status != "succeeded":
            # Hold the measured pose (once still) and keep streaming it: the robot stays under
            # command, so the kernel's watchdog never fires for a failure handled here.
            self._stopping, self._stop_latched = True, None
        why = {"succeeded": "succeeded", "cancelled": "was cancelled", "timed_out": "timed out"}.get(
            status, f"failed ({failure})"
        )
        self._note(t, f"holding after {run.name} {why}")
        self.history.append(self._report(run))

    # ---- helpers ----

    @property
    def report(self) -> ExecutionReport | None:
        """The running run's report so far, else the last finished one (None before any run)."""
        return None if self._run is None else self._report(self._run)

    def _report(self, run: _Run) -> ExecutionReport:
        end = run.ended_at if run.ended_at is not None else run.last_t
        interventions = (
            run.interventions if run.ended_at is not None else self._interventions() - run.interventions_at_start
        )
        return ExecutionReport(
            skill=run.name,
            status=run.status,
            started_at=run.t_start,
            ended_at=run.ended_at,
            duration_s=max(end - run.t_start, 0.0),
            steps=run.steps,
            interventions=interventions,
            starvations=run.starvations,
            max_chunk_latency_s=run.max_latency,
            failure=run.failure,
        )

    def _current_hold(self, state: StateSample | None) -> np.ndarray:
        if self._hold is None:
            self._hold = self._inside(state.q) if state is not None else self.description.home.copy()
        return self._hold.copy()

    def _inside(self, q: np.ndarray) -> np.ndarray:
        """(n,) measured positions ``q`` as a target: inside the joint ranges. A joint resting on
        its stop (the rest pose's fingers) measures a hair past it; the kernel keeps its command
        inside the range, so holding the measurement would ask it to push outward, a
        POSITION_LIMIT event on the first tick of the next motion."""
        return np.clip(q, self.description.q_min, self.description.q_max)

    def _latched_stop(self) -> str | None:
        """Why the kernel latched a stop the run cannot ride out (an e-stop, or the watchdog's
        protective stop, which only a reset clears); None when it did not."""
        status = self.link.status()
        if status is None:
            return None
        if status.estop_category >= 0:
            return "the robot was emergency-stopped"
        if status.stop_rule == Rule.WATCHDOG_PROTECTIVE_STOP:
            return "the safety kernel latched a protective stop (the trajectory ran out)"
        return None

    def _interventions(self) -> int:
        status = self.link.status()
        return 0 if status is None else int(status.interventions)


def _hermite(
    t: float, t0: float, h: float, start: tuple[np.ndarray, np.ndarray], end: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Position and velocity (n,) at ``t`` of the cubic Hermite from ``start`` (q, dq at ``t0``)
    to ``end`` (at ``t0 + h``): what the kernel's interpolation gives between the two samples."""
    (p0, m0), (p1, m1) = start, end
    s = (t - t0) / h
    s2, s3 = s * s, s * s * s
    q = (2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * h * m0 + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * h * m1
    dq = (6 * s2 - 6 * s) / h * p0 + (3 * s2 - 4 * s + 1) * m0 + (-6 * s2 + 6 * s) / h * p1 + (3 * s2 - 2 * s) * m1
    return q, dq


def _normalised(weights: Sequence[float], count: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if w.shape != (count,):
        raise ValueError(f"need {count} weights, got {w.size}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"weights must be finite and non-negative, got {w.tolist()}")
    total = w.sum()
    if not total > 0:
        raise ValueError("weights must not all be zero")
    return w / total
