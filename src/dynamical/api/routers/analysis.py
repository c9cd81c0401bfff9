"""Root-cause analysis over the API: one execution's ranked causes, and a Pareto of causes over a
time range (``observability.rca``; the rules are the documented table ``rca.rules.RULES``)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path as PathLike
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from dynamical.api.auth import Reader
from dynamical.api.db import Database
from dynamical.api.deps import Db, Settings
from dynamical.api.errors import UnprocessableError
from dynamical.api.execution_evidence import gather_evidence
from dynamical.api.models import Execution, utcnow
from dynamical.observability.rca import RULES, Analysis, CauseRule, RootCauseAnalyzer

router = APIRouter(tags=["analysis"])
ExecutionId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{1,64}$", description="the execution's request id")]
MAX_PARETO_EXECUTIONS = 2000
_analyzer = RootCauseAnalyzer()


class CauseCount(BaseModel):
    cause: str
    title: str
    count: int
    share: float = Field(description="of the analysed executions with a cause")
    cumulative_share: float
    remedy: str
    examples: list[str] = Field(description="up to 5 execution ids, newest first")


class CausePareto(BaseModel):
    since: datetime
    until: datetime
    executions: int = Field(description="failed or intervened executions analysed")
    truncated: bool = Field(description="more executions were in the range than analysed (the newest were kept)")
    causes: list[CauseCount]


@router.get(
    "/api/v1/robot/executions/{request_id}/analysis",
    response_model=Analysis,
    responses={404: {"description": "no such execution"}},
)
async def execution_analysis(request_id: ExecutionId, _: Reader, db: Db, settings: Settings) -> Analysis:
    """The ranked causes of an execution's failure (or of its interventions), each with its
    evidence, the kernel events behind it and the remedy; empty for a clean success."""
    evidence = await run_in_threadpool(gather_evidence, db, settings.data_dir, request_id)
    return _analyzer.analyze(evidence)


@router.get("/api/v1/analysis/causes", response_model=CausePareto)
async def cause_pareto(
    _: Reader,
    db: Db,
    settings: Settings,
    since: Annotated[datetime | None, Query(description="default: 7 days before `until`")] = None,
    until: Annotated[datetime | None, Query(description="default: now")] = None,
    robot_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.-]{1,64}$")] = None,
) -> CausePareto:
    """How often each cause was the top one, most frequent first, over executions created in
    [since, until) that failed, were cancelled or had kernel interventions."""
    end = until or utcnow()
    try:
        start = since or end - timedelta(days=7)
    except OverflowError:
        raise UnprocessableError("until is too early to look 7 days back from; give since") from None
    if start.tzinfo is None or end.tzinfo is None:
        raise UnprocessableError("since and until need a time zone (e.g. 2026-12-07T12:00:00Z)")
    if start >= end:
        raise UnprocessableError("since must be before until")
    return await run_in_threadpool(_pareto, db, settings.data_dir, start, end, robot_id)


@router.get("/api/v1/analysis/rules", response_model=list[CauseRule])
def rules_table(_: Reader) -> list[CauseRule]:
    """The root-cause table: each cause, the evidence that points to it, its remedy and weight."""
    return list(RULES)


def _pareto(db: Database, data_dir: PathLike, start: datetime, end: datetime, robot_id: str | None) -> CausePareto:
    query = (
        select(Execution.request_id)
        .where(Execution.created_at >= start, Execution.created_at < end, Execution.status != "running")
        .where(Execution.status != "planning")
        .order_by(Execution.created_at.desc())
        .limit(MAX_PARETO_EXECUTIONS + 1)
    )
    if robot_id is not None:
        query = query.where(Execution.robot_id == robot_id)
    with db.session() as session:
        ids = list(session.scalars(query))
    truncated = len(ids) > MAX_PARETO_EXECUTIONS
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for request_id in ids[:MAX_PARETO_EXECUTIONS]:
        analysis = _analyzer.analyze(gather_evidence(db, data_dir, request_id))
        top = analysis.top
        if top is None:
            continue
        counts[top] += 1
        examples.setdefault(top, [])
        if len(examples[top]) < 5:
            examples[top].append(request_id)
    total = sum(counts.values())
    by_cause = {r.cause: r for r in RULES}
    causes, cumulative = [], 0
    for cause, count in counts.most_common():
        cumulative += count
        rule = by_cause[cause]
        causes.append(
            CauseCount(
                cause=cause,
                title=rule.title,
                count=count,
                share=round(count / total, 4),
                cumulative_share=round(cumulative / total, 4),
                remedy=rule.remedy,
                examples=examples[cause],
            )
        )
    return CausePareto(since=start, until=end, executions=total, truncated=truncated, causes=causes)
