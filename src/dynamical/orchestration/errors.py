"""Errors the orchestrator raises, each with a message a user can act on.

All are ``ValueError``s: the CLI turns them into one line on stderr and exit code 2, the API into
an HTTP 4xx.
"""

from __future__ import annotations


class OrchestrationError(ValueError):
    """Base class of every refusal to plan a task."""


class EmptyTaskError(OrchestrationError):
    """The task text says nothing to do."""


class UnknownObjectError(OrchestrationError):
    """A reference to an object or surface the world does not have."""


class AmbiguousObjectError(OrchestrationError):
    """A reference that fits more than one object (e.g. "the cube" among three cubes)."""


class UnparsableTaskError(OrchestrationError):
    """A clause the decomposer cannot turn into a step (e.g. a placement with no destination)."""


class NoSkillMatchError(OrchestrationError):
    """No registered skill fits a step well enough to run it."""


class SkillBindingError(OrchestrationError):
    """The routed skill needs a parameter the step does not provide."""


class ContractError(OrchestrationError):
    """A step's precondition does not hold given the world and the steps before it."""


class NoCapableRobotError(OrchestrationError):
    """No robot has the skills, the embodiment and the availability a task needs."""


class UnknownWorkspaceError(OrchestrationError):
    """A robot is placed in a workspace that has no record."""
