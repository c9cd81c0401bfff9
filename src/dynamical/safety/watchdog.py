"""The command watchdog: hold, then decelerate, then a latched protective stop."""

from __future__ import annotations

from enum import IntEnum

from dynamical.safety.config import WatchdogConfig


class WatchdogPhase(IntEnum):
    OK = 0
    HOLD = 1
    DECELERATE = 2
    PROTECTIVE_STOP = 3


class Watchdog:
    """Counts ticks since the last valid command. It arms on the first command: a robot that has
    never been commanded simply holds. The protective stop latches until ``reset()``."""

    def __init__(self, config: WatchdogConfig) -> None:
        self.config = config
        self.armed = False
        self.missing = 0
        self.latched = False

    def tick(self, got_command: bool) -> WatchdogPhase:
        if got_command:
            self.armed = True
            self.missing = 0
        elif self.armed:
            self.missing += 1
        if self.latched:
            return WatchdogPhase.PROTECTIVE_STOP
        c = self.config
        if self.missing > c.protective_stop_after_ticks:
            self.latched = True
            return WatchdogPhase.PROTECTIVE_STOP
        if self.missing > c.decelerate_after_ticks:
            return WatchdogPhase.DECELERATE
        if self.missing > c.hold_after_ticks:
            return WatchdogPhase.HOLD
        return WatchdogPhase.OK

    def reset(self) -> None:
        self.armed, self.missing, self.latched = False, 0, False
