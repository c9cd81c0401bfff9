"""``/api/v1/edge-devices``: compute modules on or near robots."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select

from dynamical.api.auth import Operator, Reader
from dynamical.api.deps import Db, ResourceId, RobotFilter, require_row
from dynamical.api.errors import ConflictError, NotFoundError
from dynamical.api.models import EdgeDevice, Robot, utcnow
from dynamical.api.schemas import EdgeDeviceCreate, EdgeDeviceOut

router = APIRouter(prefix="/api/v1/edge-devices", tags=["edge devices"])


def _out(row: EdgeDevice) -> EdgeDeviceOut:
    return EdgeDeviceOut.model_validate(row, from_attributes=True)


@router.get("", response_model=list[EdgeDeviceOut])
def list_edge_devices(_: Reader, db: Db, robot_id: RobotFilter = None) -> list[EdgeDeviceOut]:
    with db.session() as session:
        query = select(EdgeDevice).order_by(EdgeDevice.id)
        if robot_id is not None:
            query = query.where(EdgeDevice.robot_id == robot_id)
        return [_out(row) for row in session.scalars(query)]


@router.post(
    "",
    response_model=EdgeDeviceOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "id taken"}, 422: {"description": "invalid body or unknown robot"}},
)
def create_edge_device(body: EdgeDeviceCreate, _: Operator, db: Db) -> EdgeDeviceOut:
    with db.session() as session:
        if session.get(EdgeDevice, body.id) is not None:
            raise ConflictError(f"edge device {body.id!r} already exists")
        require_row(session, Robot, body.robot_id, "robot")
        row = EdgeDevice(**body.model_dump(), registered_at=utcnow())
        session.add(row)
        session.flush()
        return _out(row)


@router.get("/{device_id}", response_model=EdgeDeviceOut, responses={404: {"description": "no such device"}})
def get_edge_device(device_id: ResourceId, _: Reader, db: Db) -> EdgeDeviceOut:
    with db.session() as session:
        row = session.get(EdgeDevice, device_id)
        if row is None:
            raise NotFoundError(f"no edge device {device_id!r}")
        return _out(row)
