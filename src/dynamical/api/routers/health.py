"""``GET /health``: the server, its database and every agent link.

No API key needed: a load balancer asks it. Without a key it says only whether each part is ok
and how many robots are connected; with a valid key (any scope) it names the robots, their
peers and each component's detail. (The gate has already refused a key that was sent but wrong.)
"""

from __future__ import annotations

import inspect

from fastapi import APIRouter, Request, Response, status
from starlette.concurrency import run_in_threadpool

import dynamical
from dynamical.api.db import Database, DatabaseError
from dynamical.api.hub import AgentHub, HealthCheck
from dynamical.api.migrate import schema_status
from dynamical.api.schemas import ComponentHealth, HealthOut

router = APIRouter(tags=["health"])
ANONYMOUS_DATABASE_DOWN = (
    "unreachable or not at this server's schema: see the server's log, then `dynamical db upgrade` if it says so"
)


def _database(db: Database) -> ComponentHealth:
    try:
        db.ping()
        schema = schema_status(db)
    except DatabaseError as exc:
        return ComponentHealth(name="database", ok=False, detail=str(exc))
    if not schema.up_to_date:
        detail = f"schema {schema.current or 'none'}, this server needs {schema.head}: run `dynamical db upgrade`"
        return ComponentHealth(name="database", ok=False, detail=detail)
    return ComponentHealth(name="database", ok=True, detail=f"{db.dialect}, schema {schema.current}")


async def _run(check: HealthCheck) -> ComponentHealth:
    name = getattr(check, "__name__", type(check).__name__)
    try:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        return result  # type: ignore[return-value]
    except Exception as exc:  # a broken check is reported, not raised
        return ComponentHealth(name=name, ok=False, detail=f"{type(exc).__name__}: {exc}")


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
async def health(request: Request, response: Response) -> HealthOut:
    """Is the server usable: database reachable and migrated, agent links, extra checks."""
    database = await run_in_threadpool(_database, request.app.state.db)
    hub: AgentHub | None = request.app.state.agent_hub
    agents = list(hub.connected_robots()) if hub is not None else []
    components = [await _run(check) for check in request.app.state.health_checks]
    ok = database.ok and all(c.ok for c in components)
    # Without its database the server can do nothing: tell load balancers with a 503.
    if not database.ok:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    detailed = getattr(request.state, "principal", None) is not None
    if not detailed:
        # A database's detail can name its host; without a key, only what to do about it.
        hidden = "" if database.ok else ANONYMOUS_DATABASE_DOWN
        database = database.model_copy(update={"detail": hidden})
        components = [c.model_copy(update={"detail": ""}) for c in components]
    return HealthOut(
        status="ok" if ok else "degraded",
        version=dynamical.__version__,
        detailed=detailed,
        agents_connected=len(agents),
        database=database,
        agents=agents if detailed else [],
        components=components,
    )
