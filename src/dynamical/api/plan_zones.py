"""The keep-out zones a plan is checked against (``orchestration.zone_check``): every stored zone
of the robot and every zone for all robots, as their stored definitions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from dynamical.api.db import Database
from dynamical.api.models import SafetyZone


def stored_zones(db: Database) -> Callable[[str | None], list[dict[str, Any]]]:
    """``zones(robot_id)`` reading ``db`` (with no robot: the zones for all robots only)."""

    def zones(robot_id: str | None) -> list[dict[str, Any]]:
        query = select(SafetyZone).order_by(SafetyZone.id)
        scope = SafetyZone.robot_id.is_(None)
        query = query.where(scope | (SafetyZone.robot_id == robot_id) if robot_id is not None else scope)
        with db.session() as session:
            return [dict(row.definition) for row in session.scalars(query)]

    return zones
