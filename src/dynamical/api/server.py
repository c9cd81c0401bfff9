"""The whole platform server: ``create_app`` plus the agent link, invoke, telemetry and traces.

``build_server(settings)`` is what ``dynamical up`` serves. The app factory stays usable without
any of this (its tests do), and this module is the one place that wires the parts together.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from dynamical.api.agent_link import AgentLinkHub
from dynamical.api.app import create_app
from dynamical.api.db import Database
from dynamical.api.invoker import Invoker
from dynamical.api.learned_routing import refresh_routing
from dynamical.api.plan_zones import stored_zones
from dynamical.api.planning import Planner
from dynamical.api.routers import invoke, operations, recording
from dynamical.api.settings import ApiSettings
from dynamical.api.telemetry import Telemetry, telemetry_router
from dynamical.api.tracing import make_tracer_provider
from dynamical.api.ui import default_ui_dir, install_ui

log = logging.getLogger(__name__)


class ReceivedAt:
    """Stamps each HTTP request with when it arrived (perf_counter and Unix ns), before routing,
    authentication and body parsing: planning overhead is measured from there."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["dynamical.received"] = (time.perf_counter(), time.time_ns())
        await self.app(scope, receive, send)


def build_server(settings: ApiSettings, *, prepare_database: bool = True, warm_up: bool = True) -> FastAPI:
    """The server with its agent link; ``warm_up`` loads the router's model before serving."""
    db = Database(settings.database_url)
    telemetry = Telemetry()
    hub = AgentLinkHub(db, telemetry, spool=settings.data_dir / "safety-records.spool")
    provider = make_tracer_provider(db)
    planner = Planner(zones=stored_zones(db))
    invoker = Invoker(db, hub, planner, provider)

    @asynccontextmanager
    async def running(app: FastAPI) -> AsyncIterator[None]:
        orphans = await run_in_threadpool(invoker.interrupt_orphans)
        if orphans:
            log.warning("%d executions were left running by the last server: marked interrupted", orphans)
        if warm_up:
            await run_in_threadpool(planner.warm_up)
        await run_in_threadpool(refresh_routing, planner, db)  # learned skills delivered before
        try:
            yield
        finally:
            provider.shutdown()
            await run_in_threadpool(hub.close)  # queued safety records: stored, or spooled
            db.dispose()

    app = create_app(
        settings,
        agent_hub=hub,
        on_zones_changed=hub.push_zones,
        health_checks=[hub.health, hub.records.health],
        routers=[invoke.router, operations.router, recording.router, hub.router, telemetry_router(telemetry)],
        lifespan=running,
        prepare_database=prepare_database,
    )
    # The hub and invoker write through their own engine on the same database as the app's.
    app.state.invoker = invoker
    app.state.telemetry = telemetry
    app.add_middleware(ReceivedAt)
    install_ui(app, settings.ui_dir or default_ui_dir())  # last: it answers every other GET
    return app
