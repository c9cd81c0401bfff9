"""The safety kernel: every command to the driver passes through ``SafetyKernel.tick``.

Order inside one tick (1 kHz):

1. validate the newest command: shape, finite values, timestamp, age. A command is a single
   target (the command ring) or, as the executive streams them, a trajectory segment (the
   trajectory ring): a segment is checked whole when it arrives, then sampled at every tick
   (cubic Hermite, ``trajectory.sample_segment``), and each sample is taken in as a new command
   until the segment runs out; from then on the watchdog counts, so it measures the trajectory
   running out, not one late message;
2. decide the mode: e-stop, watchdog, separation stop, or track the command;
3. filter: the smallest change to the commanded motion that keeps joint position (with room to
   brake), velocity, acceleration and effort limits, keep-out zones and speed toward people
   (a QP solved with DAQP);
4. runtime assurance: if the filter has no solution or its output leaves the recoverable set,
   the braking controller takes over; it hands back with hysteresis;
5. the independent hard-limit check: a command that still violates a limit becomes a hold;
6. every intervention becomes an event (on its first tick, with the command before and after).

Both schedulers (the realtime process and the lock-step runner) call this same object.

The arithmetic runs in one compiled call a tick, ``tick_step.tick_step`` (kinematics,
separation, filter, and the independent check when the filter's command is the one sent), plus
``intake.take_command`` when a command arrives and the check alone when braking or holding; the
state machines (watchdog, e-stop, assurance hysteresis) and the events stay in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.robot.protocol import JointCommand, RobotState
from dynamical.safety.assurance import Supervisor, braking_step
from dynamical.safety.config import BoxZone, HalfSpaceZone, SafetyConfig
from dynamical.safety.estop import EStop
from dynamical.safety.filter_workspace import filter_workspace
from dynamical.safety.hard_check import HardLimitCheck, StagedZones, Violation
from dynamical.safety.intake import NOT_GIVEN, Target, first_non_finite, take_command
from dynamical.safety.kinematics import PointKinematics
from dynamical.safety.limits import JointLimits
from dynamical.safety.qp_filter import QPFilter
from dynamical.safety.rules import EventSink, Rule, SafetyMode
from dynamical.safety.separation import Person, persons_array
from dynamical.safety.tick_step import tick_step
from dynamical.safety.trajectory import (
    SEGMENT_NON_FINITE,
    SEGMENT_OK,
    IncomingSegment,
    Segment,
    check_segment,
    sample_segment,
)
from dynamical.safety.watchdog import Watchdog, WatchdogPhase
from dynamical.safety.zones import INACTIVE, ZoneSet, inactive_rows

STILL = 1e-9  # rad/s: below this every joint counts as stopped
REARM_TICKS = 50  # a rule idle this long raises a new event when it intervenes again


class IncomingCommand(Protocol):
    """A command as the command ring delivers it (timestamps on the kernel's clock)."""

    seq: int
    t: float
    q: np.ndarray
    dq: np.ndarray | None
    tau: np.ndarray | None


@dataclass(slots=True)
class KernelOutput:
    command: JointCommand
    """What the driver receives this tick."""
    power_on: bool
    mode: SafetyMode
    reason: Rule
    """The rule that shaped this tick's command most (NONE when the command passed unchanged)."""
    speed_scale: float
    separation: float
    protective_distance: float
    estop_category: int
    protective_stop: bool
    interventions: int
    """Events raised so far."""
    lookahead: float = float("nan")
    """s of trajectory segment left ahead of this tick (negative: how long ago it ran out);
    NaN when the kernel follows single commands, or nothing."""


class SafetyKernel:
    """One robot's safety kernel. Not thread-safe: one tick at a time, from one loop."""

    def __init__(
        self,
        description: RobotDescription,
        config: SafetyConfig,
        filter_points: PointKinematics,
        check_points: PointKinematics,
        events: EventSink,
        dt: float,
    ) -> None:
        if filter_points is check_points:
            raise ValueError("the hard-limit check needs its own kinematics instance")
        self.description = description
        self.config = config
        self.limits = JointLimits.of(description)
        lim = self.limits
        self._limits_tuple = (lim.q_min, lim.q_max, lim.v_max, lim.a_max, lim.tau_max, lim.kp, lim.kv)
        self.dt = dt
        self.points = filter_points
        self.events = events
        n, k = description.n_joints, len(filter_points.names)
        self._k = k
        # Room for config.max_zones zones, of which the first len(zones) are active: the QP keeps
        # its dimensions when zones change at run time (``set_zones``).
        self.zones = ZoneSet(config.zones, config.max_zones)
        self._zone_arrays = self.zones.arrays
        self._coupled = np.asarray(filter_points.coupled, dtype=np.int64)
        m, m_zone = len(self._coupled), config.max_zones * k
        self.qp = QPFilter(m, m_ge=m_zone, m_le=k)
        # Buffers the compiled steps fill every tick (no allocation in the loop).
        self._bounds, self._rules = np.zeros((2, n)), np.zeros((2, n), dtype=np.int64)
        self._v_clip = np.zeros(n)
        self._qp_v_des, self._qp_lower, self._qp_upper = np.zeros(m), np.zeros(m), np.zeros(m)
        self._zone_a, self._zone_b, self._zone_room = np.zeros((m_zone, m)), np.zeros(m_zone), np.zeros(m_zone)
        self._zone_buffers = (self._zone_a, self._zone_b, self._zone_room)
        self._sep_a, self._sep_b = np.zeros((k, m)), np.zeros(k)
        self._toward = 0.0
        self._directions = np.zeros((k, 3))
        self._v_des, self._tau = np.zeros(n), np.zeros(n)
        self._changed = np.zeros(n, dtype=np.bool_)
        self._found = np.zeros((max(Rule) + 1, 4))
        inactive_rows(len(self.zones) * k, self._zone_a, self._zone_b, self._zone_room, INACTIVE)
        self._buffers = (
            self._v_des, self._tau, self._bounds, self._rules, self._v_clip, self._qp_v_des, self._qp_lower,
            self._qp_upper, self._zone_a, self._zone_b, self._zone_room, self._sep_a, self._sep_b,
        )  # fmt: skip
        self._no_persons = np.zeros((0, 7))
        # Shared zeros for "no motion": never written to. (Not flagged read-only: numba compiles
        # a separate, slow-to-load variant of every step for read-only arrays.)
        self._zero = np.zeros(n)
        # S_p's terms folded once: allowed speed = (S - static) / (T_r + T_s/2).
        ssm = config.separation
        self._static_distance = ssm.static_distance()
        self._speed_time = ssm.reaction_time + ssm.stopping_time / 2
        self._resume_margin = ssm.resume_margin
        self._max_cartesian_speed = ssm.max_cartesian_speed
        self._separation_enabled = ssm.enabled
        # Plain floats for the hot path (pydantic attribute chains cost microseconds at 1 kHz).
        assurance = config.assurance
        self._time_constant = assurance.tracking_time_constant
        self._zone_margin = assurance.zone_margin
        self._deceleration = assurance.cartesian_deceleration
        self._handback_margin = assurance.handback_margin
        self._max_horizon = 2 * config.watchdog.max_command_age
        self.check = HardLimitCheck(
            description.q_min,
            description.q_max,
            description.v_max,
            description.a_max,
            description.tau_max,
            check_points,
            config.zones,
            dt,
            config.assurance.tolerance,
            capacity=config.max_zones,
        )
        chain = filter_points.chain
        self._workspace = filter_workspace(
            self._limits_tuple, self._zone_arrays, self._buffers, self.qp.arrays, self.qp.addresses, self._changed,
            self._found, self._coupled, np.asarray(filter_points.radii, dtype=float), self._directions,
            chain.arrays, chain.frames, chain.axes, chain.positions, chain.jacobians, dt, self._time_constant,
            self._zone_margin, self._deceleration, self._handback_margin, self._static_distance, self._resume_margin,
            self._speed_time, self._max_cartesian_speed, self.check.workspace,
        )  # fmt: skip
        self.supervisor = Supervisor(config.assurance.handback_ticks)
        self.watchdog = Watchdog(config.watchdog)
        self.estop = EStop()
        self.q_ref = description.home.copy()
        self.v_ref = np.zeros(n)
        self.check.rebaseline(self.q_ref)
        # Two target buffers: a new command is taken into the one not in use.
        self._targets = (Target.empty(n), Target.empty(n))
        self._target: Target | None = None
        self._n, self._shape = n, (n,)
        self._max_clock_skew = config.watchdog.max_clock_skew
        self._max_command_age = config.watchdog.max_command_age
        self._last_seq = 0
        self._segment: Segment | None = None
        self._last_segment_seq = 0
        self._max_lookahead = config.watchdog.max_lookahead
        self.stop_rule = Rule.NONE
        """What latched the stop in force (watchdog, separation, e-stop); NONE when none is."""
        self.stop_t = float("nan")
        """s, when it latched; NaN when no stop is in force."""
        self.stop_tick = -1
        self._separation_stop = False
        # Zone updates: set_zones stores the newest here (any thread); the tick applies it at its
        # start and records it as applied. Each field has one writer, so no update is lost.
        self._pending_zones: _ZoneUpdate | None = None
        self._applied_zones: _ZoneUpdate | None = None
        # Per rule code, the last tick it intervened (None: never). A list: IntEnum keys hash in Python.
        self._last_active: list[int | None] = [None] * len(Rule)
        self.interventions = 0
        self._t = 0.0
        self._tick = 0

    def warm_up(self) -> None:
        """Load every compiled step once, so that no first call (a cache load of up to hundreds
        of ms) lands inside the 1 kHz loop: braking, the filter, the check, the classifier.
        Works on copies and scratch buffers; the kernel's state is unchanged."""
        lim, n = self.limits, self.description.n_joints
        braking_step(self.q_ref.copy(), self.v_ref.copy(), lim.q_min, lim.q_max, lim.a_max, self.dt)
        people = persons_array([Person(base=np.array([5.0, 5.0, 0.0]), top=np.array([5.0, 5.0, 1.8]))])
        zeros = np.zeros(n)
        # The workspace's buffers are scratch, refilled every tick (kinematics and directions by
        # ``observe``, ``found`` by the classifier); the QP's warm start is cleared after.
        # Not nominal: the check, loaded with the rest of tick_step, does not run (its clearances
        # stay as they are); check.warm_up below runs it on copies.
        tick_step(
            self._workspace, self.q_ref.copy(), zeros, people, True, False, False, self.q_ref, zeros, self.q_ref,
            zeros, zeros, 0.0, True, True, np.empty(n), np.empty(n),
        )  # fmt: skip
        self.qp.lam[:] = 0.0
        # What a zone update runs at a tick's start: the same zones again, onto themselves.
        self.zones.assign(ZoneSet(self.zones.zones, self.zones.capacity), self._zone_buffers, self.qp.lam)
        self.check.warm_up(self.q_ref.copy())
        take_command(zeros, NOT_GIVEN, NOT_GIVEN, 0.0, zeros, np.nan, zeros.copy(), zeros.copy(), zeros.copy())
        first_non_finite(zeros)
        times, rows = np.array([0.0, 0.1]), np.zeros((2, n))
        check_segment(times, rows, rows)
        sample_segment(times, rows, rows, 0.05, np.empty(n), np.empty(n))

    @property
    def last_command_seq(self) -> int:
        """Sequence number of the newest command the kernel has seen (valid or not)."""
        return self._last_seq

    @property
    def last_segment_seq(self) -> int:
        """Sequence number of the newest trajectory segment the kernel has seen (valid or not)."""
        return self._last_segment_seq

    # ---- requests from outside the loop (they take effect at the next tick) ----

    def start(self, state: RobotState) -> None:
        """Take the measured pose as the reference; nothing moves until a command arrives."""
        self.q_ref = np.minimum(np.maximum(state.q, self.limits.q_min), self.limits.q_max)
        self.v_ref = np.zeros_like(self.q_ref)
        self._target = None
        self._segment = None
        self.check.rebaseline(self.q_ref)  # the zone clearances of this pose are the reference

    def skip_published(self, command_seq: int, segment_seq: int) -> None:
        """Take only commands and segments published after these sequence numbers: a kernel that
        replaces another (a new simulated world) must not follow what was meant for the old one."""
        self._last_seq = max(self._last_seq, command_seq)
        self._last_segment_seq = max(self._last_segment_seq, segment_seq)

    def request_estop(self, category: int, t: float) -> None:
        if self.estop.trigger(category, t):
            self.supervisor.force()
            self._latch_stop(Rule.ESTOP)
            self._event(Rule.ESTOP, -1, float(category), 0.0, self.q_ref, self.q_ref)

    def request_reset(self, state: RobotState) -> bool:
        """Clear an e-stop or a latched protective stop, only once the robot is still.

        Motion resumes only with a command newer than the reset."""
        if (np.abs(self.v_ref) > STILL).any() or (np.abs(state.dq) > 0.05).any():
            return False
        self.estop.reset()
        self.watchdog.reset()
        self.supervisor = Supervisor(self.config.assurance.handback_ticks)
        self.start(state)
        self.stop_rule, self.stop_t, self.stop_tick = Rule.NONE, float("nan"), -1
        if self._separation_stop:  # a person still too close: that stop stays in force
            self._latch_stop(Rule.SEPARATION_STOP)
        self._event(Rule.RESET, -1, 0.0, 0.0, self.q_ref, self.q_ref)
        return True

    def set_zones(self, zones: Sequence[BoxZone | HalfSpaceZone]) -> None:
        """Replace the keep-out zones (all of them: config's included) from the next tick on.

        Validated and prepared here (the allocation happens in this call, not in the loop); the
        next tick copies them in at its start, so every tick runs wholly on the old or wholly on
        the new set, for the filter and the independent check alike. Safe from another thread
        than the loop's. Nothing else changes: stops stay latched, the watchdog, the braking
        hysteresis and the events go on. A zone that already contains a safety point is handled
        as any zone the robot is in: it may move out, never deeper (the filter's rows, braking
        if the filter cannot, the check's hold). Raises ValueError for invalid zones or more
        than ``config.max_zones``; the zones in force stay as they were."""
        checked = _validated_zones(zones, self.zones.capacity)
        update = _ZoneUpdate(checked, ZoneSet(checked, self.zones.capacity), self.check.stage_zones(checked))
        self._pending_zones = update  # one reference store: the tick sees the whole update or none

    def _apply_zones(self, update: _ZoneUpdate) -> None:
        """At the start of a tick: copy the staged zones into the arrays the compiled steps hold."""
        self.zones.assign(update.filter, self._zone_buffers, self.qp.lam)
        self.check.apply_zones(update.check, self.q_ref)  # baseline: the last command sent
        self._applied_zones = update
        count, capacity = float(len(update.zones)), float(self.zones.capacity)
        self._event(Rule.ZONES_CHANGED, -1, count, capacity, self.q_ref, self.q_ref)

    # ---- the tick ----

    def tick(
        self,
        t: float,
        tick: int,
        state: RobotState,
        command: IncomingCommand | None,
        persons: np.ndarray | Sequence[Person] = (),
        segment: IncomingSegment | None = None,
    ) -> KernelOutput:
        """One tick. ``command``: the newest single command, ``segment``: the newest trajectory
        segment (either may be None; of two new ones the later sent wins). ``persons``: an (m, 7)
        array (see ``persons_array``) or Person objects."""
        # Written for the common case (a running robot, nothing to report): at 1 kHz, with the
        # cache cold after the physics step, each Python line costs a fraction of a µs.
        self._t, self._tick = t, tick
        pending = self._pending_zones
        if pending is not self._applied_zones:
            self._apply_zones(pending)
        got_command = self._accept(command, t)
        if segment is not None and segment.seq > self._last_segment_seq:
            newer = not got_command or float(segment.sent) >= float(command.t)  # type: ignore[union-attr]
            if self._accept_segment(segment, t) and not newer:
                self._segment = None  # the single command was sent after it: it supersedes it
        elif got_command:
            self._segment = None  # a single command supersedes the trajectory
        lookahead = float("nan")
        playing = self._segment
        if playing is not None:
            lookahead = playing.end - t
            got_command = self._play(playing, t) or got_command
        phase = self.watchdog.tick(got_command)
        if phase is not WatchdogPhase.OK:
            self._watchdog_events(phase)

        if not self._separation_enabled or len(persons) == 0:
            people = self._no_persons
        else:
            people = persons if isinstance(persons, np.ndarray) else persons_array(persons)
        estop, target = self.estop, self._target
        if target is None:
            target_q = target_dq = target_tau = self._zero
            horizon = 0.0
        else:
            target_q, target_dq, target_tau = target.q, target.dq, target.tau
            horizon = min(max(t - target.t, 0.0), self._max_horizon) if phase is WatchdogPhase.OK else 0.0
        # Kinematics at q_ref (into self.points' buffers), the nearest person, the separation stop
        # and, unless the robot must brake anyway, the filter: one compiled call.
        q, v = np.empty(self._n), np.empty(self._n)  # new arrays: the driver keeps each tick's command
        (
            distance, separation_stop, speed_scale, filtered, feasible, tau_clipped, ok, exitflag,
            any_changed, safe, safe_margin, toward, checked, code, index, value, limit,
        ) = tick_step(
            self._workspace, self.q_ref, self.v_ref, people, estop.category < 0 and phase not in _FORCING_PHASES,
            self._separation_stop, not self.supervisor.braking, state.q, state.dq, target_q, target_dq, target_tau,
            horizon, phase is WatchdogPhase.OK, target is not None, q, v,
        )  # fmt: skip
        filtered_q = q
        if separation_stop != self._separation_stop:
            self._separation_events(separation_stop, distance)

        reason = Rule.NONE
        tau = self._zero
        if estop.category == 1 and (np.abs(self.v_ref) <= STILL).all() and estop.stopped():
            # category 1: stopped by the last command, now power off
            self._event(Rule.ESTOP_POWER_OFF, -1, 1.0, 0.0, self.q_ref, self.q_ref)
        off = estop.category >= 0 and not estop.power_on
        if off:
            q, v = self.q_ref, self._zero  # brakes hold; the drive is off
            mode = SafetyMode.ESTOP
        elif not filtered:  # e-stop, watchdog or separation stop: brake
            lim = self.limits
            q, v = braking_step(self.q_ref, self.v_ref, lim.q_min, lim.q_max, lim.a_max, self.dt)
            mode = SafetyMode.ESTOP if estop.category >= 0 else SafetyMode.PROTECTIVE_STOP
            if phase == WatchdogPhase.DECELERATE:
                mode = SafetyMode.BRAKING
        else:
            self._toward = toward
            q, v, tau, reason, mode = self._filtered(
                q, v, phase, feasible, tau_clipped, ok, exitflag, any_changed, safe, safe_margin
            )

        if not off:  # the independent check (with the power off, the brakes hold)
            if checked and q is filtered_q:  # already run, inside tick_step, on this very command
                violation = self.check.violation(code, index, value, limit)
            else:
                violation = self.check.check(q, v, tau, self.v_ref)
            if violation is not None:
                q, v, tau, reason = self._hold(violation, q)
        self.q_ref, self.v_ref = q, v
        # q, v and tau are never changed in place after this (the next tick makes new arrays).
        return KernelOutput(
            command=JointCommand(q=q, dq=v, tau=tau),
            power_on=estop.power_on,
            mode=mode,
            reason=reason,
            speed_scale=speed_scale,
            separation=distance,
            # S_p for the current approach speed (SeparationConfig.protective_distance, folded).
            protective_distance=self._static_distance + self._toward * self._speed_time
            if distance < np.inf
            else float("nan"),
            estop_category=estop.category,
            protective_stop=self.watchdog.latched or self._separation_stop,
            interventions=self.interventions,
            lookahead=lookahead,
        )

    # ---- steps of the tick ----

    def _accept(self, command: IncomingCommand | None, t: float) -> bool:
        """Validate the newest command; returns True when a new valid one arrived."""
        if command is None or command.seq <= self._last_seq:
            return False
        self._last_seq = command.seq
        q = _floats(command.q)
        dq = NOT_GIVEN if command.dq is None else _floats(command.dq)
        tau = NOT_GIVEN if command.tau is None else _floats(command.tau)
        shape = self._shape
        if (
            q.shape != shape
            or (dq is not NOT_GIVEN and dq.shape != shape)
            or (tau is not NOT_GIVEN and tau.shape != shape)
        ):
            self._refuse_shape((q, None if dq is NOT_GIVEN else dq, None if tau is NOT_GIVEN else tau))
            return False
        # Filled into the spare buffer: the current target stays untouched if this one is refused.
        spare = self._targets[0] if self._target is self._targets[1] else self._targets[1]
        previous, stamp = self._target, float(command.t)
        which, bad = take_command(
            q, dq, tau, stamp, previous.q if previous is not None else self._zero,
            previous.t if previous is not None else np.nan, spare.q, spare.dq, spare.tau,
        )  # fmt: skip
        if which >= 0:
            self._event(Rule.NON_FINITE, bad, float((q, dq, tau)[which][bad]), 0.0, q, self.q_ref)
            return False
        if command.t > t + self._max_clock_skew:
            self._event(Rule.BAD_TIMESTAMP, -1, command.t, t, q, self.q_ref)
            return False
        if t - command.t > self._max_command_age:
            self._event(Rule.STALE_COMMAND, -1, t - command.t, self._max_command_age, q, self.q_ref)
            return False
        spare.t = stamp
        self._target = spare
        return True

    def _accept_segment(self, segment: IncomingSegment, t: float) -> bool:
        """Validate a new trajectory segment whole; True when it replaced the one followed.
        A refused segment raises an event and leaves the one followed (if any) in force."""
        self._last_segment_seq = segment.seq
        times, q, dq = _floats(segment.times), _floats(segment.q), _floats(segment.dq)
        n = self._n
        k = times.shape[0] if times.ndim == 1 else -1
        if k < 1 or q.shape != (k, n) or dq.shape != (k, n):
            self._event(Rule.BAD_SHAPE, -1, float(q.size), float(n), self.q_ref, self.q_ref)
            return False
        problem, index, value = check_segment(times, q, dq)
        last = self._target.q if self._target is not None else self.q_ref
        if problem == SEGMENT_NON_FINITE:
            self._event(Rule.NON_FINITE, index, value, 0.0, last, self.q_ref)
            return False
        if problem != SEGMENT_OK:  # samples out of order: no interpolation means anything
            self._event(Rule.BAD_TIMESTAMP, index, value, float(times[index - 1]), last, self.q_ref)
            return False
        skew = self._max_clock_skew
        if float(segment.sent) > t + skew or times[0] > t + skew:
            self._event(Rule.BAD_TIMESTAMP, -1, max(float(segment.sent), float(times[0])), t, last, self.q_ref)
            return False
        end = float(times[-1])
        if end < t:
            self._event(Rule.STALE_COMMAND, -1, t - end, 0.0, last, self.q_ref)
            return False
        if end - t > self._max_lookahead:
            # A trajectory further ahead than the watchdog lets run unsupervised is refused: a
            # runaway executive must not keep the robot moving on a promise.
            self._event(Rule.BAD_TIMESTAMP, -1, end - t, self._max_lookahead, last, self.q_ref)
            return False
        self._segment = Segment(segment.seq, times.copy(), q.copy(), dq.copy())
        return True

    def _play(self, segment: Segment, t: float) -> bool:
        """Take the segment's sample at ``t`` in as this tick's command; False once it ran out."""
        spare = self._targets[0] if self._target is self._targets[1] else self._targets[1]
        if not sample_segment(segment.times, segment.q, segment.dq, t, spare.q, spare.dq):
            return False
        spare.tau[:] = 0.0
        spare.t = t
        self._target = spare
        return True

    def _latch_stop(self, rule: Rule) -> None:
        """Record what stopped the robot (the first cause, until a reset clears it)."""
        if self.stop_rule == Rule.NONE:
            self.stop_rule, self.stop_t, self.stop_tick = rule, self._t, self._tick

    def _refuse_shape(self, arrays: tuple[np.ndarray | None, ...]) -> None:
        """The event for a command with a wrongly shaped array. The checks go array by array (q,
        dq, tau; shape, then values), so a non-finite value in an earlier array is reported."""
        n = self.description.n_joints
        for array in arrays:
            if array is None:
                continue
            if array.shape != self._shape:
                self._event(Rule.BAD_SHAPE, -1, float(array.size), float(n), self.q_ref, self.q_ref)
                return
            bad = first_non_finite(array)
            if bad >= 0:
                self._event(Rule.NON_FINITE, bad, float(array[bad]), 0.0, arrays[0], self.q_ref)
                return

    def _filtered(
        self,
        q: np.ndarray,
        v: np.ndarray,
        phase: WatchdogPhase,
        feasible: bool,
        tau_clipped: bool,
        ok: bool,
        exitflag: int,
        any_changed: bool,
        safe: bool,
        safe_margin: bool,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Rule, SafetyMode]:
        """Runtime assurance and the filter's events, on the filter's result (q, v (n,) and the
        flags ``filter_step.filter_tick`` returns)."""
        lim, dt, target = self.limits, self.dt, self._target
        v_des = self._v_des
        use_braking, changed = self.supervisor.update(ok and safe, ok and safe_margin)
        if changed:
            rule = Rule.BRAKING_TAKEOVER if use_braking else Rule.BRAKING_HANDBACK
            value = float(exitflag) if feasible else float("nan")
            self._event(rule, -1, value, 0.0, self.q_ref + v_des * dt, q)
            if use_braking and not ok:
                self._event(Rule.QP_INFEASIBLE, -1, value, 0.0, self.q_ref + v_des * dt, self.q_ref)
        if use_braking:
            q, v = braking_step(self.q_ref, self.v_ref, lim.q_min, lim.q_max, lim.a_max, dt)
            return q, v, self._zero, Rule.BRAKING_TAKEOVER, SafetyMode.BRAKING

        reason = self._filter_events(v_des, q) if any_changed else Rule.NONE
        if tau_clipped:
            j = int(np.argmax(np.abs(target.tau) - lim.tau_max))
            self._rule_event(Rule.EFFORT_LIMIT, j, float(target.tau[j]), float(lim.tau_max[j]), q, q)
            reason = reason or Rule.EFFORT_LIMIT
        mode = SafetyMode.HOLD if phase == WatchdogPhase.HOLD or target is None else SafetyMode.RUNNING
        return q, v, self._tau.copy(), reason, mode  # copy: the buffer is refilled next tick

    def _hold(self, violation: Violation, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, Rule]:
        """The independent check refused the command q (n,): hold the last one that passed."""
        hold = self.q_ref.copy()
        self._rule_event(Rule.HARD_LIMIT_HOLD, violation.index, violation.value, violation.limit, q, hold)
        self._rule_event(violation.rule, violation.index, violation.value, violation.limit, q, hold)
        return hold, self._zero, self._zero, Rule.HARD_LIMIT_HOLD

    # ---- events ----

    def _filter_events(self, v_des: np.ndarray, q: np.ndarray) -> Rule:
        """Raise an event for each rule that newly changed the command (``found``, filled by the
        compiled classifier this tick); returns the most important one."""
        found = self._found
        reason, priority = Rule.NONE, -1
        for code in np.flatnonzero(found[:, 3]).tolist():
            rule = _RULES[code]
            if self._rearmed(rule):  # the command before is worked out only for an event
                j, value, limit = found[code, 0], found[code, 1], found[code, 2]
                self._event(rule, int(j), float(value), float(limit), self.q_ref + v_des * self.dt, q)
            if _PRIORITY[code] > priority:
                reason, priority = rule, _PRIORITY[code]
        return reason

    def _rule_event(self, rule: Rule, joint: int, value: float, limit: float, before, after) -> None:
        """An event when a rule starts to intervene, not on every tick it stays active."""
        if self._rearmed(rule):
            self._event(rule, joint, value, limit, before, after)

    def _rearmed(self, rule: Rule) -> bool:
        """Mark the rule active this tick; True when it starts to intervene (first time, or idle
        for more than REARM_TICKS), i.e. when it raises an event."""
        last = self._last_active[rule]
        self._last_active[rule] = self._tick
        return last is None or self._tick - last > REARM_TICKS

    def _watchdog_events(self, phase: WatchdogPhase) -> None:
        if phase is WatchdogPhase.PROTECTIVE_STOP:
            self._latch_stop(Rule.WATCHDOG_PROTECTIVE_STOP)
        rule = _WATCHDOG_RULES[phase]
        if rule is not None:
            self._rule_event(rule, -1, float(self.watchdog.missing), 0.0, self.q_ref, self.q_ref)

    def _separation_events(self, stop: bool, distance: float) -> None:
        """The separation stop starts (braking takes over) or ends (``observe_and_filter`` decided)."""
        self._separation_stop = stop
        if stop:
            self.supervisor.force()
            self._latch_stop(Rule.SEPARATION_STOP)
            self._event(Rule.SEPARATION_STOP, -1, distance, self._static_distance, self.q_ref, self.q_ref)
        else:
            if self.stop_rule == Rule.SEPARATION_STOP:
                self.stop_rule, self.stop_t, self.stop_tick = Rule.NONE, float("nan"), -1
            self._event(Rule.SEPARATION_RESUME, -1, distance, self._static_distance, self.q_ref, self.q_ref)

    def _event(self, rule: Rule, joint: int, value: float, limit: float, before, after) -> None:
        self.interventions += 1
        self.events.append(self._t, self._tick, int(rule), joint, value, limit, np.asarray(before), np.asarray(after))


@dataclass(frozen=True, slots=True)
class _ZoneUpdate:
    """New zones, staged for the filter and, apart, for the independent check."""

    zones: list[BoxZone | HalfSpaceZone]
    filter: ZoneSet
    check: StagedZones


def _validated_zones(zones: Sequence[BoxZone | HalfSpaceZone], capacity: int) -> list[BoxZone | HalfSpaceZone]:
    """Fresh, validated copies: pydantic models are mutable and ``model_construct`` skips the
    validators, so what the caller holds proves nothing; the kernel checks again."""
    if isinstance(zones, (str, bytes)) or not isinstance(zones, Sequence):
        raise TypeError(f"zones must be a sequence of BoxZone or HalfSpaceZone, not {type(zones).__name__}")
    if len(zones) > capacity:
        raise ValueError(
            f"{len(zones)} keep-out zones exceed this kernel's capacity of {capacity} (safety.max_zones); "
            "the zones in force are unchanged"
        )
    checked: list[BoxZone | HalfSpaceZone] = []
    for zone in zones:
        if not isinstance(zone, (BoxZone, HalfSpaceZone)):
            raise TypeError(f"not a keep-out zone: {zone!r}")
        checked.append(type(zone).model_validate(zone.model_dump()))
    return checked


def _floats(value: object) -> np.ndarray:
    """value as a writable, contiguous float array (itself when it already is one): the compiled
    intake has one signature, loaded at warm-up, never a new one inside the loop."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 1 and not (array.flags.c_contiguous and array.flags.writeable):
        array = array.copy()
    return array


# Tables indexed by phase or rule code (enum members hash in Python: dict lookups cost at 1 kHz).
_WATCHDOG_RULES = tuple(
    {
        WatchdogPhase.HOLD: Rule.WATCHDOG_HOLD,
        WatchdogPhase.DECELERATE: Rule.WATCHDOG_DECELERATE,
        WatchdogPhase.PROTECTIVE_STOP: Rule.WATCHDOG_PROTECTIVE_STOP,
    }.get(phase)
    for phase in WatchdogPhase
)
_RULES = tuple(Rule)
if [int(rule) for rule in _RULES] != list(range(len(_RULES))):  # the tables index by code
    raise ImportError("rule codes must run 0, 1, 2, ... for the kernel's tables")
_PRIORITY = tuple(
    {
        Rule.KEEP_OUT_ZONE: 6,
        Rule.SEPARATION_SPEED: 5,
        Rule.POSITION_LIMIT: 4,
        Rule.EFFORT_LIMIT: 3,
        Rule.VELOCITY_LIMIT: 2,
        Rule.ACCELERATION_LIMIT: 1,
    }.get(rule, 0)
    for rule in Rule
)
_FORCING_PHASES = (WatchdogPhase.DECELERATE, WatchdogPhase.PROTECTIVE_STOP)
