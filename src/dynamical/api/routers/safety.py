"""``/api/safety``: keep-out zones (stored, then handed to ``on_zones_changed``) and safety events.

Zones are validated by the safety kernel's own models (``safety.config.BoxZone`` and
``HalfSpaceZone``), so a zone the API accepts is a zone the kernel accepts. Creating or deleting
one needs the admin scope: deleting a zone relaxes what the robot may do.
"""

from __future__ import annotations

import inspect
import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import TypeAdapter
from sqlalchemy import func, literal, select
from starlette.concurrency import run_in_threadpool

from dynamical.api.auth import Admin, Reader
from dynamical.api.deps import Db, RobotFilter, require_row
from dynamical.api.errors import ConflictError, NotFoundError
from dynamical.api.hub import ZonesChanged
from dynamical.api.models import Robot, SafetyEvent, SafetyZone, utcnow
from dynamical.api.schemas import SafetyEventOut, ZoneCreate, ZoneOut
from dynamical.safety.config import Zone

router = APIRouter(prefix="/api/safety", tags=["safety"])
log = logging.getLogger(__name__)
_zone = TypeAdapter(Zone)
ZoneId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _zone_out(row: SafetyZone) -> ZoneOut:
    zone = _zone.validate_python(row.definition)
    return ZoneOut(id=row.id, robot_id=row.robot_id, zone=zone, created_at=row.created_at)


def _all_zones(session) -> list[ZoneOut]:  # type: ignore[no-untyped-def]
    return [_zone_out(z) for z in session.scalars(select(SafetyZone).order_by(SafetyZone.id))]


async def _notify(request: Request, event: ZonesChanged) -> None:
    for listener in request.app.state.zone_listeners:
        try:
            result = listener(event)
            if inspect.isawaitable(result):
                await result
        except Exception:
            # The zone is stored either way; the agent link re-sends the stored zones when it reconnects.
            log.exception("zone listener %r failed on a %s zone", listener, event.change)


@router.get("/zones", response_model=list[ZoneOut])
def list_zones(
    _: Reader,
    db: Db,
    robot_id: RobotFilter = None,
) -> list[ZoneOut]:
    """Stored keep-out zones, oldest first (with ``robot_id``: its own and those for every robot)."""
    with db.session() as session:
        query = select(SafetyZone).order_by(SafetyZone.id)
        if robot_id is not None:
            query = query.where((SafetyZone.robot_id == robot_id) | SafetyZone.robot_id.is_(None))
        return [_zone_out(z) for z in session.scalars(query)]


@router.post(
    "/zones",
    response_model=ZoneOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "name taken for that robot"}, 422: {"description": "invalid zone"}},
)
async def create_zone(body: ZoneCreate, _: Admin, db: Db, request: Request) -> ZoneOut:
    """Store a keep-out zone, then tell the agent link (``on_zones_changed``)."""

    def store() -> tuple[ZoneOut, list[ZoneOut]]:
        with db.session() as session:
            require_row(session, Robot, body.robot_id, "robot")
            scope = func.coalesce(SafetyZone.robot_id, literal("*"))
            taken = session.scalar(
                select(SafetyZone.id).where(scope == (body.robot_id or "*"), SafetyZone.name == body.zone.name)
            )
            if taken is not None:
                whose = f"robot {body.robot_id!r}" if body.robot_id else "every robot"
                raise ConflictError(f"a zone named {body.zone.name!r} for {whose} exists (id {taken})")
            row = SafetyZone(
                robot_id=body.robot_id,
                name=body.zone.name,
                kind=body.zone.kind,
                definition=body.zone.model_dump(mode="json"),
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return _zone_out(row), _all_zones(session)

    created, zones = await run_in_threadpool(store)
    await _notify(request, ZonesChanged(change="created", zone=created, zones=zones))
    return created


@router.put(
    "/zones/{zone_id}",
    response_model=ZoneOut,
    responses={
        404: {"description": "no such zone"},
        409: {"description": "name taken for that robot"},
        422: {"description": "invalid zone"},
    },
)
async def update_zone(zone_id: ZoneId, body: ZoneCreate, _: Admin, db: Db, request: Request) -> ZoneOut:
    """Replace a keep-out zone's robot and shape (its id stays), then tell the agent link."""

    def store() -> tuple[ZoneOut, list[ZoneOut]]:
        with db.session() as session:
            row = session.get(SafetyZone, zone_id)
            if row is None:
                raise NotFoundError(f"no safety zone {zone_id}")
            require_row(session, Robot, body.robot_id, "robot")
            scope = func.coalesce(SafetyZone.robot_id, literal("*"))
            taken = session.scalar(
                select(SafetyZone.id).where(
                    scope == (body.robot_id or "*"), SafetyZone.name == body.zone.name, SafetyZone.id != zone_id
                )
            )
            if taken is not None:
                whose = f"robot {body.robot_id!r}" if body.robot_id else "every robot"
                raise ConflictError(f"a zone named {body.zone.name!r} for {whose} exists (id {taken})")
            row.robot_id, row.name, row.kind = body.robot_id, body.zone.name, body.zone.kind
            row.definition = body.zone.model_dump(mode="json")
            session.flush()
            return _zone_out(row), _all_zones(session)

    updated, zones = await run_in_threadpool(store)
    await _notify(request, ZonesChanged(change="updated", zone=updated, zones=zones))
    return updated


@router.delete("/zones/{zone_id}", response_model=ZoneOut, responses={404: {"description": "no such zone"}})
async def delete_zone(zone_id: ZoneId, _: Admin, db: Db, request: Request) -> ZoneOut:
    """Delete a keep-out zone, then tell the agent link; answers with the zone that was deleted."""

    def remove() -> tuple[ZoneOut, list[ZoneOut]]:
        with db.session() as session:
            row = session.get(SafetyZone, zone_id)
            if row is None:
                raise NotFoundError(f"no safety zone {zone_id}")
            deleted = _zone_out(row)
            session.delete(row)
            session.flush()
            return deleted, _all_zones(session)

    deleted, zones = await run_in_threadpool(remove)
    await _notify(request, ZonesChanged(change="deleted", zone=deleted, zones=zones))
    return deleted


@router.get("/events", response_model=list[SafetyEventOut])
def list_events(
    _: Reader,
    db: Db,
    robot_id: RobotFilter = None,
    since: Annotated[datetime | None, Query(description="recorded after this (ISO 8601, UTC if no zone)")] = None,
    request_id: Annotated[
        str | None, Query(pattern=r"^[0-9a-f-]{1,36}$", description="raised while this execution ran")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SafetyEventOut]:
    """Safety kernel events the robots reported, newest first."""
    with db.session() as session:
        query = select(SafetyEvent).order_by(SafetyEvent.recorded_at.desc(), SafetyEvent.id.desc()).limit(limit)
        if robot_id is not None:
            query = query.where(SafetyEvent.robot_id == robot_id)
        if request_id is not None:
            query = query.where(SafetyEvent.request_id == request_id)
        if since is not None:
            query = query.where(SafetyEvent.recorded_at > (since if since.tzinfo else since.replace(tzinfo=UTC)))
        return [SafetyEventOut.model_validate(e, from_attributes=True) for e in session.scalars(query)]
