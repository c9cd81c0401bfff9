"""Writing what robots report: the agent link calls these when a robot connects or sends events.

The API only reads robots and safety events; they enter the database through here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from dynamical.api.models import Execution, Robot, SafetyEvent, utcnow
from dynamical.api.schemas import ID_PATTERN
from dynamical.safety.rules import Rule


class RobotRecord(BaseModel):
    """What an agent says about its robot when it connects."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=128)
    profile: str = Field(min_length=1, max_length=128, description="robot profile, e.g. humanoid")
    kind: Literal["simulated", "hardware"]
    embodiment: str | None = None
    info: dict[str, Any] = {}


class SafetyEventRecord(BaseModel):
    """One safety kernel event as the robot reports it (the fields of the shared-memory event ring)."""

    model_config = ConfigDict(extra="forbid")

    t: float = Field(allow_inf_nan=False)
    tick: int
    rule: int
    joint: int = -1
    zone: str | None = Field(None, max_length=128, description="KEEP_OUT_ZONE: the zone's name")
    point: str | None = Field(None, max_length=128, description="KEEP_OUT_ZONE: the monitored point's name")
    value: float = Field(0.0, allow_inf_nan=False)
    limit: float = Field(0.0, allow_inf_nan=False)
    cmd_before: list[float] | None = None
    cmd_after: list[float] | None = None
    request_id: str | None = None


def upsert_robot(session: Session, record: RobotRecord) -> Robot:
    """Register the robot, or refresh what is known about it; marks it seen now."""
    now = utcnow()
    robot = session.get(Robot, record.id)
    if robot is None:
        robot = Robot(id=record.id, registered_at=now)
        session.add(robot)
    robot.name, robot.profile, robot.kind = record.name, record.profile, record.kind
    robot.embodiment, robot.info, robot.last_seen_at = record.embodiment, record.info, now
    session.flush()
    return robot


def rule_name(code: int) -> str:
    try:
        return Rule(code).name
    except ValueError:
        return f"UNKNOWN_{code}"


def record_safety_events(
    session: Session, robot_id: str, events: Iterable[SafetyEventRecord], recorded_at: datetime | None = None
) -> int:
    """Store ``events`` of ``robot_id`` (which must be registered); returns how many.

    ``recorded_at``: when the server received them (default now); events that waited for the
    database keep the time they arrived."""
    now = recorded_at or utcnow()
    rows = [
        SafetyEvent(
            robot_id=robot_id,
            request_id=e.request_id,
            t=e.t,
            tick=e.tick,
            rule=e.rule,
            rule_name=rule_name(e.rule),
            joint=e.joint,
            zone=e.zone,
            point=e.point,
            value=e.value,
            limit=e.limit,
            cmd_before=_finite(e.cmd_before),
            cmd_after=_finite(e.cmd_after),
            recorded_at=now,
        )
        for e in events
    ]
    session.add_all(rows)
    session.flush()
    return len(rows)


def store_reported_events(
    session: Session, robot_id: str, events: Iterable[SafetyEventRecord], recorded_at: datetime | None = None
) -> int:
    """Store events as a robot reported them: an event of an execution this database does not
    hold (a wiped database, an execution stored later) is kept, unlinked from it."""
    events = list(events)
    asked = {e.request_id for e in events if e.request_id is not None}
    known = set(session.scalars(select(Execution.request_id).where(Execution.request_id.in_(asked))))
    linked = [e if e.request_id in known else e.model_copy(update={"request_id": None}) for e in events]
    return record_safety_events(session, robot_id, linked, recorded_at)


def _finite(values: list[float] | None) -> list[float | None] | None:
    # A command the kernel refused may hold NaN or inf; JSON (and PostgreSQL) cannot, so they become null.
    if values is None:
        return None
    return [v if v == v and abs(v) != float("inf") else None for v in values]
