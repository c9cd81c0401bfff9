"""``/api/safety``: the e-stop, keep-out zones and safety events.

The e-stop never waits for the database: it goes to the robots first and is answered from their
own acknowledgement (each kernel's state shows the stop latched); its audit row is queued
(``event_queue``). With no body it stops every connected robot, category 1.

Zones are validated by the safety kernel's own models (``safety.config.BoxZone`` and
``HalfSpaceZone``), and held to each robot's capacity (its hello says how many server zones its
kernel takes): a change that would exceed it is refused (409) with nothing stored. A stored change
is answered with what each connected robot's kernel did with it (applied, or refused and why).
Creating or deleting one needs the admin scope: deleting a zone relaxes what the robot may do.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from dynamical.api.auth import Admin, Operator, Principal, Reader
from dynamical.api.db import Database
from dynamical.api.deps import Db, RobotFilter, require_row
from dynamical.api.errors import ConflictError, NotFoundError
from dynamical.api.event_queue import AuditWrite
from dynamical.api.hub import EstopAck, ZoneAck, ZonesChanged
from dynamical.api.models import Robot, SafetyEvent, SafetyZone, utcnow
from dynamical.api.schemas import Identifier, SafetyEventOut, ZoneCreate, ZoneOut
from dynamical.safety.config import Zone

if TYPE_CHECKING:
    from dynamical.api.agent_link import AgentLinkHub

router = APIRouter(prefix="/api/safety", tags=["safety"])
log = logging.getLogger(__name__)
_zone = TypeAdapter(Zone)
ZoneId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class EstopRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    robot_id: Identifier | None = Field(None, description="default: every connected robot")
    category: Literal[0, 1, 2] = Field(1, description="IEC 60204-1 stop category")


class EstopOut(BaseModel):
    ok: bool = Field(description="every robot confirmed and its kernel reports the stop latched")
    robots: list[EstopAck]


class ZoneChangeOut(ZoneOut):
    """The zone as stored, and what each robot's kernel did with it."""

    robots: list[ZoneAck] = Field(
        description="one answer per connected robot the zone list went to (and the zone's own robot when it is "
        "not connected); refused means the kernel keeps the zones it had"
    )


def _link(request: Request) -> AgentLinkHub | None:
    """The server's agent link; None for an app without one (``create_app`` alone)."""
    from dynamical.api.agent_link import AgentLinkHub  # the agent link imports this module at run time

    hub = request.app.state.agent_hub
    return hub if isinstance(hub, AgentLinkHub) else None


@router.post(
    "/estop",
    response_model=EstopOut,
    responses={404: {"description": "no such robot"}, 409: {"description": "not connected"}},
)
async def estop(
    _: Operator,
    request: Request,
    db: Db,
    body: Annotated[EstopRequest | None, Body(description="optional: no body stops every connected robot")] = None,
) -> EstopOut:
    """Emergency stop: each robot's safety kernel latches the stop and its running plan ends.
    ``ok`` false for a robot means it did not confirm within a second: treat it as not stopped.
    Answered from the robots, never waiting for the database (the audit row is written after)."""
    body = body or EstopRequest()
    hub = _link(request)
    if hub is not None:
        queue = hub.records

        def audit_later(principal: Principal | None, method: str, path: str, code: int, client: str | None) -> None:
            queue.submit(
                AuditWrite(at=utcnow(), principal=principal, method=method, path=path, status_code=code, client=client)
            )

        request.state.audit_deferred = audit_later
    if hub is None or (body.robot_id is None and not hub.connections):
        raise ConflictError("no robot agent is connected")
    if body.robot_id is None:
        robots = sorted(hub.connections)
    elif body.robot_id in hub.connections:
        robots = [body.robot_id]
    else:
        # Only a robot that cannot be stopped anyway costs a database read (404 or 409).
        if await run_in_threadpool(_robot_exists, db, body.robot_id):
            raise ConflictError(f"robot {body.robot_id!r} has no agent connected")
        raise NotFoundError(f"no robot {body.robot_id!r}")
    acks = await asyncio.gather(*(hub.estop(r, body.category) for r in robots))
    return EstopOut(ok=all(a.ok for a in acks), robots=list(acks))


def _robot_exists(db: Database, robot_id: str) -> bool:
    with db.session() as session:
        return session.get(Robot, robot_id) is not None


def _zone_out(row: SafetyZone) -> ZoneOut:
    zone = _zone.validate_python(row.definition)
    return ZoneOut(id=row.id, robot_id=row.robot_id, zone=zone, created_at=row.created_at)


def _all_zones(session) -> list[ZoneOut]:  # type: ignore[no-untyped-def]
    return [_zone_out(z) for z in session.scalars(select(SafetyZone).order_by(SafetyZone.id))]


async def _notify(request: Request, event: ZonesChanged) -> ZoneChangeOut:
    """Tell the listeners (the agent link pushes the new list to every connected robot) and
    answer with the robots' acknowledgements."""
    acks: list[ZoneAck] = []
    for listener in request.app.state.zone_listeners:
        try:
            result = listener(event)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                acks.extend(result)
        except Exception:
            # The zone is stored either way; the agent link re-sends the stored zones when it reconnects.
            log.exception("zone listener %r failed on a %s zone", listener, event.change)
    own = event.zone.robot_id
    if own is not None and all(a.robot_id != own for a in acks):
        acks.append(
            ZoneAck(robot_id=own, status="not_connected", detail="it gets the stored zones when its agent connects")
        )
    return ZoneChangeOut(**event.zone.model_dump(), robots=acks)


def _zone_changes(request: Request) -> asyncio.Lock:
    """One zone change at a time: the capacity check sees every stored zone, and each robot gets
    the lists in the order they were stored (an older full list never overwrites a newer one)."""
    lock = getattr(request.app.state, "zone_changes", None)
    if lock is None:
        lock = request.app.state.zone_changes = asyncio.Lock()
    return lock


def _live_capacities(request: Request) -> dict[str, int | None]:
    hub = _link(request)
    return {} if hub is None else {r: hub.zone_capacity(r) for r in list(hub.connections)}


def _check_capacity(session: Session, zone: ZoneOut, zones: list[ZoneOut], live: dict[str, int | None]) -> None:
    """409 when ``zone`` (stored in ``zones``, not committed yet) would give a robot more zones
    than its kernel takes. Capacity: what the connected robot's hello said, else what it said
    when it last connected (kept in the robot's info); a robot that never said is not checked."""
    robots = session.scalars(select(Robot) if zone.robot_id is None else select(Robot).where(Robot.id == zone.robot_id))
    for robot in robots:
        capacity = live.get(robot.id)
        if capacity is None:
            stored = (robot.info or {}).get("zone_capacity")
            capacity = stored if isinstance(stored, int) else None
        if capacity is None:
            continue
        count = sum(1 for z in zones if z.robot_id in (None, robot.id))
        if count > capacity:
            raise ConflictError(
                f"robot {robot.id!r}'s safety kernel takes {capacity} keep-out zones from the server "
                f"(safety.max_zones less its configured zones); this would give it {count}: nothing stored"
            )


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
    response_model=ZoneChangeOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"description": "name taken for that robot, or more zones than a robot's kernel takes"},
        422: {"description": "invalid zone"},
    },
)
async def create_zone(body: ZoneCreate, _: Admin, db: Db, request: Request) -> ZoneChangeOut:
    """Store a keep-out zone, then push the new list to the robots and answer with what each
    one's kernel did with it."""
    live = _live_capacities(request)

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
            created, zones = _zone_out(row), _all_zones(session)
            _check_capacity(session, created, zones, live)  # raises: rolled back, nothing stored
            return created, zones

    async with _zone_changes(request):
        created, zones = await run_in_threadpool(store)
        return await _notify(request, ZonesChanged(change="created", zone=created, zones=zones))


@router.put(
    "/zones/{zone_id}",
    response_model=ZoneChangeOut,
    responses={
        404: {"description": "no such zone"},
        409: {"description": "name taken for that robot, or more zones than a robot's kernel takes"},
        422: {"description": "invalid zone"},
    },
)
async def update_zone(zone_id: ZoneId, body: ZoneCreate, _: Admin, db: Db, request: Request) -> ZoneChangeOut:
    """Replace a keep-out zone's robot and shape (its id stays), then push the new list to the
    robots and answer with what each one's kernel did with it."""
    live = _live_capacities(request)

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
            updated, zones = _zone_out(row), _all_zones(session)
            _check_capacity(session, updated, zones, live)  # a zone moved to a robot that is full
            return updated, zones

    async with _zone_changes(request):
        updated, zones = await run_in_threadpool(store)
        return await _notify(request, ZonesChanged(change="updated", zone=updated, zones=zones))


@router.delete("/zones/{zone_id}", response_model=ZoneChangeOut, responses={404: {"description": "no such zone"}})
async def delete_zone(zone_id: ZoneId, _: Admin, db: Db, request: Request) -> ZoneChangeOut:
    """Delete a keep-out zone, then push the new list to the robots; answers with the zone that
    was deleted and what each robot's kernel did (until a robot applies it, its kernel still
    keeps the zone out)."""

    def remove() -> tuple[ZoneOut, list[ZoneOut]]:
        with db.session() as session:
            row = session.get(SafetyZone, zone_id)
            if row is None:
                raise NotFoundError(f"no safety zone {zone_id}")
            deleted = _zone_out(row)
            session.delete(row)
            session.flush()
            return deleted, _all_zones(session)

    async with _zone_changes(request):
        deleted, zones = await run_in_threadpool(remove)
        return await _notify(request, ZonesChanged(change="deleted", zone=deleted, zones=zones))


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
