"""``/api/v1/robots``: the robots the platform knows, and whether their agent is connected now."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from dynamical.api.auth import Reader
from dynamical.api.deps import Db, Hub, ResourceId
from dynamical.api.errors import NotFoundError
from dynamical.api.models import Robot
from dynamical.api.schemas import RobotLink, RobotOut

router = APIRouter(prefix="/api/v1/robots", tags=["robots"])


def _links(hub: Hub) -> dict[str, RobotLink]:
    return {link.robot_id: link for link in hub.connected_robots()} if hub is not None else {}


def _out(robot: Robot, links: dict[str, RobotLink]) -> RobotOut:
    link = links.get(robot.id)
    return RobotOut(
        id=robot.id,
        name=robot.name,
        profile=robot.profile,
        kind=robot.kind,
        embodiment=robot.embodiment,
        info=robot.info,
        registered_at=robot.registered_at,
        last_seen_at=robot.last_seen_at,
        connected=link is not None,
        connected_since=link.connected_since if link else None,
    )


@router.get("", response_model=list[RobotOut])
def list_robots(_: Reader, db: Db, hub: Hub) -> list[RobotOut]:
    """Every registered robot, by id."""
    links = _links(hub)
    with db.session() as session:
        return [_out(r, links) for r in session.scalars(select(Robot).order_by(Robot.id))]


@router.get("/{robot_id}", response_model=RobotOut, responses={404: {"description": "no such robot"}})
def get_robot(robot_id: ResourceId, _: Reader, db: Db, hub: Hub) -> RobotOut:
    with db.session() as session:
        robot = session.get(Robot, robot_id)
        if robot is None:
            raise NotFoundError(f"no robot {robot_id!r}")
        return _out(robot, _links(hub))
