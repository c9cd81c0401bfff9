"""Safety rules and the events that record each intervention."""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol

import numpy as np


class Rule(IntEnum):
    """Why the kernel changed or refused a command. Codes are stable: they are stored in events."""

    NONE = 0
    NON_FINITE = 1
    BAD_SHAPE = 2
    BAD_TIMESTAMP = 3
    STALE_COMMAND = 4
    POSITION_LIMIT = 5
    VELOCITY_LIMIT = 6
    ACCELERATION_LIMIT = 7
    EFFORT_LIMIT = 8
    KEEP_OUT_ZONE = 9
    SEPARATION_SPEED = 10
    SEPARATION_STOP = 11
    SEPARATION_RESUME = 12
    HARD_LIMIT_HOLD = 13
    BRAKING_TAKEOVER = 14
    BRAKING_HANDBACK = 15
    WATCHDOG_HOLD = 16
    WATCHDOG_DECELERATE = 17
    WATCHDOG_PROTECTIVE_STOP = 18
    ESTOP = 19
    ESTOP_POWER_OFF = 20
    RESET = 21
    QP_INFEASIBLE = 22
    ZONES_CHANGED = 23
    """Not an intervention: new keep-out zones took effect (value: how many; limit: capacity)."""


class SafetyMode(IntEnum):
    """What the kernel is doing with the robot."""

    RUNNING = 0
    HOLD = 1
    BRAKING = 2
    PROTECTIVE_STOP = 3
    ESTOP = 4


class EventSink(Protocol):
    """Where events go: the shared-memory event ring in both schedulers."""

    def append(
        self,
        t: float,
        tick: int,
        rule: int,
        joint: int,
        value: float,
        limit: float,
        cmd_before: np.ndarray,
        cmd_after: np.ndarray,
    ) -> int: ...
