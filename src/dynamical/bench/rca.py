"""`dynamical bench rca`: root-cause analysis measured on failures whose cause is known.

The episodes and their injected faults are ``bench.rca_injections`` (a table of injection →
expected cause). Episodes go round the injections, one seed each; only failed episodes count (an
injection the robot rode out is reported apart). Top-1 agreement is the share of failed episodes
whose first cause is the expected one; the confusion table counts, per injection, every top cause
the analyzer gave.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence

from pydantic import BaseModel

from dynamical.bench.rca_injections import INJECTIONS, run_injected
from dynamical.observability.rca import RootCauseAnalyzer
from dynamical.robot.description import RobotDescription
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.robot.world import WorldSpec


class EpisodeOutcome(BaseModel):
    injected: str
    expected: str
    seed: int
    failed: bool
    top: str | None
    ranked: list[str]
    explanation: str | None
    wall_s: float
    """s of wall-clock time the episode and its analysis took."""


class CauseAgreement(BaseModel):
    cause: str
    """The injection."""
    expected: str
    episodes: int
    failed: int
    """Episodes it made fail (the rest the robot rode out)."""
    agreed: int
    agreement: float
    confused_with: dict[str, int]
    """Top cause → failed episodes that got it instead of the expected one."""


class RcaBench(BaseModel):
    episodes: int
    failed: int
    """Episodes where the injection made the step fail (the ones that count)."""
    agreed: int
    agreement: float
    """Top-1 agreement over the failed episodes."""
    by_cause: list[CauseAgreement]
    confusion: dict[str, dict[str, int]]
    """Injection → top cause ("none" when the analyzer named none) → failed episodes."""
    wall_s: float
    results: list[EpisodeOutcome]


def bench_rca(
    description: RobotDescription,
    world: WorldSpec,
    episodes: int,
    seed: int,
    on_episode: Callable[[EpisodeOutcome], None] | None = None,
    injections: Sequence[str] | None = None,
) -> RcaBench:
    """``episodes`` lock-step episodes going round ``injections`` (default: all of them);
    ``on_episode`` gets each outcome as it comes (progress, a log that survives an interruption)."""
    names = list(injections) if injections else list(INJECTIONS)
    unknown = [n for n in names if n not in INJECTIONS]
    if unknown:
        raise ValueError(f"unknown injection {unknown[0]!r}; one of {', '.join(INJECTIONS)}")
    kinematics = Kinematics(build_model(description), description)
    analyzer = RootCauseAnalyzer()
    results = []
    started = time.perf_counter()
    for k in range(episodes):
        injected = names[k % len(names)]
        t0 = time.perf_counter()
        evidence = run_injected(injected, seed + k, description, world, kinematics)
        analysis = analyzer.analyze(evidence)
        outcome = EpisodeOutcome(
            injected=injected,
            expected=INJECTIONS[injected].expected,
            seed=seed + k,
            failed=evidence.status != "succeeded",
            top=analysis.top,
            ranked=[c.cause for c in analysis.causes],
            explanation=analysis.causes[0].explanation if analysis.causes else None,
            wall_s=time.perf_counter() - t0,
        )
        results.append(outcome)
        if on_episode is not None:
            on_episode(outcome)
    return summarize(results, names, time.perf_counter() - started)


def summarize(results: list[EpisodeOutcome], names: Sequence[str] | None = None, wall_s: float = 0.0) -> RcaBench:
    by_cause, confusion = [], {}
    for injected in names if names is not None else list(INJECTIONS):
        expected = INJECTIONS[injected].expected
        mine = [r for r in results if r.injected == injected]
        failed = [r for r in mine if r.failed]
        agreed = sum(r.top == expected for r in failed)
        tops = Counter(r.top or "none" for r in failed)
        confusion[injected] = dict(tops.most_common())
        by_cause.append(
            CauseAgreement(
                cause=injected,
                expected=expected,
                episodes=len(mine),
                failed=len(failed),
                agreed=agreed,
                agreement=agreed / len(failed) if failed else 0.0,
                confused_with={top: n for top, n in tops.items() if top != expected},
            )
        )
    failed = sum(c.failed for c in by_cause)
    agreed = sum(c.agreed for c in by_cause)
    return RcaBench(
        episodes=len(results),
        failed=failed,
        agreed=agreed,
        agreement=agreed / failed if failed else 0.0,
        by_cause=by_cause,
        confusion=confusion,
        wall_s=wall_s,
        results=results,
    )
