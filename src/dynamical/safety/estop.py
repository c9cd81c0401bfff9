"""Emergency stop, with the stop categories of IEC 60204-1.

- Category 0: stop by immediate removal of power to the drives (holding brakes engage).
- Category 1: controlled stop at full deceleration, then removal of power once stopped.
- Category 2: controlled stop at full deceleration, power stays on and the robot holds.

A request latches; only an explicit reset, once the robot has stopped, clears it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class EStop:
    category: int = -1
    """-1 when not stopped, else the active category."""
    request_t: float = float("nan")
    power_on: bool = True

    @property
    def active(self) -> bool:
        return self.category >= 0

    def trigger(self, category: int, t: float) -> bool:
        """Latch a request; a stricter (lower) category overrides a laxer one. Returns True if it changed."""
        if category not in (0, 1, 2):
            raise ValueError(f"e-stop category must be 0, 1 or 2, got {category}")
        if self.active and category >= self.category:
            return False
        self.category, self.request_t = category, t
        if category == 0:
            self.power_on = False
        return True

    def stopped(self) -> bool:
        """Category 1 powers off once the robot is still; returns True when power was just cut."""
        if self.category == 1 and self.power_on:
            self.power_on = False
            return True
        return False

    def reset(self) -> None:
        self.category, self.request_t, self.power_on = -1, float("nan"), True
