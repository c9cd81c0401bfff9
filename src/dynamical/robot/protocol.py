"""The driver protocol every robot implements, simulated or real.

These types cross the 1 kHz loop, so they are plain frozen dataclasses of numpy arrays rather
than pydantic models; their shapes are checked where a command enters a driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.robot.errors import CommandError


@dataclass(frozen=True)
class RobotState:
    """Joint state at time ``t`` (s, robot clock); arrays (n,) in description order."""

    t: float
    q: np.ndarray
    """Positions, rad (m for slide joints)."""
    dq: np.ndarray
    """Velocities, rad/s."""
    tau: np.ndarray
    """Efforts the drives apply, N·m."""


@dataclass(frozen=True)
class JointCommand:
    """Targets for every commanded joint; arrays (n,) in description order."""

    q: np.ndarray
    """Position targets, rad."""
    dq: np.ndarray | None = None
    """Optional velocity feed-forward, rad/s."""
    tau: np.ndarray | None = None
    """Optional effort feed-forward, N·m."""


@dataclass(frozen=True)
class CameraFrame:
    """One camera image taken at time ``t`` (s)."""

    camera: str
    t: float
    rgb: np.ndarray
    """(h, w, 3) uint8."""
    depth: np.ndarray | None = None
    """(h, w) float32, metres along the optical axis; None when not asked for."""


@runtime_checkable
class Robot(Protocol):
    """A robot the runtime can drive. Only the safety kernel may call ``write_command``."""

    description: RobotDescription

    def read_state(self) -> RobotState: ...

    def write_command(self, command: JointCommand) -> None: ...

    def set_power(self, on: bool) -> None:
        """Drive power; off engages the holding brakes (e-stop categories 0 and 1)."""

    def read_camera(self, name: str, width: int = 320, height: int = 240, depth: bool = False) -> CameraFrame: ...

    @property
    def camera_names(self) -> tuple[str, ...]: ...


def check_command(command: JointCommand, n_joints: int) -> None:
    """Refuse a command of the wrong shape or with non-finite values (raises CommandError)."""
    for field in ("q", "dq", "tau"):
        value = getattr(command, field)
        if value is None:
            continue
        array = np.asarray(value)
        if array.shape != (n_joints,):
            raise CommandError(f"command.{field} has shape {array.shape}, expected ({n_joints},)")
        if not np.all(np.isfinite(array)):
            bad = np.flatnonzero(~np.isfinite(array)).tolist()
            raise CommandError(f"command.{field} has non-finite values at joints {bad}")
