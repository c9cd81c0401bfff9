"""The soak run: each task through the REST API on a freshly laid-out world, an e-stop and a reset
every ``estop_every`` tasks, the server restarted once mid-run, then everything stopped and counted.

Every task is what a user does: ``POST …/sim/reset`` (a new object layout), ``POST invoke_skill``
in plain words, then the execution polled to its end. A task the robot refuses because of a state
an earlier one left (busy, a latched stop, a world it cannot reset) is a stuck state.
"""

from __future__ import annotations

import math
import re
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from dynamical.bench.soak.generator import SoakTask, generate_tasks
from dynamical.bench.soak.processes import Platform
from dynamical.bench.soak.report import EstopMiss, FailureKind, LatencyMs, SkillTally, SoakResult, TaskFailure
from dynamical.config import Settings

ROBOT_ID = "soak_robot"
TERMINAL = {"succeeded", "failed", "cancelled", "timeout", "error", "lost"}
TASK_TIMEOUT_S = 120.0
"""The robot's own limit on one task; the soak waits a minute longer before calling it hung."""
PROTECTIVE_RULES = {"WATCHDOG_PROTECTIVE_STOP", "SEPARATION_STOP"}
SOFTWARE_RULES = {"WATCHDOG_PROTECTIVE_STOP"}
"""Protective stops the software causes: nothing commanded the robot for the watchdog's time (a
separation stop is a person too close, a real cause)."""
OVERDUE_GRACE_S = 30.0
"""s past its timeout by which an execution must have ended: the server's cancel, the agent's
answer and the step's own grace fit in it many times over."""
STUCK_WORDS = (
    "busy",
    "already",
    "running a plan",
    "reset",
    "latched",
    "e-stop",
    "estop",
    "protective stop",
    "protective_stop",
)
HUNG_WAIT_S = 600.0
"""How much longer the soak waits for an execution that outlived its timeout before going on (the
next tasks would only be refused while it runs: one stuck state, not a cascade of them)."""
HOLD_DQ_RAD_S = 0.01
"""Below this every joint is holding still (an e-stop's category-1 hold, as the state reports it)."""
HOLD_WITHIN_S = 5.0
"""s of the robot's clock an e-stopped robot has to be holding still (a full-speed joint brakes
in 0.4 s at the default profile's accelerations)."""
HOLD_WALL_CAP_S = 120.0
"""s of wall time after which the wait for a hold ends even if the robot's clock stood still."""
RSS_EVERY = 10
"""Tasks between two memory samples."""


class SoakStoppedError(RuntimeError):
    """The soak could not go on (the server or the agent did not start or answer); its logs are kept."""


@dataclass
class _Tally:
    by_skill: dict[str, SkillTally] = field(default_factory=dict)
    failures: list[TaskFailure] = field(default_factory=list)
    stuck: list[TaskFailure] = field(default_factory=list)
    refused: list[TaskFailure] = field(default_factory=list)
    overdue: int = 0
    resets_refused: int = 0
    protective_resets: int = 0
    protective: Counter[str] = field(default_factory=Counter)
    estop_answer_ms: list[float] = field(default_factory=list)
    estop_hold_ms: list[float] = field(default_factory=list)
    estops: int = 0
    estops_not_confirmed: int = 0
    estop_misses: list[EstopMiss] = field(default_factory=list)
    rss: dict[str, list[tuple[int, float, int]]] = field(default_factory=dict)
    """role → (tasks done, MB, pid of the tree's root)."""
    finished: dict[str, str] = field(default_factory=dict)
    """request id → terminal status, as seen while the run went on."""
    restart_s: float | None = None
    restarts: int = 0
    lost: list[str] = field(default_factory=list)
    checked_after_restart: int = 0


def run_soak(
    settings: Settings,
    tasks: int,
    seed: int = 0,
    agent_mode: str = "realtime",
    agent_speed: float = 1.0,
    estop_every: int = 50,
    restart: bool = True,
    skills: list[str] | None = None,
    config: Path | None = None,
    progress: Callable[[int, str], None] | None = None,
    minutes: float | None = None,
) -> SoakResult:
    """Run ``tasks`` generated tasks (seeded) against a server and agent started for the soak;
    with ``minutes``, no new task starts after that long (the report says how many ran)."""
    from dynamical.launch import load_world
    from dynamical.orchestration.world import snapshot_from_world_spec

    spec = load_world(settings)
    if spec is None:
        raise ValueError("the soak needs a world with objects; the configured sim.world is 'none'")
    plan = generate_tasks(snapshot_from_world_spec(spec), tasks, seed, skills)
    restart_at = tasks // 2 if restart and tasks >= 2 else None
    if restart_at is not None and estop_every and restart_at % estop_every == 0 and restart_at + 1 < tasks:
        restart_at += 1  # each its own task: the e-stop's and the restart's effects are told apart
    tally = _Tally()
    ran = 0
    data_dir = Path(tempfile.mkdtemp(prefix="dynamical-soak-"))
    t0 = time.monotonic()
    stop_at = None if minutes is None else t0 + 60 * minutes
    platform = Platform(settings, data_dir, ROBOT_ID, agent_mode, agent_speed, config)
    try:
        platform.start_server()
        platform.start_agent()
        with httpx.Client(base_url=platform.url, headers={"X-API-Key": platform.api_key}, timeout=60) as client:
            _wait_connected(client, timeout_s=300)
            for task in plan:
                if stop_at is not None and time.monotonic() > stop_at:
                    break
                # Halfway through the tasks, or through the time when that ends the run first.
                halfway = stop_at is not None and time.monotonic() > (t0 + stop_at) / 2
                estop_due = bool(estop_every) and task.index > 0 and task.index % estop_every == 0
                if (
                    restart_at is not None
                    and not tally.restarts
                    and (task.index >= restart_at or halfway)
                    and not estop_due
                ):
                    _run_across_restart(client, platform, task, tally)
                elif estop_due:
                    _run_with_estop(client, task, tally)
                else:
                    _run_task(client, task, tally)
                done = ran = task.index + 1
                if done == 1 or done % RSS_EVERY == 0 or done == tasks:
                    _sample_rss(platform, tally, done)
                if progress is not None:
                    progress(done, task.skill)
            if tally.restarts:
                _check_nothing_lost(client, tally)
            _count_stops_between_tasks(client, tally)
    except Exception as exc:
        platform.stop()
        logs = data_dir / "logs"
        raise SoakStoppedError(f"the soak stopped early: {exc} (the processes' logs are in {logs})") from exc
    except BaseException:
        platform.stop()
        raise
    platform.stop()
    time.sleep(0.5)  # let the kernel reap what the stopped processes left
    leftover_processes, leftover_shm = platform.leftovers()
    shutil.rmtree(data_dir, ignore_errors=True)
    return _result(tally, ran, seed, agent_mode, time.monotonic() - t0, platform, leftover_processes, leftover_shm)


# -- one task ---------------------------------------------------------------------------------


def _prepare_world(client: httpx.Client, task: SoakTask, tally: _Tally) -> bool:
    """A new object layout; on refusal, a safety reset and one more try (what an operator does).

    A protective stop the last task ended in is reset first, as an operator would after looking at
    its cause (counted under protective stops): only what an operator cannot clear is stuck."""
    state = _state(client)
    if state is not None and state["safety"]["mode"] == "PROTECTIVE_STOP":
        tally.protective_resets += 1
        client.post("/api/safety/reset", json={"robot_id": ROBOT_ID})
        _wait_mode(client, "RUNNING", timeout_s=10)
    path = f"/api/v1/robots/{ROBOT_ID}/sim/reset"
    answer = client.post(path, json={"seed": task.world_seed})
    if answer.status_code == 200:
        return True
    tally.resets_refused += 1
    client.post("/api/safety/reset", json={"robot_id": ROBOT_ID})
    _wait_mode(client, "RUNNING", timeout_s=10)
    retry = client.post(path, json={"seed": task.world_seed})
    if retry.status_code == 200:
        return True
    _record_stuck(tally, task, f"world reset refused: {_detail(retry)}", None)
    return False


def _start(client: httpx.Client, task: SoakTask, tally: _Tally) -> str | None:
    """Invoke the task without waiting; its request id, or None when it was refused (recorded)."""
    body = {"task_description": task.text, "robot_id": ROBOT_ID, "wait": False, "timeout_s": TASK_TIMEOUT_S}
    answer = client.post("/api/v1/robot/invoke_skill", json=body)
    if answer.status_code in (200, 201, 202):
        return str(answer.json()["request_id"])
    detail = _detail(answer)
    if answer.status_code == 409 or any(word in detail.lower() for word in STUCK_WORDS):
        _record_stuck(tally, task, f"refused ({answer.status_code}): {detail}", None)
    else:  # the planner's answer to the words, before anything moved: not the robot's state
        cause = f"not planned ({answer.status_code}): {_normalise(detail)}"
        tally.refused.append(
            TaskFailure(index=task.index, skill=task.skill, text=task.text, cause=cause, kind="refused")
        )
    return None


def _run_task(client: httpx.Client, task: SoakTask, tally: _Tally) -> None:
    if not _prepare_world(client, task, tally):
        return
    started = time.monotonic()
    request_id = _start(client, task, tally)
    if request_id is None:
        return
    execution = _wait_done(client, request_id)
    if execution.get("status") not in TERMINAL:
        _record_stuck(tally, task, f"the execution did not end: {execution.get('error')}", request_id)
        execution = _wait_done(client, request_id, HUNG_WAIT_S)
        _account(client, task, execution, tally, injected=True)  # counted once, as stuck
        return
    if time.monotonic() - started > TASK_TIMEOUT_S + OVERDUE_GRACE_S:
        tally.overdue += 1
    _account(client, task, execution, tally, injected=False)


def _run_with_estop(client: httpx.Client, task: SoakTask, tally: _Tally) -> None:
    """The task with an e-stop once it runs, the hold timed, then a safety reset."""
    if not _prepare_world(client, task, tally):
        return
    request_id = _start(client, task, tally)
    if request_id is None:
        return
    _wait_running(client, request_id)
    t0 = time.monotonic()
    try:
        answer: httpx.Response | None = client.post("/api/safety/estop")  # the simplest call: every robot, cat. 1
    except httpx.TransportError:
        answer = None
    tally.estops += 1
    acks = answer.json().get("robots", []) if answer is not None and answer.status_code == 200 else []
    answered = answer is not None and answer.status_code == 200 and bool(acks) and all(a.get("ok") for a in acks)
    tally.estop_answer_ms.extend(float(a["answered_in_ms"]) for a in acks if "answered_in_ms" in a)
    hold = _wait_holding(client)
    if hold.held:
        tally.estop_hold_ms.append(1e3 * (hold.at - t0))
    if not (answered and hold.held):
        tally.estops_not_confirmed += 1
        tally.estop_misses.append(
            EstopMiss(
                task=task.index,
                answer_status=None if answer is None else answer.status_code,
                answer_detail=_estop_detail(answer, acks),
                last_mode=hold.mode,
                max_abs_dq=hold.max_abs_dq,
                waited_s=round(hold.at - t0, 2),
                waited_robot_s=round(hold.robot_s, 3),
            )
        )
    execution = _wait_done(client, request_id)
    if execution.get("status") not in TERMINAL:
        _record_stuck(tally, task, f"the e-stopped execution did not end: {execution.get('error')}", request_id)
        execution = _wait_done(client, request_id, HUNG_WAIT_S)
    _account(client, task, execution, tally, injected=True)
    client.post("/api/safety/reset", json={"robot_id": ROBOT_ID})
    _wait_mode(client, "RUNNING", timeout_s=10)


def _run_across_restart(client: httpx.Client, platform: Platform, task: SoakTask, tally: _Tally) -> None:
    """The task with the server stopped and started again while it runs: the robot carries on, and
    the execution must still reach an end the server knows."""
    if not _prepare_world(client, task, tally):
        return
    request_id = _start(client, task, tally)
    if request_id is None:
        return
    _wait_running(client, request_id)
    tally.restart_s = platform.restart_server()
    tally.restarts += 1
    _wait_connected(client, timeout_s=300)
    execution = _wait_done(client, request_id)
    if execution.get("status") not in TERMINAL:
        tally.lost.append(f"{request_id} (in flight across the restart): still {execution.get('status')}")
    _account(client, task, execution, tally, injected=True)


def _account(client: httpx.Client, task: SoakTask, execution: dict[str, Any], tally: _Tally, injected: bool) -> None:
    request_id = execution.get("request_id")
    status = str(execution.get("status"))
    if request_id and status in TERMINAL:
        tally.finished[request_id] = status
    events = client.get("/api/safety/events", params={"request_id": request_id, "limit": 1000})
    if events.status_code == 200:
        for event in events.json():
            if event["rule_name"] in PROTECTIVE_RULES:
                tally.protective[event["rule_name"]] += 1
    if injected:
        return
    ok = status == "succeeded"
    if not ok and _refused_at_start(execution):
        _record_stuck(tally, task, _cause(execution)[1], request_id)
        return
    kind, cause = (None, None) if ok else _cause(execution)
    _count(tally, task, ok, cause, request_id, kind)


def _count(
    tally: _Tally,
    task: SoakTask,
    ok: bool,
    cause: str | None,
    request_id: str | None,
    kind: FailureKind | None = None,
) -> None:
    skill = tally.by_skill.setdefault(task.skill, SkillTally())
    skill.tasks += 1
    skill.succeeded += ok
    if not ok:
        tally.failures.append(
            TaskFailure(
                index=task.index,
                skill=task.skill,
                text=task.text,
                cause=cause or "?",
                kind=kind or "error",
                request_id=request_id,
            )
        )


def _record_stuck(tally: _Tally, task: SoakTask, cause: str, request_id: str | None) -> None:
    tally.stuck.append(
        TaskFailure(index=task.index, skill=task.skill, text=task.text, cause=cause, request_id=request_id)
    )
    tally.by_skill.setdefault(task.skill, SkillTally()).tasks += 1


def _refused_at_start(execution: dict[str, Any]) -> bool:
    """Refused before anything moved, for a reason that is the robot's state, not the task: no
    step ran, or the first one was refused for safety without moving. A stop that latched while a
    step moved is that step's failure (and a protective stop, counted), not a stuck state."""
    if execution.get("status") == "succeeded":
        return False
    steps = ((execution.get("result") or {}).get("outcome") or {}).get("steps") or []
    if steps:
        first = steps[0]
        if first.get("success") or first.get("cause") != "safety" or (first.get("duration_s") or 0.0) > 0.0:
            return False
    error = str(execution.get("error") or "").lower()
    return any(word in error for word in STUCK_WORDS)


_KINDS: dict[str, FailureKind] = {
    "plan": "skill",
    "precondition": "skill",
    "postcondition": "skill",
    "skill": "skill",
    "timeout": "timeout",
    "safety": "safety",
}


def _cause(execution: dict[str, Any]) -> tuple[FailureKind, str]:
    """What ended a failed execution: its kind, and the failed step's words without numbers."""
    result = execution.get("result") or {}
    error = str(execution.get("error") or result.get("error") or "")
    timed_out = error.startswith("timed out")
    steps = (result.get("outcome") or {}).get("steps") or []
    for step in steps:
        if not step.get("success"):
            failure = str(step.get("failure"))
            if timed_out:
                kind: FailureKind = "timeout"
            elif failure.startswith("cancelled") or "was cancelled" in failure:
                kind = "cancelled"
            else:
                kind = _KINDS.get(str(step.get("cause")), "error")
            return kind, f"{step.get('skill')}: {_normalise(failure)}"
    if timed_out:
        return "timeout", _normalise(error)
    status = str(execution.get("status"))
    return ("cancelled" if status == "cancelled" else "error"), f"{status}: {_normalise(error)}"


def _normalise(text: str) -> str:
    """A failure's words without its numbers, so that the same cause counts once."""
    return re.sub(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", "#", text)[:100]


# -- waiting ----------------------------------------------------------------------------------


def _wait_done(client: httpx.Client, request_id: str, wait_s: float = TASK_TIMEOUT_S + 60) -> dict[str, Any]:
    deadline = time.monotonic() + wait_s
    execution: dict[str, Any] = {"request_id": request_id, "status": "unknown"}
    while time.monotonic() < deadline:
        answer = _get(client, f"/api/v1/robot/executions/{request_id}")
        if answer is not None and answer.status_code == 200:
            execution = answer.json()
            if execution["status"] in TERMINAL:
                return execution
        time.sleep(0.2)
    execution["error"] = f"still {execution['status']} after {wait_s:g} s (its timeout: {TASK_TIMEOUT_S:g} s)"
    return execution


def _wait_running(client: httpx.Client, request_id: str, timeout_s: float = 120.0) -> None:
    """Until a step of the execution moves the robot (planned and launched: its progress carries the
    planned motion), or it ended, or ``timeout_s``: an e-stop then stops a moving robot."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = _get(client, f"/api/v1/robot/executions/{request_id}")
        if answer is not None and answer.status_code == 200:
            execution = answer.json()
            progress = execution["progress"]
            if execution["status"] in TERMINAL or any(p["status"] == "running" and p["planned"] for p in progress):
                time.sleep(0.5)  # into the motion, not at its first tick
                return
        time.sleep(0.05)


def _state(client: httpx.Client) -> dict[str, Any] | None:
    answer = _get(client, f"/api/v1/robots/{ROBOT_ID}/state")
    return answer.json()["state"] if answer is not None and answer.status_code == 200 else None


@dataclass
class _Hold:
    held: bool
    at: float
    """time.monotonic() of the last state read (the hold's, when held)."""
    mode: str | None = None
    max_abs_dq: float | None = None
    robot_s: float = 0.0
    """s of the robot's own clock between the first and the last state read."""


def _wait_holding(client: httpx.Client, robot_s: float = HOLD_WITHIN_S, wall_s: float = HOLD_WALL_CAP_S) -> _Hold:
    """Until the robot reports its e-stop latched and no joint moving faster than
    ``HOLD_DQ_RAD_S``; what it last reported either way.

    The bound is ``robot_s`` of the robot's own clock (its state's ``t``), not of the wall: a
    lock-step robot on a busy machine runs its simulation slower than real time (a tenth of it
    in CI), and its braking takes robot time. ``wall_s`` only ends the wait for a robot whose
    clock stands still."""
    wall_deadline = time.monotonic() + wall_s
    hold = _Hold(held=False, at=time.monotonic())
    t_first: float | None = None
    while time.monotonic() < wall_deadline:
        state = _state(client)
        hold.at = time.monotonic()
        if state is not None:
            hold.mode = str(state["safety"]["mode"])
            hold.max_abs_dq = float(np.abs(state["dq"]).max())
            t_first = float(state["t"]) if t_first is None else t_first
            hold.robot_s = float(state["t"]) - t_first
            if hold.mode == "ESTOP" and hold.max_abs_dq < HOLD_DQ_RAD_S:
                hold.held = True
                return hold
            if hold.robot_s > robot_s:
                return hold
        time.sleep(0.01)
    return hold


def _estop_detail(answer: httpx.Response | None, acks: list[dict[str, Any]]) -> str:
    if answer is None:
        return "no answer (transport error)"
    if answer.status_code != 200:
        return _detail(answer)
    if not acks:
        return "no robot answered"
    return "; ".join(f"{a.get('robot_id')}: ok={a.get('ok')} {a.get('detail')}" for a in acks)[:300]


def _wait_mode(client: httpx.Client, mode: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = _state(client)
        if state is not None and state["safety"]["mode"] == mode:
            return True
        time.sleep(0.05)
    return False


def _wait_connected(client: httpx.Client, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = _get(client, f"/api/v1/robots/{ROBOT_ID}")
        connected = answer is not None and answer.status_code == 200 and answer.json()["connected"]
        if connected and _state(client) is not None:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the robot agent did not connect within {timeout_s:g} s")


def _get(client: httpx.Client, path: str) -> httpx.Response | None:
    """A GET that rides out the server being away (a restart): None instead of an exception."""
    try:
        return client.get(path)
    except httpx.TransportError:
        return None


def _detail(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("detail", answer.text))[:300]
    except ValueError:
        return answer.text[:300]


# -- after the run ----------------------------------------------------------------------------


def _check_nothing_lost(client: httpx.Client, tally: _Tally) -> None:
    """Every execution that ended, before or across the restart, is still there as it ended."""
    for request_id, status in tally.finished.items():
        tally.checked_after_restart += 1
        answer = _get(client, f"/api/v1/robot/executions/{request_id}")
        if answer is None or answer.status_code != 200:
            tally.lost.append(f"{request_id}: {'no answer' if answer is None else answer.status_code}")
        elif answer.json()["status"] != status:
            tally.lost.append(f"{request_id}: ended {status}, now {answer.json()['status']}")


def _count_stops_between_tasks(client: httpx.Client, tally: _Tally) -> None:
    """Protective stops the robot reported while no task ran (those during tasks are counted)."""
    answer = client.get("/api/safety/events", params={"robot_id": ROBOT_ID, "limit": 1000})
    if answer.status_code == 200:
        for event in answer.json():
            if event["request_id"] is None and event["rule_name"] in PROTECTIVE_RULES:
                tally.protective[f"{event['rule_name']} (between tasks)"] += 1


def _sample_rss(platform: Platform, tally: _Tally, done: int) -> None:
    pids = {"server": platform.server_pid(), "agent": platform.agent.pid if platform.agent else None}
    for role, rss in platform.rss_bytes().items():
        tally.rss.setdefault(role, []).append((done, round(rss / 2**20, 1), pids[role] or 0))


def _growth_per_100(samples: list[tuple[int, float, int]]) -> float | None:
    """The largest least-squares slope over one process lifetime (its first sample is warm-up)."""
    slopes = []
    for pid in {s[2] for s in samples}:
        life = [s for s in samples if s[2] == pid][1:]
        if len(life) >= 2 and life[-1][0] > life[0][0]:
            x = np.array([s[0] for s in life], dtype=float)
            y = np.array([s[1] for s in life])
            slopes.append(100 * float(np.polyfit(x, y, 1)[0]))
    return round(max(slopes), 2) if slopes else None


def _latency(values: list[float]) -> LatencyMs:
    if not values:
        return LatencyMs(count=0, p50=None, p99=None, max=None)
    # Nearest rank: with ten e-stops in 500 tasks, p99 is the largest, as it should be.
    p99 = sorted(values)[min(len(values), math.ceil(0.99 * len(values))) - 1]
    return LatencyMs(
        count=len(values), p50=round(statistics.median(values), 1), p99=round(p99, 1), max=round(max(values), 1)
    )


def _result(
    tally: _Tally,
    tasks: int,
    seed: int,
    agent_mode: str,
    wall_s: float,
    platform: Platform,
    leftover_processes: list[str],
    leftover_shm: list[str],
) -> SoakResult:
    counted = sum(t.tasks for t in tally.by_skill.values())
    succeeded = sum(t.succeeded for t in tally.by_skill.values())
    return SoakResult(
        tasks=tasks,
        seed=seed,
        agent_mode=agent_mode,
        wall_s=round(wall_s, 1),
        success_rate=round(succeeded / counted, 4) if counted else None,
        by_skill=tally.by_skill,
        failures_by_cause=dict(Counter(f.cause for f in tally.failures).most_common()),
        failures_by_kind=dict(Counter(f.kind for f in tally.failures).most_common()),
        failures=tally.failures[:100],
        planner_refused=len(tally.refused),
        planner_refused_tasks=tally.refused[:100],
        stuck=len(tally.stuck),
        stuck_tasks=tally.stuck,
        resets_refused=tally.resets_refused,
        protective_stop_resets=tally.protective_resets,
        protective_stops=sum(tally.protective.values()),
        software_protective_stops=sum(n for rule, n in tally.protective.items() if rule.split()[0] in SOFTWARE_RULES),
        protective_stop_causes=dict(tally.protective),
        estops_injected=tally.estops,
        estops_not_confirmed=tally.estops_not_confirmed,
        estop_misses=tally.estop_misses,
        estop_answer_ms=_latency(tally.estop_answer_ms),
        estop_hold_ms=_latency(tally.estop_hold_ms),
        executions_overdue=tally.overdue,
        rss_mb={role: [(d, mb) for d, mb, _ in samples] for role, samples in tally.rss.items()},
        rss_growth_mb_per_100_tasks={role: _growth_per_100(samples) for role, samples in tally.rss.items()},
        server_restarts=tally.restarts,
        server_restart_s=None if tally.restart_s is None else round(tally.restart_s, 2),
        executions_checked_after_restart=tally.checked_after_restart,
        executions_lost=len(tally.lost),
        lost=tally.lost,
        leftover_processes=leftover_processes,
        leftover_shm=leftover_shm,
        kill_needed=platform.kill_needed,
    )
