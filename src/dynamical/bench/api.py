"""``dynamical bench api``: planning overhead and sustained plan-request load on a real server.

The bench starts the platform server (uvicorn on a free port, a throwaway data directory) and a
real lock-step robot agent linked to it over the WebSocket, then measures:

- planning overhead of ``invoke_skill``: request in → plan handed to the agent, as the server
  stamps it (``planning_time_ms``), over ``invokes`` short tasks that the robot then runs;
- the same for plan-only requests (``/skills/request``: request in → plan ready), many of them;
- a sustained open-loop load of plan-only requests at ``rate`` per second: errors, achieved rate,
  client-side latency.
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from pydantic import BaseModel

from dynamical.config import Settings

SEED_TASK = "pick up the red cube and place it on the shelf"
SHORT_TASK = "wave"


class ApiBenchResult(BaseModel):
    invokes: int
    invoke_planning_ms_p50: float
    invoke_planning_ms_max: float
    plan_requests: int
    plan_only_ms_p50: float
    plan_only_ms_p99: float
    sustained_rate_target: float
    sustained_rate_achieved: float
    sustained_requests: int
    sustained_errors: int
    sustained_latency_ms_p50: float
    sustained_latency_ms_p99: float
    seed_task_runs: int = 0
    """Seed-task invokes, each on a world laid out anew from seed 0, 1, … (``POST …/sim/reset``)."""
    seed_task_successes: int = 0
    seed_task_success_rate: float | None = None
    seed_task_failed_seeds: list[int] = []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))] if ordered else float("nan")


def bench_api(
    settings: Settings,
    requests: int = 200,
    rate: float = 50.0,
    seconds: float = 20.0,
    invokes: int = 5,
    seed_task_runs: int = 0,
    agent_speed: float = 1.0,
) -> ApiBenchResult:
    import uvicorn

    from dynamical.agent.credential import default_path
    from dynamical.agent.link_client import AgentLinkClient, LinkConfig, RobotIdentity
    from dynamical.agent.robot_agent import make_robot_agent
    from dynamical.api.auth import Scope, create_api_key
    from dynamical.api.bootstrap import init_database
    from dynamical.api.db import Database
    from dynamical.api.robot_credentials import issue
    from dynamical.api.server import build_server
    from dynamical.api.settings import ApiSettings
    from dynamical.launch import load_description, load_world
    from dynamical.skills.builtin.catalog import EMBODIMENT, builtin_manifests

    with tempfile.TemporaryDirectory() as scratch:
        api_settings = ApiSettings.from_settings(settings.model_copy(update={"database_url": None}), Path(scratch))
        db = Database(api_settings.database_url)
        init_database(api_settings, db)
        with db.session() as session:
            key = create_api_key(session, Scope.OPERATE, "bench").key
        credential = issue(db, "bench_robot", default_path(api_settings.data_dir, "bench_robot")).path
        db.dispose()
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(build_server(api_settings, prepare_database=False), port=port, log_level="warning")
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        world = load_world(settings)
        assert world is not None
        robot = make_robot_agent("bench_robot", load_description(settings), world, settings.safety, speed=agent_speed)
        identity = RobotIdentity(
            name="bench_robot",
            profile="humanoid",
            kind="simulated",
            embodiment=EMBODIMENT,
            capabilities=[m.id for m in builtin_manifests()],
        )
        link = AgentLinkClient(robot, identity, LinkConfig(server=url, credential=credential))
        robot.start()
        link_thread = threading.Thread(target=link.run, daemon=True)
        link_thread.start()
        try:
            if not link.connected.wait(30):
                raise RuntimeError("the bench's robot agent did not connect")
            headers = {"X-API-Key": key}
            with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
                invoke_ms = []
                for _ in range(invokes):
                    body = {"task_description": SHORT_TASK, "robot_id": "bench_robot", "wait": True}
                    answer = client.post("/api/v1/robot/invoke_skill", json=body)
                    answer.raise_for_status()
                    invoke_ms.append(answer.json()["planning_time_ms"])
                failed_seeds = []
                for seed in range(seed_task_runs):
                    reset = client.post("/api/v1/robots/bench_robot/sim/reset", json={"seed": seed})
                    reset.raise_for_status()
                    body = {"task_description": SEED_TASK, "robot_id": "bench_robot", "wait": True, "timeout_s": 300}
                    answer = client.post("/api/v1/robot/invoke_skill", json=body)
                    answer.raise_for_status()
                    if not answer.json()["success"]:
                        failed_seeds.append(seed)
                plan_ms = []
                for _ in range(requests):
                    answer = client.post("/api/v1/skills/request", json={"task_description": SEED_TASK})
                    answer.raise_for_status()
                    plan_ms.append(answer.json()["planning_time_ms"])
            sustained = _sustain(url, headers, rate, seconds)
        finally:
            link.stop()
            link_thread.join(10)
            robot.stop()
            server.should_exit = True
            time.sleep(0.5)
    latencies, errors, elapsed = sustained
    return ApiBenchResult(
        invokes=invokes,
        invoke_planning_ms_p50=round(statistics.median(invoke_ms), 3) if invoke_ms else float("nan"),
        invoke_planning_ms_max=round(max(invoke_ms), 3) if invoke_ms else float("nan"),
        plan_requests=requests,
        plan_only_ms_p50=round(_pct(plan_ms, 0.5), 3),
        plan_only_ms_p99=round(_pct(plan_ms, 0.99), 3),
        sustained_rate_target=rate,
        sustained_rate_achieved=round((len(latencies) + errors) / elapsed, 2),
        sustained_requests=len(latencies) + errors,
        sustained_errors=errors,
        sustained_latency_ms_p50=round(_pct(latencies, 0.5), 3),
        sustained_latency_ms_p99=round(_pct(latencies, 0.99), 3),
        seed_task_runs=seed_task_runs,
        seed_task_successes=seed_task_runs - len(failed_seeds),
        seed_task_success_rate=(seed_task_runs - len(failed_seeds)) / seed_task_runs if seed_task_runs else None,
        seed_task_failed_seeds=failed_seeds,
    )


def _sustain(url: str, headers: dict[str, str], rate: float, seconds: float) -> tuple[list[float], int, float]:
    """Open loop: request k is sent at k/rate s whatever the earlier ones are doing (a closed loop
    would slow down with the server and hide overload)."""
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    client = httpx.Client(base_url=url, headers=headers, timeout=30, limits=httpx.Limits(max_connections=64))

    def one() -> None:
        nonlocal errors
        start = time.perf_counter()
        try:
            answer = client.post("/api/v1/skills/request", json={"task_description": SEED_TASK})
            ok = answer.status_code == 200
        except httpx.HTTPError:
            ok = False
        with lock:
            if ok:
                latencies.append((time.perf_counter() - start) * 1e3)
            else:
                errors += 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        for k in range(total):
            delay = t0 + k / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one)
    elapsed = time.perf_counter() - t0
    client.close()
    return latencies, errors, elapsed
