"""What a soak found: the result model (``--json``) and its Rich tables."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table


class SkillTally(BaseModel):
    tasks: int = 0
    succeeded: int = 0


FailureKind = Literal["skill", "timeout", "safety", "cancelled", "refused", "error"]
"""What ended a failed task: the skill could not do it (no plan, a precondition, a postcondition:
the grasp slipped), its time ran out, the safety kernel, a cancel, the planner refused the words,
or an error of the platform."""


class TaskFailure(BaseModel):
    index: int
    skill: str
    text: str
    cause: str
    kind: FailureKind = "skill"
    request_id: str | None = None


class LatencyMs(BaseModel):
    count: int
    p50: float | None
    p99: float | None = None
    max: float | None


class EstopMiss(BaseModel):
    """An e-stop the soak could not confirm, and what it saw instead: enough to tell a robot that
    did not answer from one that answered but kept moving."""

    task: int
    answer_status: int | None = Field(description="HTTP status of POST /api/safety/estop (None: no answer)")
    answer_detail: str = Field(description="the answer's words: each robot's detail, or the error")
    last_mode: str | None = Field(description="the kernel mode last read while waiting for the hold")
    max_abs_dq: float | None = Field(description="rad/s, the largest joint speed in the last state read")
    waited_s: float
    waited_robot_s: float = Field(0.0, description="s of the robot's own clock the soak waited for the hold")


class SoakResult(BaseModel):
    tasks: int
    """Tasks run (fewer than asked when a time limit ended the run)."""
    seed: int
    agent_mode: str
    wall_s: float
    success_rate: float | None = Field(
        description="over the tasks with nothing injected (no e-stop, no restart) that the planner took"
    )
    by_skill: dict[str, SkillTally] = Field(description="per skill the task was written for")
    failures_by_cause: dict[str, int]
    failures_by_kind: dict[str, int] = Field(
        {}, description="skill (no plan, a precondition or postcondition), timeout, safety, cancelled, error"
    )
    failures: list[TaskFailure] = Field(description="the first 100 failed tasks")
    planner_refused: int = Field(0, description="tasks the planner refused before anything moved (not stuck)")
    planner_refused_tasks: list[TaskFailure] = []
    stuck: int = Field(description="tasks refused because of a state the software left behind (must be 0)")
    stuck_tasks: list[TaskFailure] = []
    resets_refused: int = Field(
        description="world resets the robot refused before a task (the soak then resets safety)"
    )
    protective_stops: int
    software_protective_stops: int = Field(
        0, description="protective stops the software caused (the watchdog: nothing commanded the robot; must be 0)"
    )
    protective_stop_resets: int = Field(0, description="safety resets the soak made before a task, as an operator")
    protective_stop_causes: dict[str, int]
    estops_injected: int
    estops_not_confirmed: int
    estop_misses: list[EstopMiss] = Field([], description="why each unconfirmed e-stop was not confirmed")
    estop_answer_ms: LatencyMs = Field(description="e-stop request → the robot's confirmation, as the server measured")
    estop_hold_ms: LatencyMs = Field(description="e-stop request → the robot reported holding still, at the client")
    executions_overdue: int = Field(
        0, description="executions that outlived their timeout by more than the cancel's grace (the soak waited)"
    )
    rss_mb: dict[str, list[tuple[int, float]]] = Field(description="per process tree: (tasks done, MB)")
    rss_growth_mb_per_100_tasks: dict[str, float | None] = Field(
        description="least-squares slope per process lifetime, the largest; None with too few samples"
    )
    server_restarts: int
    server_restart_s: float | None
    executions_checked_after_restart: int
    executions_lost: int = Field(description="executions missing or changed after the restart (must be 0)")
    lost: list[str] = []
    leftover_processes: list[str] = Field(
        description="processes of the server or agent alive after exit (must be none)"
    )
    leftover_shm: list[str] = Field(description="/dev/shm segments they mapped that outlived them (must be none)")
    kill_needed: list[str] = Field(description="processes that ignored their stop signal and were killed")

    @property
    def invariants_hold(self) -> bool:
        return (
            self.stuck == 0
            and self.software_protective_stops == 0
            and self.executions_overdue == 0
            and self.executions_lost == 0
            and not self.leftover_processes
            and not self.leftover_shm
            and not self.kill_needed
        )


def print_soak(result: SoakResult, console: Console) -> None:
    rate = "n/a" if result.success_rate is None else f"{100 * result.success_rate:.1f} %"
    summary = Table(title=f"bench soak: {result.tasks} tasks, seed {result.seed}, {result.agent_mode} agent")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    growth = ", ".join(
        f"{role} {'n/a' if v is None else f'{v:+.1f}'}" for role, v in result.rss_growth_mb_per_100_tasks.items()
    )
    rows = [
        ("success (no injection)", rate),
        ("stuck states", str(result.stuck)),
        ("executions past their timeout", str(result.executions_overdue)),
        ("refused by the planner (not counted)", str(result.planner_refused)),
        ("world resets refused", str(result.resets_refused)),
        ("protective stops (reset by the soak)", f"{result.protective_stops} ({result.protective_stop_resets})"),
        ("  of them caused by the software", str(result.software_protective_stops)),
        ("e-stops injected (not confirmed)", f"{result.estops_injected} ({result.estops_not_confirmed})"),
        ("e-stop answer p50 / p99 / max, ms", _latency(result.estop_answer_ms)),
        ("e-stop → holding p50 / p99 / max, ms", _latency(result.estop_hold_ms)),
        ("RSS growth, MB / 100 tasks", growth or "n/a"),
        ("server restarts (s)", f"{result.server_restarts} ({result.server_restart_s or 0:.1f} s)"),
        ("executions lost / checked", f"{result.executions_lost} / {result.executions_checked_after_restart}"),
        ("processes left after exit", str(len(result.leftover_processes))),
        ("shared memory left after exit", str(len(result.leftover_shm))),
        ("wall time, s", f"{result.wall_s:.0f}"),
    ]
    for label, value in rows:
        summary.add_row(label, value)
    console.print(summary)
    skills = Table(title="success by skill")
    for column in ("skill", "tasks", "succeeded", "rate"):
        skills.add_column(column, justify="left" if column == "skill" else "right")
    for skill, tally in sorted(result.by_skill.items()):
        share = f"{100 * tally.succeeded / tally.tasks:.0f} %" if tally.tasks else "n/a"
        skills.add_row(skill, str(tally.tasks), str(tally.succeeded), share)
    console.print(skills)
    for title, counts in (
        ("failures by kind", result.failures_by_kind),
        ("failures by cause", result.failures_by_cause),
        ("protective stops by cause", result.protective_stop_causes),
    ):
        if counts:
            table = Table(title=title)
            table.add_column("cause")
            table.add_column("count", justify="right")
            for cause, count in sorted(counts.items(), key=lambda kv: -kv[1]):
                table.add_row(cause, str(count))
            console.print(table)
    for label, items in (
        ("stuck", [f"task {f.index} ({f.text!r}): {f.cause}" for f in result.stuck_tasks]),
        ("refused", [f"task {f.index} ({f.text!r}): {f.cause}" for f in result.planner_refused_tasks]),
        ("lost", result.lost),
        ("left running", result.leftover_processes),
        ("left in /dev/shm", result.leftover_shm),
        ("killed", result.kill_needed),
        (
            "e-stop not confirmed",
            [
                f"task {m.task}: answer {m.answer_status} ({m.answer_detail}); last mode {m.last_mode}, "
                f"max |dq| {m.max_abs_dq if m.max_abs_dq is None else round(m.max_abs_dq, 4)} rad/s "
                f"after {m.waited_s:.1f} s ({m.waited_robot_s:.2f} s of the robot's clock)"
                for m in result.estop_misses
            ],
        ),
    ):
        for item in items:
            console.print(f"[red]{label}[/red]: {item}", highlight=False)


def _latency(value: LatencyMs) -> str:
    if value.p50 is None or value.max is None:
        return "n/a"
    return f"{value.p50:.0f} / {value.p99 if value.p99 is not None else value.max:.0f} / {value.max:.0f}"
