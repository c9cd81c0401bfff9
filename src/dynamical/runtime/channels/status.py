"""StatusBlock: safety status (realtime-written) and requests (executive-written)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from dynamical.runtime.channels.segments import (
    YIELD_EVERY,
    Layout,
    MappedSegment,
    SeqLock,
    attach_segment,
    check_shape,
    check_size,
    create_segment,
)
from dynamical.safety.audit import LimitAudit
from dynamical.safety.rules import SafetyMode


@dataclass(frozen=True)
class StatusSample:
    """One consistent copy of the realtime-written safety status."""

    tick: int
    t: float
    """s, when the realtime side wrote it."""
    mode: SafetyMode
    estop_category: int
    """-1 when no e-stop is latched, else stop category 0, 1 or 2."""
    protective_stop: bool
    speed_scale: float
    """0..1, the factor speed and separation monitoring applies."""
    separation_m: float
    """Distance to the nearest person, m; NaN when nobody is seen."""
    protective_distance_m: float
    """Separation below which the robot must be stopped, m."""
    interventions: int
    """Commands the kernel changed or refused, lifetime count."""
    last_command_seq: int
    """CommandRing seq of the last command the kernel consumed."""
    rt_heartbeat: int
    power_on: bool
    estop_latched_t: float
    """s, when the current e-stop latched; NaN when none."""
    reason: int
    """Rule code of the rule that shaped this tick's command most; 0 for none."""
    stop_rule: int = 0
    """Rule code of what latched the protective stop or e-stop in force (WATCHDOG_PROTECTIVE_STOP,
    SEPARATION_STOP, ESTOP); 0 when none is."""
    stop_t: float = math.nan
    """s, when it latched (the kernel's clock); NaN when no stop is in force."""
    stop_tick: int = -1
    """The tick it latched on; -1 when none."""
    segment_seq: int = 0
    """TrajectoryRing seq of the last trajectory segment the kernel took."""
    lookahead_s: float = math.nan
    """s of trajectory left ahead of this tick (negative: how long ago it ran out); NaN when the
    kernel follows no trajectory."""


# Word indices of the realtime group.
_RT_INTS = (
    "tick",
    "mode",
    "estop_category",
    "protective_stop",
    "interventions",
    "last_command_seq",
    "rt_heartbeat",
    "power_on",
    "reason",
    "stop_rule",
    "stop_tick",
    "segment_seq",
)
_RT_FLOATS = ("t", "speed_scale", "separation_m", "protective_distance_m", "estop_latched_t", "stop_t", "lookahead_s")
# Word indices of the executive group.
_EX_HEARTBEAT, _EX_ESTOP_CATEGORY, _EX_ESTOP_SEQ, _EX_RESET_SEQ, _EX_SHUTDOWN = range(5)


class StatusBlock(MappedSegment):
    """Safety status (written by the realtime side) and requests (written by the executive).

    The two groups live on separate cache lines and each has one writer. The realtime group is a
    seqlock; the executive's words are single aligned 8-byte stores, except the e-stop request,
    whose category and time are guarded by its own sequence word.
    """

    _KIND = "StatusBlock"

    def __init__(self, shm: SharedMemory, owner: bool, n_joints: int) -> None:
        super().__init__(shm, owner)
        self.n_joints = n_joints
        views = self._layout().map(shm)
        self._rt_lock = SeqLock(views["rt_seq"])
        self._rt_ints = views["rt_ints"]  # (len(_RT_INTS),) int64
        self._rt_floats = views["rt_floats"]  # (len(_RT_FLOATS),) float64
        self._ex_ints = views["ex_ints"]  # (5,) int64
        self._ex_estop_t = views["ex_estop_t"]  # (1,) float64
        self._audit_lock = SeqLock(views["audit_seq"])  # the audit group's
        self._audit = views["audit"]  # (6,) int64, LimitAudit's fields in order

    @staticmethod
    def _layout() -> Layout:
        layout = Layout()
        layout.add("rt_seq", (1,), np.int64)
        layout.add("rt_ints", (len(_RT_INTS),), np.int64)
        layout.add("rt_floats", (len(_RT_FLOATS),), np.float64)
        layout.add("ex_ints", (5,), np.int64)
        layout.add("ex_estop_t", (1,), np.float64)
        # Realtime-written too, but only every audit batch: a group of its own keeps the 1 kHz
        # status write as small as it was.
        layout.add("audit_seq", (1,), np.int64)
        layout.add("audit", (6,), np.int64)
        return layout

    @classmethod
    def create(cls, name: str | None, n_joints: int) -> StatusBlock:
        check_shape(cls._KIND, n_joints, 1)
        shm = create_segment(name, cls._KIND, cls._layout(), n_joints, 1)
        block = cls(shm, True, n_joints)
        block._ex_ints[_EX_ESTOP_CATEGORY] = -1
        block._ex_estop_t[0] = math.nan
        return block

    @classmethod
    def attach(cls, name: str, n_joints: int) -> StatusBlock:
        shm, _ = attach_segment(name, cls._KIND, n_joints, 1)
        check_size(shm, cls._KIND, cls._layout())
        return cls(shm, False, n_joints)

    # -- realtime group ------------------------------------------------------------------------ #

    def write_status(
        self,
        *,
        tick: int,
        t: float,
        mode: SafetyMode | int,
        estop_category: int,
        protective_stop: bool,
        speed_scale: float,
        separation_m: float,
        protective_distance_m: float,
        interventions: int,
        last_command_seq: int,
        rt_heartbeat: int,
        power_on: bool,
        estop_latched_t: float,
        reason: int,
        stop_rule: int = 0,
        stop_tick: int = -1,
        segment_seq: int = 0,
        stop_t: float = math.nan,
        lookahead_s: float = math.nan,
    ) -> None:
        """Publish the status (realtime side only)."""
        ints = (tick, mode, estop_category, protective_stop, interventions, last_command_seq, rt_heartbeat)
        more = (power_on, reason, stop_rule, stop_tick, segment_seq)
        floats = (t, speed_scale, separation_m, protective_distance_m, estop_latched_t, stop_t, lookahead_s)

        def fill() -> None:
            self._rt_ints[:] = ints + more
            self._rt_floats[:] = floats

        self._rt_lock.write(fill)

    def read_status(self, max_retries: int = 1000) -> StatusSample | None:
        """The latest consistent status; None before the realtime side first wrote one."""
        copied = self._rt_lock.read(lambda _: (self._rt_ints.tolist(), self._rt_floats.tolist()), max_retries)
        if copied is None:
            return None
        ints, floats = copied
        tick, mode, category, pstop, interventions, last_cmd, beat, power, reason = ints[:9]
        stop_rule, stop_tick, segment_seq = ints[9:]
        t, scale, separation, protective, latched_t, stop_t, lookahead = floats
        return StatusSample(
            tick=tick,
            t=t,
            mode=SafetyMode(mode),
            estop_category=category,
            protective_stop=bool(pstop),
            speed_scale=scale,
            separation_m=separation,
            protective_distance_m=protective,
            interventions=interventions,
            last_command_seq=last_cmd,
            rt_heartbeat=beat,
            power_on=bool(power),
            estop_latched_t=latched_t,
            reason=reason,
            stop_rule=stop_rule,
            stop_t=stop_t,
            stop_tick=stop_tick,
            segment_seq=segment_seq,
            lookahead_s=lookahead,
        )

    def write_audit(self, audit: LimitAudit) -> None:
        """Publish the running audit of the commands the driver received (realtime side only)."""
        values = (audit.commands, audit.non_finite, audit.position, audit.velocity, audit.acceleration, audit.effort)

        def fill() -> None:
            self._audit[:] = values

        self._audit_lock.write(fill)

    def read_audit(self, max_retries: int = 1000) -> LimitAudit | None:
        """The latest consistent driver audit; None before the realtime side published one."""
        values = self._audit_lock.read(lambda _: self._audit.tolist(), max_retries)
        return None if values is None else LimitAudit(*values)

    # -- executive group ----------------------------------------------------------------------- #

    def beat(self) -> int:
        """Increment the executive heartbeat (once per control tick); returns the new count."""
        words = self._ex_ints
        beat = int(words[_EX_HEARTBEAT]) + 1
        words[_EX_HEARTBEAT] = beat
        return beat

    def read_heartbeat(self) -> int:
        return int(self._ex_ints[_EX_HEARTBEAT])

    def request_estop(self, category: int, t: float) -> int:
        """Ask the realtime side for an e-stop of ``category`` (0, 1 or 2) at time ``t`` (s).

        Returns the request number (1, 2, ...); the realtime side acts on a change of it.
        """
        if category not in (0, 1, 2):
            raise ValueError(f"e-stop category must be 0, 1 or 2, got {category!r}")
        words = self._ex_ints
        # The stored word counts twice per request: odd while category and time are being written.
        s = (int(words[_EX_ESTOP_SEQ]) + 1) | 1
        words[_EX_ESTOP_SEQ] = s
        words[_EX_ESTOP_CATEGORY] = category
        self._ex_estop_t[0] = t
        words[_EX_ESTOP_SEQ] = s + 1
        return (s + 1) >> 1

    def pending_estop(self, max_retries: int = 1000) -> tuple[int, int, float]:
        """(request number, category, t) of the latest e-stop request; (0, -1, nan) before any."""
        words = self._ex_ints
        s = 0
        category = -1
        t = math.nan
        for attempt in range(max_retries):
            s = int(words[_EX_ESTOP_SEQ])
            category = int(words[_EX_ESTOP_CATEGORY])
            t = float(self._ex_estop_t[0])
            if not s & 1 and int(words[_EX_ESTOP_SEQ]) == s:
                break
            if attempt % YIELD_EVERY == YIELD_EVERY - 1:
                os.sched_yield()
        # An odd word after all retries (a writer died mid-request) reads as the previous request.
        return s >> 1, category, t

    def request_reset(self) -> int:
        """Ask for an explicit reset; returns the new reset request number."""
        words = self._ex_ints
        seq = int(words[_EX_RESET_SEQ]) + 1
        words[_EX_RESET_SEQ] = seq
        return seq

    def reset_seq(self) -> int:
        return int(self._ex_ints[_EX_RESET_SEQ])

    def request_shutdown(self) -> None:
        self._ex_ints[_EX_SHUTDOWN] = 1

    def shutdown_requested(self) -> bool:
        return bool(self._ex_ints[_EX_SHUTDOWN])
