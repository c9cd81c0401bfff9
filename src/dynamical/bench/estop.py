"""``dynamical bench estop``: e-stop → robot acknowledgement latency through the API, with the
database free and with its write lock held by another connection.

A platform server (this process) and a simulated robot agent (a child process, as ``dynamical
up`` runs it) on loopback. Each trial posts ``POST /api/safety/estop`` with no body and waits for
the answer, which comes once the robot confirmed and its kernel's state shows the stop latched;
then the stop is reset. In the locked series another SQLite connection holds ``BEGIN IMMEDIATE``
around each e-stop (released before the reset), so nothing the e-stop needs may wait for a write.
After both series, the e-stops' audit rows and the kernels' ESTOP events must all be stored.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from dynamical.api.models import AuditEntry, SafetyEvent
from dynamical.bench.live import AgentMode, LivePlatform, write_locked
from dynamical.safety.rules import Rule

ROBOT = "bench_estop_001"
RESET_TIMEOUT_S = 10.0


class Latency(BaseModel):
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        ms = np.asarray(seconds) * 1e3
        return cls(
            p50_ms=round(float(np.percentile(ms, 50)), 2),
            p99_ms=round(float(np.percentile(ms, 99)), 2),
            max_ms=round(float(ms.max()), 2),
        )


class Series(BaseModel):
    database: str = Field(description="free, or write-locked by another connection")
    trials: int
    confirmed: int = Field(description="answers with ok: the robot confirmed and its kernel latched the stop")
    request: Latency = Field(description="POST /api/safety/estop → its answer, at the client")
    robot: Latency = Field(description="e-stop sent on the agent link → the robot's latched state, on the server")


class EstopBenchResult(BaseModel):
    agent_mode: str
    series: list[Series]
    audit_rows_stored: int = Field(description="audit rows of the e-stops, once the lock is released")
    estop_events_stored: int = Field(description="ESTOP events the kernels reported, stored")
    expected: int = Field(description="e-stops made: every one needs its audit row and its event")


def bench_estop(trials: int = 50, mode: AgentMode = "realtime", data_dir: Path | None = None) -> EstopBenchResult:
    """``trials`` e-stops with the database free, then ``trials`` with it write-locked."""
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dynamical-bench-estop-")))
        platform = stack.enter_context(LivePlatform.in_dir(data_dir))
        platform.link_robot(ROBOT, mode=mode, child_process=True)
        client = stack.enter_context(platform.client())
        series = [_series(platform, client, trials, locked) for locked in (False, True)]
        if not platform.hub.records.flush(30.0):
            raise RuntimeError("the queued safety records were not stored within 30 s of the lock's release")
        with platform.app.state.db.session() as session:
            audits = session.scalar(
                select(func.count()).where(AuditEntry.path == "/api/safety/estop", AuditEntry.status_code == 200)
            )
            events = session.scalar(
                select(func.count()).where(SafetyEvent.robot_id == ROBOT, SafetyEvent.rule == int(Rule.ESTOP))
            )
        return EstopBenchResult(
            agent_mode=mode,
            series=series,
            audit_rows_stored=int(audits or 0),
            estop_events_stored=int(events or 0),
            expected=2 * trials,
        )


def _series(platform: LivePlatform, client, trials: int, locked: bool) -> Series:  # type: ignore[no-untyped-def]
    requests, robots, confirmed = [], [], 0
    for _ in range(trials):
        lock = write_locked(platform.db_path) if locked else contextlib.nullcontext()
        with lock:
            started = time.perf_counter()
            answer = client.post("/api/safety/estop")
            requests.append(time.perf_counter() - started)
        answer.raise_for_status()
        body = answer.json()
        confirmed += bool(body["ok"])
        robots.extend(r["answered_in_ms"] / 1e3 for r in body["robots"])
        _reset(platform, client)
    return Series(
        database="write-locked" if locked else "free",
        trials=trials,
        confirmed=confirmed,
        request=Latency.of(requests),
        robot=Latency.of(robots),
    )


def _reset(platform: LivePlatform, client) -> None:  # type: ignore[no-untyped-def]
    """Clear the latched stop and wait until the robot's state shows it cleared (the kernel
    refuses a reset until the robot is still; a trial must not find the last stop still latched)."""
    deadline = time.monotonic() + RESET_TIMEOUT_S
    while time.monotonic() < deadline:
        answer = client.post("/api/safety/reset", json={})
        if answer.status_code == 200 and answer.json()["ok"]:
            settle = time.monotonic() + 1.0
            while time.monotonic() < settle:
                state = platform.hub.connections[ROBOT].state
                if state is not None and state.safety is not None and state.safety.estop_category is None:
                    return
                time.sleep(0.01)
        time.sleep(0.05)
    raise RuntimeError(f"the robot's e-stop could not be reset within {RESET_TIMEOUT_S:g} s")
