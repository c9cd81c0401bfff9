"""Errors raised by robot descriptions and drivers; each carries a message a user can act on."""


class RobotError(Exception):
    """Base class of robot errors."""


class ProfileError(RobotError, ValueError):
    """A robot profile or its MJCF is inconsistent (a missing joint, a missing limit, ...)."""


class CommandError(RobotError, ValueError):
    """A command has the wrong shape or non-finite values; the driver refuses it."""


class UnknownNameError(RobotError, KeyError):
    """A camera, site, body or joint name that the robot or world does not have."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""
