"""Extension points of the server for what runs beside it: the agent link, health checks, zone changes.

The server itself holds no robot connections. Whoever runs the agent link (``dynamical up``) passes
an ``AgentHub`` to ``create_app`` so that ``/api/v1/robots`` and ``/health`` show which robots are
connected, adds ``HealthCheck`` callables for anything else worth reporting, and listens to zone
changes (``ZonesListener``) to push them to the robots' safety kernels.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel

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


ZonesListener = Callable[[ZonesChanged], Awaitable[None] | None]
"""Called after a zone change is committed. An exception is logged; the stored zones stay the truth."""

__all__ = ["AgentHub", "ComponentHealth", "HealthCheck", "RobotLink", "ZonesChanged", "ZonesListener"]
