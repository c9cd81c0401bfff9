"""``/api/v1/peripherals``: sensors and actuators attached to robots or edge devices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy import select

from dynamical.api.auth import Operator, Reader
from dynamical.api.deps import Db, ResourceId, RobotFilter, require_row
from dynamical.api.errors import ConflictError, NotFoundError
from dynamical.api.models import EdgeDevice, Peripheral, Robot, utcnow
from dynamical.api.routers.compute import check_camera_budget
from dynamical.api.schemas import ID_PATTERN, PeripheralCreate, PeripheralOut

router = APIRouter(prefix="/api/v1/peripherals", tags=["peripherals"])


def _out(row: Peripheral) -> PeripheralOut:
    return PeripheralOut.model_validate(row, from_attributes=True)


@router.get("", response_model=list[PeripheralOut])
def list_peripherals(
    _: Reader,
    db: Db,
    robot_id: RobotFilter = None,
    edge_device_id: Annotated[str | None, Query(pattern=ID_PATTERN, description="only this edge device's")] = None,
) -> list[PeripheralOut]:
    with db.session() as session:
        query = select(Peripheral).order_by(Peripheral.id)
        if robot_id is not None:
            query = query.where(Peripheral.robot_id == robot_id)
        if edge_device_id is not None:
            query = query.where(Peripheral.edge_device_id == edge_device_id)
        return [_out(row) for row in session.scalars(query)]


@router.post(
    "",
    response_model=PeripheralOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"description": "id taken, or a camera past its machine's perception budget (with the numbers)"},
        422: {"description": "invalid body, unknown robot or device, invalid camera config"},
    },
)
def create_peripheral(body: PeripheralCreate, _: Operator, db: Db) -> PeripheralOut:
    with db.session() as session:
        if session.get(Peripheral, body.id) is not None:
            raise ConflictError(f"peripheral {body.id!r} already exists")
        require_row(session, Robot, body.robot_id, "robot")
        require_row(session, EdgeDevice, body.edge_device_id, "edge device")
        check_camera_budget(session, body)
        row = Peripheral(**body.model_dump(), registered_at=utcnow())
        session.add(row)
        session.flush()
        return _out(row)


@router.get("/{peripheral_id}", response_model=PeripheralOut, responses={404: {"description": "no such peripheral"}})
def get_peripheral(peripheral_id: ResourceId, _: Reader, db: Db) -> PeripheralOut:
    with db.session() as session:
        row = session.get(Peripheral, peripheral_id)
        if row is None:
            raise NotFoundError(f"no peripheral {peripheral_id!r}")
        return _out(row)
