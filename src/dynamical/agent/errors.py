"""Errors a robot agent raises to its callers (the agent link answers them as refusals)."""

from __future__ import annotations


class AgentBusyError(RuntimeError):
    """A plan was handed to an agent that is running another one."""


class AgentNotStartedError(RuntimeError):
    """The agent was asked for something that needs its robot running; call ``start()`` first."""
