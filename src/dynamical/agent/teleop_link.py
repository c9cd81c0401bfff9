"""The agent link's teleop commands, on the robot: start, stop, status answer with the session's
status; inputs stream without an answer (a refused input is logged, not answered: the operator's
next status poll shows the session ended)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from dynamical.agent.errors import AgentBusyError, AgentNotStartedError
from dynamical.agent.messages import CommandResult, Teleop, _Message
from dynamical.agent.teleop_control import TeleopNotActiveError, teleop_of

log = logging.getLogger(__name__)


async def handle_teleop(agent: Any, message: Teleop, queue: Callable[[_Message], None]) -> None:
    """Act on one ``teleop`` message for ``agent``; answers go out through ``queue``."""
    controller = teleop_of(agent)
    if message.action == "input":
        if message.input is None:
            log.warning("a teleop input without its input: ignored")
            return
        try:
            controller.submit(message.input)
        except TeleopNotActiveError:
            log.debug("a teleop input for a robot not teleoperated: ignored")
        return
    try:
        if message.action == "start":
            status = await asyncio.to_thread(controller.start, message.operator, message.config)
            detail = f"teleoperated by {message.operator or 'an operator'}"
        elif message.action == "stop":
            status = await asyncio.to_thread(controller.stop)
            detail = "teleop stopped; the robot holds"
        else:
            status = controller.status()
            detail = "teleoperated" if status is not None and status.active else "not teleoperated"
    except (AgentBusyError, AgentNotStartedError, TeleopNotActiveError, RuntimeError) as exc:
        queue(CommandResult(command_id=message.command_id, ok=False, detail=str(exc), teleop=controller.status()))
        return
    queue(CommandResult(command_id=message.command_id, ok=True, detail=detail, teleop=status))
