"""``/api/v1/compute``: each machine's perception budget, its cameras' measured cost and headroom.

A camera peripheral whose ``config`` has a stream ``url`` (rtsp://…) is one perception ingests;
its ``width``, ``height`` and ``fps`` (default 320, 240, 10) size its cost. A camera without a
stream URL is not processed by perception and costs it nothing.

Registering a camera that would take a machine past its budget is refused (409) with the
numbers: see ``check_camera_budget``, called by ``POST /api/v1/peripherals``.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from dynamical.api.auth import Reader
from dynamical.api.deps import Db
from dynamical.api.errors import ConflictError, UnprocessableError
from dynamical.api.models import Peripheral
from dynamical.api.schemas import PeripheralCreate
from dynamical.perception.compute import CameraAllocation, CameraLoad, MachineBudget, allocation, machine_budget

router = APIRouter(prefix="/api/v1/compute", tags=["compute"])
CAMERA_KINDS = ("camera", "depth_camera")


def _machine(robot_id: str | None, edge_device_id: str | None) -> str:
    if robot_id is not None:
        return f"robot:{robot_id}"
    if edge_device_id is not None:
        return f"edge_device:{edge_device_id}"
    return "unassigned"


def camera_load(config: dict) -> CameraLoad | None:
    """A camera peripheral's ``config`` (url, width, height, fps) as a load, None without a stream
    URL; 422 when invalid."""
    if "url" not in config:
        return None
    try:
        return CameraLoad.model_validate(config)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UnprocessableError(f"config.{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def _allocations(session: Session) -> dict[str, list[CameraAllocation]]:
    out: dict[str, list[CameraAllocation]] = {}
    rows = session.scalars(select(Peripheral).where(Peripheral.kind.in_(CAMERA_KINDS)).order_by(Peripheral.id))
    for row in rows:
        if "url" not in (row.config or {}):
            continue
        try:
            load = CameraLoad.model_validate(row.config)
        except ValidationError:
            continue  # registered before budgets were checked, with a config they cannot read
        out.setdefault(_machine(row.robot_id, row.edge_device_id), []).append(allocation(row.id, load))
    return out


def check_camera_budget(session: Session, body: PeripheralCreate) -> None:
    """Refuse (409) a camera that would take its machine's perception past its budget."""
    if body.kind not in CAMERA_KINDS:
        return
    load = camera_load(body.config)
    if load is None:
        return
    machine = _machine(body.robot_id, body.edge_device_id)
    cameras = _allocations(session).get(machine, [])
    after = machine_budget(machine, [*cameras, allocation(body.id, load)])
    if after.headroom_cores < 0:
        new = after.cameras[-1]
        raise ConflictError(
            f"camera {body.id!r} ({load.width}x{load.height} at {load.fps:g} fps) needs {new.cores:.3f} cores "
            f"({new.ms_per_frame:.1f} ms a frame measured here); {machine} has {after.perception_cores:.3f} "
            f"perception cores with {after.perception_cores - after.allocated_cores + new.cores:.3f} left"
        )


@router.get("", response_model=list[MachineBudget])
def get_compute(_: Reader, db: Db) -> list[MachineBudget]:
    """Every machine with cameras: its cores, perception's share, what each camera takes
    (the cheap tier's measured ms a frame × its fps) and the headroom."""
    with db.session() as session:
        return [machine_budget(m, cams) for m, cams in sorted(_allocations(session).items())]
