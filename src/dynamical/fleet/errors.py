"""Errors of the fleet package; each message says what is wrong and what to do."""

from __future__ import annotations


class FleetError(ValueError):
    """Base class: bad input or a refused operation (a 4xx at the API, exit 2 at the CLI)."""


class QuantizationError(FleetError):
    """An update or a fleet size the integer encoding cannot hold without wrapping."""


class UpdateRejectedError(FleetError):
    """A malformed, wrong-key, duplicate or late update; the round goes on without it."""


class FleetKeyError(FleetError):
    """Key material missing, tampered or for another robot."""


class BudgetExhaustedError(FleetError):
    """A robot's next round would take its ε past its budget: it declines the round."""
