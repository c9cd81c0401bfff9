"""The ``training_runs`` rows: written from a run's record as it trains, read by the API and the CLI.

A row says "running" only while the process that keeps the run lives: a launcher killed outright
(SIGKILL, a power cut) cannot write its own ending, so a reader that finds a running row whose
process is gone on this host marks it ``interrupted`` (resumable from its last checkpoint).
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from dynamical.api.db import Database
from dynamical.api.models import TrainingRun
from dynamical.learning.runs import ACTIVE, LossPoint, RunRecord, TrainConfig, pid_alive

LAUNCHER_GONE = "the process training it ended without a word (killed?); resume it from its last checkpoint"


class TrainingRunSummary(BaseModel):
    """A training run in a list: where it stands, without its loss curve."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    status: str
    policy: str
    dataset: str
    out_dir: str
    step: int
    total_steps: int
    checkpoint_step: int | None
    loss: float | None
    """The latest point of the loss curve."""
    priority: str | None
    seconds: float
    attempts: int
    host: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


class TrainingRunDetail(TrainingRunSummary):
    """One training run with its settings and loss curve."""

    config: TrainConfig
    parameters: int | None
    loss_curve: list[LossPoint]


def save_run(db: Database, record: RunRecord) -> None:
    """Insert or update the row of ``record``."""
    with db.session() as session:
        row = session.get(TrainingRun, record.id)
        if row is None:
            row = TrainingRun(id=record.id, created_at=record.created_at)
            session.add(row)
        row.status = record.status
        row.policy = record.config.policy
        row.dataset = record.dataset
        row.out_dir = record.out_dir
        row.config = record.config.model_dump(mode="json")
        row.step = record.step
        row.total_steps = record.config.steps
        row.checkpoint_step = record.checkpoint_step
        row.loss_curve = [[p.step, p.loss] for p in record.loss_curve]
        row.parameters = record.parameters
        row.priority = record.priority
        row.seconds = record.seconds
        row.attempts = record.attempts
        row.host = record.host
        row.pid = record.pid
        row.started_at = record.started_at
        row.finished_at = record.finished_at
        row.error = record.error


def list_runs(db: Database, limit: int = 100) -> list[TrainingRunSummary]:
    """The newest ``limit`` runs, newest first."""
    with db.session() as session:
        rows = list(session.scalars(select(TrainingRun).order_by(TrainingRun.created_at.desc()).limit(limit)))
        return [_summary(_reconciled(session, row)) for row in rows]


def get_run(db: Database, run_id: str) -> TrainingRunDetail | None:
    with db.session() as session:
        row = session.get(TrainingRun, run_id)
        if row is None:
            return None
        row = _reconciled(session, row)
        return TrainingRunDetail(
            **_summary(row).model_dump(),
            config=TrainConfig.model_validate(row.config),
            parameters=row.parameters,
            loss_curve=[LossPoint(step=int(s), loss=float(v)) for s, v in row.loss_curve],
        )


def _summary(row: TrainingRun) -> TrainingRunSummary:
    curve = row.loss_curve or []
    return TrainingRunSummary(
        id=row.id,
        status=row.status,
        policy=row.policy,
        dataset=row.dataset,
        out_dir=row.out_dir,
        step=row.step,
        total_steps=row.total_steps,
        checkpoint_step=row.checkpoint_step,
        loss=float(curve[-1][1]) if curve else None,
        priority=row.priority,
        seconds=row.seconds,
        attempts=row.attempts,
        host=row.host,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
    )


def _reconciled(session: Session, row: TrainingRun) -> TrainingRun:
    if row.status in ACTIVE and row.host == socket.gethostname() and not pid_alive(row.pid):
        row.status = "interrupted"
        row.error = LAUNCHER_GONE
        row.finished_at = row.finished_at or datetime.now(UTC)
    return row
