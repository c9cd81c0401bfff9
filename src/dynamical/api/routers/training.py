"""``/api/v1/training/runs``: policy training runs (LeRobot), their progress and loss curves.

Runs started by ``dynamical train`` on this machine and by ``POST`` here share one table. A started
run trains on the server's own machine, in the learning environment, at idle priority.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from dynamical.api.auth import Operator, Reader
from dynamical.api.deps import Db, ResourceId, Settings
from dynamical.api.errors import NotFoundError, UnprocessableError
from dynamical.api.settings import ApiSettings
from dynamical.api.training_manager import TrainingManager
from dynamical.api.training_store import TrainingRunDetail, TrainingRunSummary, get_run, list_runs
from dynamical.learning.env import LearnEnvError
from dynamical.learning.runs import RunError, TrainConfig

router = APIRouter(prefix="/api/v1/training", tags=["training"])
DatasetRef = Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=r"^[^\x00-\x1f\x7f]+$")]


class TrainingRunCreate(TrainConfig):
    """A run to start: the dataset and the settings (``TrainConfig``)."""

    dataset: DatasetRef = Field(
        description="A LeRobot dataset on the server's machine: a name under <data_dir>/datasets, or an absolute path"
    )


def runs_dir(settings: ApiSettings) -> Path:
    """Where runs started through the API keep their directories."""
    return settings.data_dir / "training" / "runs"


def datasets_dir(settings: ApiSettings) -> Path:
    return settings.data_dir / "datasets"


def _manager(request: Request) -> TrainingManager:
    state = request.app.state
    manager = getattr(state, "training", None)
    if manager is None:
        manager = state.training = TrainingManager(state.db, runs_dir(state.settings))
    return manager


@router.get("/runs", response_model=list[TrainingRunSummary])
def list_training_runs(
    _: Reader, db: Db, limit: Annotated[int, Query(ge=1, le=1000, description="newest first")] = 100
) -> list[TrainingRunSummary]:
    """Training runs, newest first, with their latest loss (the curve is on each run)."""
    return list_runs(db, limit)


@router.get("/runs/{run_id}", response_model=TrainingRunDetail, responses={404: {"description": "no such run"}})
def get_training_run(run_id: ResourceId, _: Reader, db: Db) -> TrainingRunDetail:
    """One run: status, settings, dataset, steps, checkpoint, loss curve."""
    run = get_run(db, run_id)
    if run is None:
        raise NotFoundError(f"no training run {run_id!r}")
    return run


@router.post(
    "/runs",
    response_model=TrainingRunDetail,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"description": "a run is training on this machine already"},
        422: {"description": "no such dataset, or invalid settings"},
        503: {"description": "the server's machine has no learning environment (make setup)"},
    },
)
async def start_training_run(
    body: TrainingRunCreate, request: Request, _: Operator, db: Db, settings: Settings
) -> TrainingRunDetail:
    """Start training on the server's machine (learning environment, idle priority); poll the run for progress."""
    dataset = Path(body.dataset)
    if not dataset.is_absolute():
        if dataset.name != body.dataset or body.dataset in (".", ".."):
            raise UnprocessableError("dataset: a name under <data_dir>/datasets (no slashes) or an absolute path")
        dataset = datasets_dir(settings) / dataset
    config = TrainConfig.model_validate(body.model_dump(exclude={"dataset"}))
    manager = _manager(request)
    try:
        record = await run_in_threadpool(manager.start, dataset, config)
    except RunError as exc:
        raise UnprocessableError(str(exc)) from None
    except LearnEnvError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    run = get_run(db, record.id)
    assert run is not None, "the manager writes the row before it returns"
    return run
