"""`dynamical bench observability`: what the ledger, the scrape and the export cost.

- audit append: one ``AuditLedger.append`` each (chain hash, a line appended under the file
  lock, a signature and fsync every ``SIGN_EVERY``), p50/p99/max;
- verification: ``verify_file`` over the same ledger, entries per second;
- ``/metrics``: a scrape of a server with N robots reporting two tiers each and counters for
  every rule, p50/p99 (rendering, the work the route does);
- export: a recorded execution of S robot seconds at 30 Hz (the robot's joints, four objects,
  kernel events, plan steps) written as .rrd and .mcap.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from dynamical.observability.export import ExecutionExport, export_execution
from dynamical.observability.ledger import AuditLedger
from dynamical.observability.metrics import RobotSample, ServerMetrics
from dynamical.observability.recording import EventSample, ExecutionRecording, StateSample, StepSample
from dynamical.observability.verify import verify_data_dir
from dynamical.safety.rules import Rule

STATE_HZ = 30.0
JOINTS = 38
OBJECTS = ("red_cube", "green_cube", "blue_cube", "red_cup")


class ObservabilityBench(BaseModel):
    """Wall-clock figures, and CPU time (this thread's) beside them: on a loaded machine the wall
    clock measures the waits for a core, the CPU time what the work itself costs."""

    audit_entries: int
    audit_append_p50_us: float
    audit_append_p99_us: float
    audit_append_max_us: float
    audit_append_cpu_p99_us: float
    verify_entries_per_s: float
    metrics_robots: int
    metrics_scrape_p50_ms: float
    metrics_scrape_p99_ms: float
    metrics_scrape_cpu_p99_ms: float
    metrics_bytes: int
    export_robot_s: float
    export_samples: int
    rerun_import_s: float
    """Loading rerun-sdk, once per process (the first .rrd export pays it)."""
    export_rrd_s: float
    export_rrd_cpu_s: float
    export_rrd_bytes: int
    export_mcap_s: float
    export_mcap_cpu_s: float
    export_mcap_bytes: int


def _rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))]


def bench_observability(entries: int, robots: int, seconds: float) -> ObservabilityBench:
    with tempfile.TemporaryDirectory(prefix="dynamical-bench-") as scratch:
        root = Path(scratch)
        append_us, append_cpu_us = _appends(root / "ledger", entries)
        verified = verify_data_dir(root / "ledger")
        scrape_ms, scrape_cpu_ms, size = _scrapes(robots)
        t0 = time.perf_counter()
        import rerun  # noqa: F401 (timed apart from the export)

        rerun_import_s = time.perf_counter() - t0
        (rrd_s, rrd_cpu, rrd_bytes), (mcap_s, mcap_cpu, mcap_bytes), samples = _exports(root, seconds)
    return ObservabilityBench(
        audit_entries=entries,
        audit_append_p50_us=round(_rank(append_us, 0.5), 1),
        audit_append_p99_us=round(_rank(append_us, 0.99), 1),
        audit_append_max_us=round(max(append_us), 1),
        audit_append_cpu_p99_us=round(_rank(append_cpu_us, 0.99), 1),
        verify_entries_per_s=verified.entries_per_s,
        metrics_robots=robots,
        metrics_scrape_p50_ms=round(_rank(scrape_ms, 0.5), 3),
        metrics_scrape_p99_ms=round(_rank(scrape_ms, 0.99), 3),
        metrics_scrape_cpu_p99_ms=round(_rank(scrape_cpu_ms, 0.99), 3),
        metrics_bytes=size,
        export_robot_s=seconds,
        export_samples=samples,
        rerun_import_s=round(rerun_import_s, 3),
        export_rrd_s=round(rrd_s, 3),
        export_rrd_cpu_s=round(rrd_cpu, 3),
        export_rrd_bytes=rrd_bytes,
        export_mcap_s=round(mcap_s, 3),
        export_mcap_cpu_s=round(mcap_cpu, 3),
        export_mcap_bytes=mcap_bytes,
    )


def _appends(data_dir: Path, entries: int) -> tuple[list[float], list[float]]:
    """Wall and CPU µs of each append."""
    ledger = AuditLedger(data_dir)
    wall, cpu = [], []
    for i in range(entries):
        detail = {"status_code": 200, "client": "127.0.0.1", "audit_log_id": i}
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        ledger.append("request", "a1b2c3d4e5", f"POST /api/v1/robot/invoke_skill #{i}", detail)
        cpu.append((time.thread_time_ns() - c0) / 1e3)
        wall.append((time.perf_counter_ns() - t0) / 1e3)
    ledger.sign_now()
    return wall, cpu


def _timing(rate: float, period: float) -> dict[str, object]:
    return {
        "name": "tier",
        "period_s": period,
        "rate_hz": rate,
        "ticks": 123_456,
        "late_ticks": 12,
        "late_fraction": 1e-4,
        "overruns": 1,
        "missed": 0,
        "protective_stops": 0,
        "jitter_us": {"p50": 3.0, "p99": 40.0, "p99_9": 300.0, "max": 900.0},
        "work_us": {"p50": 80.0, "p99": 210.0, "max": 800.0},
    }


def _scrapes(robots: int, scrapes: int = 200) -> tuple[list[float], list[float], int]:
    samples = [
        RobotSample(
            robot_id=f"robot-{i:02d}",
            connected=True,
            state_age_s=0.02,
            busy=i % 2 == 0,
            safety_mode="RUNNING",
            interventions=i,
            timing={"safety": _timing(999.8, 1e-3), "control": _timing(199.9, 5e-3)},
        )
        for i in range(robots)
    ]
    metrics = ServerMetrics(lambda: samples, lambda: {"succeeded": 1200, "failed": 40, "cancelled": 3})
    for sample in samples:
        for rule in Rule:
            metrics.safety_events.labels(robot=sample.robot_id, rule=rule.name).inc()
    for skill in ("reach", "grasp", "place", "handover", "wave", "go_home"):
        metrics.step_ended(skill, True)
        metrics.step_ended(skill, False)
    for ms in np.linspace(5, 400, 100):
        metrics.planning.observe(ms / 1e3)
    wall, cpu = [], []
    size = 0
    for _ in range(scrapes):
        t0, c0 = time.perf_counter(), time.thread_time()
        body = metrics.render()
        cpu.append((time.thread_time() - c0) * 1e3)
        wall.append((time.perf_counter() - t0) * 1e3)
        size = len(body)
    return wall, cpu, size


def synthetic_recording(request_id: str, seconds: float) -> ExecutionRecording:
    """An execution of ``seconds`` robot seconds as the server records one: 30 Hz states of a
    ``JOINTS``-joint robot moving smoothly, four objects, kernel events, three steps with phases."""
    n = round(seconds * STATE_HZ)
    recording = ExecutionRecording(
        request_id=request_id, robot_id="bench", joint_names=[f"joint_{j}" for j in range(JOINTS)]
    )
    phase = np.linspace(0.0, 1.0, JOINTS)
    for k in range(n):
        t = k / STATE_HZ
        q = np.sin(0.5 * t + phase) * 0.8
        dq = np.cos(0.5 * t + phase) * 0.4
        objects = {
            name: [0.4 + 0.05 * i, -0.2 + 0.1 * i, 0.78 + (0.1 * math.sin(t) if i == 0 else 0.0), 1.0, 0.0, 0.0, 0.0]
            for i, name in enumerate(OBJECTS)
        }
        recording.add(StateSample(t=t, q=q.tolist(), dq=dq.tolist(), objects=objects, safety_mode="RUNNING"))
    for i, (skill, status) in enumerate((("reach", "succeeded"), ("grasp", "succeeded"), ("place", "failed"))):
        start = i * seconds / 3
        phases = [
            {"name": f"phase {p}", "duration_s": seconds / 12, "hands": {"right": [0.4, -0.2, 0.9]}} for p in range(4)
        ]
        recording.steps.append(StepSample(t=start, step_id=f"s{i + 1}", skill_id=skill, status="running"))
        recording.steps.append(
            StepSample(t=start + 0.05, step_id=f"s{i + 1}", skill_id=skill, status="running", phases=phases)
        )
        failure = "postcondition at(obj=red_cube, surface=shelf) does not hold" if status == "failed" else None
        recording.steps.append(
            StepSample(
                t=start + seconds / 3 - 0.01, step_id=f"s{i + 1}", skill_id=skill, status=status, failure=failure
            )
        )
    recording.events.extend(
        EventSample(
            t=seconds * (0.5 + 0.01 * i),
            rule="KEEP_OUT_ZONE",
            zone="shelf_keepout",
            point="r_hand",
            value=-0.01,
            limit=0.0,
        )
        for i in range(40)
    )
    return recording


def _exports(root: Path, seconds: float) -> tuple[tuple[float, float, int], tuple[float, float, int], int]:
    """(wall s, CPU s, bytes) of the .rrd and of the .mcap, and the samples exported."""
    recording = synthetic_recording("00000000-0000-4000-8000-000000000020", seconds)
    data = ExecutionExport(
        request_id=recording.request_id,
        robot_id="bench",
        task="pick up the red cube and place it on the shelf",
        status="failed",
        error="postcondition at(obj=red_cube, surface=shelf) does not hold",
        plan_steps=[{"step_id": s, "skill_ids": [k]} for s, k in (("s1", "reach"), ("s2", "grasp"), ("s3", "place"))],
        events=recording.events,
        recording=recording,
    )
    out = []
    for fmt in ("rrd", "mcap"):
        c0 = time.thread_time()
        report = export_execution(data, fmt, root / f"bench.{fmt}")  # type: ignore[arg-type]
        out.append((report.seconds, time.thread_time() - c0, report.bytes))
    return out[0], out[1], len(recording.samples)
