"""``GET /metrics``: the server's Prometheus metrics (``observability.metrics``), read scope.

Prometheus sends the key as a header (``http_headers: {X-API-Key: {values: [...]}}`` in its
scrape config, Prometheus ≥ 2.55); ``docs/grafana/dashboard.json`` plots what it scrapes.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from dynamical.api.auth import Reader
from dynamical.api.db import Database
from dynamical.api.models import Execution, Robot
from dynamical.api.write_hooks import attach_metrics
from dynamical.observability.ledger import ledger_paths
from dynamical.observability.metrics import CONTENT_TYPE, RobotSample, ServerMetrics

router = APIRouter(tags=["observability"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text exposition format"}},
)
async def metrics(_: Reader, request: Request) -> Response:
    """Tier rates, late ticks and work time per tier, safety events by rule, executions by status
    and skill, planning latency, agent link state, federated rounds, bytes and DP ε (from the audit
    ledger): Prometheus text format."""
    server: ServerMetrics = request.app.state.metrics
    body = await run_in_threadpool(server.render)
    return Response(body, media_type=CONTENT_TYPE)


def install_metrics(app: FastAPI, db: Database) -> ServerMetrics:
    """The app's metrics: fed by its database writes and its agent hub's reports; ``/metrics``."""
    hub = app.state.agent_hub

    def robots() -> list[RobotSample]:
        connections = dict(getattr(hub, "connections", {}) or {})
        with db.session() as session:
            known = list(session.scalars(select(Robot.id).order_by(Robot.id)))
        now = time.monotonic()
        samples = []
        for robot_id in sorted(set(known) | set(connections)):
            connection = connections.get(robot_id)
            state = connection.state if connection is not None else None
            received = connection.state_received if connection is not None else None
            safety = state.safety if state is not None else None
            samples.append(
                RobotSample(
                    robot_id=robot_id,
                    connected=connection is not None,
                    state_age_s=None if received is None else now - received,
                    busy=bool(state.busy) if state is not None else False,
                    safety_mode=safety.mode if safety is not None else None,
                    interventions=safety.interventions if safety is not None else None,
                    timing=state.timing if state is not None else {},
                )
            )
        return samples

    def executions() -> dict[str, int]:
        with db.session() as session:
            rows = session.execute(select(Execution.status, func.count()).group_by(Execution.status)).all()
        return {str(status): int(count) for status, count in rows}

    server = ServerMetrics(robots, executions, ledger_paths(app.state.settings.data_dir)[0])
    app.state.metrics = server
    attach_metrics(app.state.settings.database_url, server)
    if hub is not None and hasattr(hub, "progress_listeners"):
        hub.progress_listeners.append(lambda robot_id, report: _step_ended(server, report))
        hub.result_listeners.append(lambda robot_id, result: _plan_ended(server, result))
    app.include_router(router)
    return server


def _step_ended(server: ServerMetrics, report: Any) -> None:
    progress = report.progress
    if progress.status in ("succeeded", "failed"):
        server.step_ended(progress.skill_id, progress.status == "succeeded")


async def _plan_ended(server: ServerMetrics, result: Any) -> None:
    outcome = result.outcome
    success = outcome is not None and outcome.success
    status = "succeeded" if success else ("cancelled" if result.cancelled else "failed")
    server.executions_finished.labels(status=status).inc()
