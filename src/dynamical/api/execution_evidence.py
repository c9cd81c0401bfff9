"""An execution as observability reads it, gathered from the database (its row, its safety events,
its trace) and the data dir (its recording): for export (``observability.export``) and for
root-cause analysis (``observability.rca``). The server's routers and the offline CLI use it alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from dynamical.api.db import Database
from dynamical.api.errors import NotFoundError
from dynamical.api.models import Execution, SafetyEvent
from dynamical.observability.export import ExecutionExport
from dynamical.observability.rca import (
    ExecutionEvidence,
    ObjectEvidence,
    PhaseEvidence,
    PredicateEvidence,
    StepEvidence,
)
from dynamical.observability.recording import EventSample, ExecutionRecording, load_recording
from dynamical.safety.rules import Rule

MAX_EVENTS = 5000


def load_execution(db: Database, data_dir: Path, request_id: str) -> tuple[Execution, list[SafetyEvent], Any]:
    """The row, its events and its recording; 404 for an unknown execution."""
    with db.session() as session:
        row = session.get(Execution, request_id)
        if row is None:
            raise NotFoundError(f"no execution {request_id!r}")
        events = list(
            session.scalars(
                select(SafetyEvent)
                .where(SafetyEvent.request_id == request_id)
                .order_by(SafetyEvent.id)
                .limit(MAX_EVENTS)
            )
        )
        session.expunge_all()
    try:
        recording = load_recording(data_dir, request_id)
    except (OSError, ValueError):
        recording = None  # a damaged recording: the analysis and export go on without it
    return row, events, recording


def _event_sample(event: SafetyEvent, recording: ExecutionRecording | None) -> EventSample:
    names = recording.joint_names if recording is not None else []
    # A zone event's index is a monitored point's, not a joint's: its names are stored with it
    # (rows stored before they were come from the recorded telemetry, which carried them).
    zone_event = event.rule == int(Rule.KEEP_OUT_ZONE)
    joint = names[event.joint] if not zone_event and 0 <= event.joint < len(names) else None
    zone, point = (event.zone, event.point) if zone_event else (None, None)
    if zone_event and zone is None:
        recorded = _recorded_event(recording, event)
        zone, point = (recorded.zone, recorded.point) if recorded is not None else (None, None)
    return EventSample(
        t=event.t,
        rule=event.rule_name,
        joint=joint,
        zone=zone,
        point=point,
        value=event.value,
        limit=event.limit,
    )


def _recorded_event(recording: ExecutionRecording | None, event: SafetyEvent) -> EventSample | None:
    """The recorded copy of ``event`` (the telemetry carried the zone's and point's names)."""
    if recording is None:
        return None
    return next((e for e in recording.events if abs(e.t - event.t) < 1e-9 and e.rule == event.rule_name), None)


def gather_export(db: Database, data_dir: Path, request_id: str) -> ExecutionExport:
    row, events, recording = load_execution(db, data_dir, request_id)
    return ExecutionExport(
        request_id=row.request_id,
        robot_id=row.robot_id,
        task=row.task_description or row.goal,
        status=row.status,
        error=row.error,
        plan_steps=list((row.plan or {}).get("steps", [])),
        events=[_event_sample(e, recording) for e in events],
        recording=recording,
    )


def gather_evidence(db: Database, data_dir: Path, request_id: str) -> ExecutionEvidence:
    row, events, recording = load_execution(db, data_dir, request_id)
    samples = [_event_sample(e, recording) for e in events]
    outcome = ((row.result or {}).get("outcome") or {}) if row.result else {}
    plan_steps = list((row.plan or {}).get("steps", []))
    steps = []
    for index, step in enumerate(outcome.get("steps") or []):
        step_id = plan_steps[index]["step_id"] if index < len(plan_steps) else f"step{index + 1}"
        window = _window(recording, step_id)
        steps.append(
            StepEvidence(
                step_id=step_id,
                skill=step.get("skill", "?"),
                params=step.get("params") or {},
                success=bool(step.get("success")),
                failure=step.get("failure"),
                cause=step.get("cause"),
                duration_s=float(step.get("duration_s") or 0.0),
                interventions=int(step.get("interventions") or 0),
                hard_limit_holds=int(step.get("hard_limit_holds") or 0),
                postconditions=[PredicateEvidence(**p) for p in step.get("postconditions") or []],
                t_start=window[0],
                t_end=window[1],
                phases=window[2],
            )
        )
    objects = _objects(recording, steps)
    estop = next((e for e in samples if e.rule == "ESTOP"), None)
    return ExecutionEvidence(
        execution_id=row.request_id,
        status=row.status,
        error=row.error,
        steps=steps,
        events=samples,
        objects=objects,
        estop_category=int(estop.value) if estop is not None and estop.value is not None else None,
    )


def _window(
    recording: ExecutionRecording | None, step_id: str
) -> tuple[float | None, float | None, list[PhaseEvidence]]:
    """The step's start and end on the robot's clock and its phases laid from its launch."""
    if recording is None:
        return None, None, []
    mine = [s for s in recording.steps if s.step_id == step_id]
    start = next((s for s in mine if s.status == "running"), None)
    launched = next((s for s in mine if s.status == "running" and s.phases), None)
    end = next((s for s in mine if s.status in ("succeeded", "failed")), None)
    if start is None or start.t != start.t:  # NaN: the robot had sent no state yet
        return None, None, []
    t_end = end.t if end is not None and end.t == end.t else None
    phases = []
    if launched is not None:
        at = launched.t
        for phase in launched.phases:
            duration = float(phase.get("duration_s") or 0.0)
            phases.append(
                PhaseEvidence(name=phase["name"], t_start=at, t_end=at + duration, hands=phase.get("hands") or {})
            )
            at += duration
    return start.t, t_end, phases


def _objects(recording: ExecutionRecording | None, steps: list[StepEvidence]) -> list[ObjectEvidence]:
    if recording is None or not recording.samples:
        return []
    failed = next((s for s in steps if not s.success), None)
    first_t = recording.samples[0].t
    names = sorted({name for s in recording.samples for name in s.objects})
    out = []
    for name in names:
        start = failed.t_start if failed is not None and failed.t_start is not None else first_t
        end = failed.t_end if failed is not None and failed.t_end is not None else recording.samples[-1].t
        out.append(
            ObjectEvidence(
                name=name,
                at_plan=recording.object_at(name, first_t),
                at_step_start=recording.object_at(name, start),
                at_step_end=recording.object_at(name, end),
            )
        )
    return out
