"""Extension points of the server for what runs beside it: the agent link, health checks, zone changes.

The server itself holds no robot connections. Whoever runs the agent link (``dynamical up``) passes
an ``AgentHub`` to ``create_app`` so that ``/api/v1/robots`` and ``/health`` show which robots are
connected, adds ``HealthCheck`` callables for anything else worth reporting, and listens to zone
changes (``ZonesListener``) to push them to the robots' safety kernels and return their answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from dynamical.api.schemas import ComponentHealth, RobotLink, ZoneOut


@runtime_checkable
class AgentHub(Protocol):
    """What the server asks of the agent link."""

    def connected_robots(self) -> Sequence[RobotLink]:
        """The robots whose agents are connected now."""
        ...


HealthCheck = Callable[[], ComponentHealth | Awaitable[ComponentHealth]]
"""Called on every ``GET /health``; a check that raises counts as not ok, with the error as detail."""


class ZonesChanged(BaseModel):
    """A keep-out zone was created, updated or deleted; ``zones`` is every stored zone after the change."""

    change: Literal["created", "updated", "deleted"]
    zone: ZoneOut
    zones: list[ZoneOut]

    def zones_for(self, robot_id: str) -> list[ZoneOut]:
        """The zones that apply to ``robot_id``: its own and those for every robot."""
        return [z for z in self.zones if z.robot_id in (None, robot_id)]


class ZoneAck(BaseModel):
    """What one robot's safety kernel did with the zone list a change gave it."""

    robot_id: str
    status: Literal["applied", "refused", "no_answer", "not_connected"] = Field(
        description="applied: in force from the kernel's next tick; refused: the zones in force are unchanged "
        "(detail says why); no_answer: the robot did not answer in time; not_connected: it gets the stored "
        "zones when its agent connects"
    )
    detail: str = ""


class EstopAck(BaseModel):
    """One robot's answer to an e-stop, from its own acknowledgement and its kernel's state."""

    robot_id: str
    ok: bool = Field(
        description="the robot confirmed and its kernel reports the stop latched; false: treat it as NOT stopped"
    )
    detail: str
    latched: bool = Field(description="the kernel's state shows this category, or a stricter one, latched")
    mode: str | None = Field(None, description="the kernel's mode in that state (ESTOP once latched)")
    estop_category: int | None = Field(None, description="the category latched, as the kernel reports it")
    answered_in_ms: float = Field(description="from sending the e-stop to this answer, ms")


ZonesListener = Callable[[ZonesChanged], Awaitable[Sequence[ZoneAck] | None] | Sequence[ZoneAck] | None]
"""Called after a zone change is committed; returns each robot's answer (the agent link), or None.
An exception is logged; the stored zones stay the truth."""

__all__ = [
    "AgentHub",
    "ComponentHealth",
    "EstopAck",
    "HealthCheck",
    "RobotLink",
    "ZoneAck",
    "ZonesChanged",
    "ZonesListener",
]
