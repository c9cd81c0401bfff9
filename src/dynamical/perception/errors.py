"""Errors of the perception package; each carries a message a user can act on."""

from __future__ import annotations

from dynamical.robot.errors import RobotError


class PerceptionError(RobotError, ValueError):
    """Perception cannot do what it was asked (bad configuration, a frame of the wrong shape)."""


class ModelPathError(PerceptionError):
    """A foundation model's weights directory is missing or unreadable; names the config key."""
