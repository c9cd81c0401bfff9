"""The app factory: ``create_app(settings)`` builds the platform server.

To extend it (the agent link, invoke_skill, telemetry), pass what runs beside it::

    app = create_app(settings, agent_hub=hub, on_zones_changed=hub.push_zones,
                     health_checks=[hub.health], routers=[invoke_router], lifespan=hub.running)

or add to ``app.state.zone_listeners`` / ``app.state.health_checks`` and ``app.include_router``
after. ``lifespan`` is an async context manager factory run inside the server's own (the
database is ready when it starts and still open when it ends).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

import dynamical
from dynamical.api.audit import install_audit
from dynamical.api.auth_throttle import AuthThrottle
from dynamical.api.bootstrap import init_database, open_registry
from dynamical.api.data_dir import secure_data_dir
from dynamical.api.db import Database
from dynamical.api.errors import install_error_handlers
from dynamical.api.execution_recorder import recording
from dynamical.api.gate import RequestGate
from dynamical.api.headers import SecurityHeaders
from dynamical.api.hub import AgentHub, HealthCheck, ZonesListener
from dynamical.api.key_sessions import KeySessions
from dynamical.api.migrate import require_current
from dynamical.api.routers import (
    analysis,
    audit,
    compute,
    datasets,
    edge_devices,
    export,
    fl,
    gloves,
    health,
    peripherals,
    robots,
    safety,
    skills,
    teleop,
)
from dynamical.api.routers.metrics import install_metrics
from dynamical.api.routers.training import router as training_router
from dynamical.api.settings import ApiSettings
from dynamical.api.write_hooks import attach as attach_ledger

log = logging.getLogger(__name__)
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    settings: ApiSettings,
    *,
    agent_hub: AgentHub | None = None,
    on_zones_changed: ZonesListener | None = None,
    health_checks: Sequence[HealthCheck] = (),
    routers: Sequence[APIRouter] = (),
    lifespan: Lifespan | None = None,
    prepare_database: bool = True,
) -> FastAPI:
    """The server. With ``prepare_database`` (default) it migrates the database and seeds the built-in
    skills at start (both idempotent); without, it refuses to start on a schema that is not current."""
    # Before anything opens a file there: the keyring refuses to load while others can read it.
    secure_data_dir(settings.data_dir, settings.database_url)
    db = Database(settings.database_url)
    # Before the first write: keys made at the first start are in the ledger too.
    ledger = attach_ledger(settings.database_url, settings.data_dir)

    key_sessions = KeySessions(db)

    @asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        if prepare_database:
            report = await run_in_threadpool(init_database, settings, db)
            log.info("database %s at schema %s", report.database, report.revision)
        else:
            await run_in_threadpool(require_current, db)
        try:
            async with key_sessions.watching(), recording(app):
                if lifespan is None:
                    yield
                else:
                    async with lifespan(app):
                        yield
        finally:
            await run_in_threadpool(ledger.sign_now)
            db.dispose()

    app = FastAPI(
        title="Dynamical Edge platform server",
        version=dynamical.__version__,
        description="Fleet, skills and safety of robots running Dynamical Edge. "
        "Every `/api/` endpoint needs an `X-API-Key` header, checked before the body is read; scopes nest: "
        "read < operate < admin. Bodies are limited to 1 MiB (413 past it; a skill upload to its own limit). "
        "A client address that keeps failing authentication gets 429 with Retry-After. "
        "`/health` (details only with a key), this page and `/openapi.json` are public.",
        lifespan=run,
        docs_url="/docs" if settings.api_docs else None,
        redoc_url="/redoc" if settings.api_docs else None,
        openapi_url="/openapi.json" if settings.api_docs else None,
        responses={
            413: {"description": "body larger than the route's limit"},
            429: {"description": "too many failed authentications from this address"},
        },
    )
    app.state.settings = settings
    app.state.db = db
    app.state.registry = open_registry(settings, db)
    app.state.agent_hub = agent_hub
    app.state.zone_listeners = [on_zones_changed] if on_zones_changed is not None else []
    app.state.health_checks = list(health_checks)
    app.state.key_sessions = key_sessions
    app.state.auth_throttle = AuthThrottle(settings.auth_failures_allowed, settings.auth_failure_window_s)

    install_error_handlers(app)
    install_audit(app)
    # Added after the audit middleware, so outside it: a request refused at the gate (no key, a
    # body too large) never reaches the audit log row by row; the throttle summarises failures.
    app.add_middleware(RequestGate, settings=settings, db=db, throttle=app.state.auth_throttle)
    app.add_middleware(SecurityHeaders)
    for router in (health.router, robots.router, skills.router, edge_devices.router, peripherals.router, safety.router):
        app.include_router(router)
    for router in (audit.router, analysis.router, export.router):
        app.include_router(router)
    app.include_router(training_router)
    app.include_router(datasets.router)
    app.include_router(teleop.router)
    app.include_router(gloves.router)
    app.include_router(fl.router)
    app.include_router(compute.router)
    install_metrics(app, db)
    for router in routers:
        app.include_router(router)
    return app
