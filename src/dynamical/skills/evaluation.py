"""Evaluation of a skill over randomized episodes in lock-step simulation.

Each episode draws a new object layout from its seed, runs the skills that establish the
evaluated skill's preconditions (a grasp before a handover), then the skill itself, and counts it
a success only when the run ended well, its postconditions hold, and no command over a limit
reached the driver.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from dynamical.robot.description import RobotDescription
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.robot.world import WorldSpec
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import SafetyConfig
from dynamical.skills.errors import UnknownSkillError
from dynamical.skills.manifest import SkillManifest
from dynamical.skills.runner import ArtifactSource, SkillOutcome, SkillRunner, builtin_catalog

MANNEQUIN_AWAY = (4.0, 4.0)
"""m: where the mannequin stands when nobody should be near the robot (evaluation, demos, the
simulated agents): outside every separation distance."""


class EpisodeSetup(BaseModel):
    """How an episode of one skill starts: skills run first, and the skill's parameters. A value
    ``$name`` in a skill run first stands for the evaluated skill's parameter ``name`` (the
    grasp before a lift takes the object the lift is evaluated with)."""

    model_config = ConfigDict(frozen=True)

    before: list[tuple[str, dict[str, Any]]] = []
    params: dict[str, Any] = {}

    def bound_before(self, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """``before`` with every ``$name`` replaced by ``params[name]``."""

        def value(v: Any) -> Any:
            return params[v[1:]] if isinstance(v, str) and v.startswith("$") and v[1:] in params else v

        return [(skill, {k: value(v) for k, v in args.items()}) for skill, args in self.before]


# The default episode of each built-in skill in the tabletop world.
EPISODES: dict[str, EpisodeSetup] = {
    "go_home": EpisodeSetup(before=[("reach", {"target": "red_cube"})]),
    "look_at": EpisodeSetup(params={"target": "red_cup"}),
    "reach": EpisodeSetup(params={"target": "red_cube"}),
    "open_hand": EpisodeSetup(before=[("grasp", {"obj": "red_cube"})]),
    "grasp": EpisodeSetup(params={"obj": "red_cube"}),
    # "pick up the X": the grasp, then the lift evaluated.
    "lift": EpisodeSetup(before=[("grasp", {"obj": "$obj"})], params={"obj": "red_cube", "height": 0.1}),
    "place": EpisodeSetup(before=[("grasp", {"obj": "$obj"})], params={"obj": "red_cube", "surface": "shelf"}),
    "pick_and_place": EpisodeSetup(params={"obj": "red_cube", "surface": "shelf"}),
    "handover": EpisodeSetup(before=[("grasp", {"obj": "$obj"})], params={"obj": "red_cube"}),
    "wave": EpisodeSetup(),
    "point_at": EpisodeSetup(params={"target": "green_cube"}),
}


class EpisodeResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    seed: int
    success: bool
    cause: str | None
    failure: str | None
    duration_s: float
    interventions: int
    hard_limit_holds: int
    driver_violations: int
    inference_ms: list[float] = []
    """A learned skill's policy graph runs in this episode, wall-clock ms each."""


class EvaluationResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    skill: str
    params: dict[str, Any]
    episodes: int
    seed: int
    successes: int
    success_rate: float
    mean_duration_s: float
    """Mean simulated duration of the evaluated skill's runs (setup excluded)."""
    interventions: int
    """Safety kernel interventions over all episodes (setup included)."""
    hard_limit_holds: int
    driver_violations: int
    """Commands over a joint limit that reached the driver, over all episodes."""
    failures_by_cause: dict[str, int]
    results: list[EpisodeResult]
    inference_ms: dict[str, float] | None = None
    """A learned skill's policy graph runs over all episodes: chunks, p50, p99, max (ms)."""


def evaluate_skill(
    skill_id: str,
    episodes: int,
    seed: int,
    description: RobotDescription,
    world: WorldSpec,
    params: dict[str, Any] | None = None,
    on_episode: Callable[[EpisodeResult], None] | None = None,
    catalog: dict[str, SkillManifest] | None = None,
    artifacts: ArtifactSource | None = None,
) -> EvaluationResult:
    """Run ``episodes`` episodes of ``skill_id`` with seeds ``seed``, ``seed + 1``, …

    ``catalog`` and ``artifacts`` (default: the built-in skills) let a learned skill be evaluated."""
    catalog = catalog if catalog is not None else builtin_catalog()
    if skill_id not in catalog:
        raise UnknownSkillError(f"no skill {skill_id!r}; known: {sorted(catalog)}")
    setup = EPISODES.get(skill_id, EpisodeSetup())
    merged = {**setup.params, **(params or {})}
    # The robot alone: its mount is the world origin in the tabletop world, and IK need not carry
    # the objects' free joints.
    kinematics = Kinematics(build_model(description), description)
    results = []
    for k in range(episodes):
        result = _episode(skill_id, seed + k, setup, merged, description, world, kinematics, catalog, artifacts)
        results.append(result)
        if on_episode is not None:
            on_episode(result)
    successes = sum(r.success for r in results)
    ran = [r for r in results if r.cause != "setup"]
    return EvaluationResult(
        skill=skill_id,
        params=merged,
        episodes=episodes,
        seed=seed,
        successes=successes,
        success_rate=successes / episodes if episodes else 0.0,
        mean_duration_s=sum(r.duration_s for r in ran) / len(ran) if ran else 0.0,
        interventions=sum(r.interventions for r in results),
        hard_limit_holds=sum(r.hard_limit_holds for r in results),
        driver_violations=sum(r.driver_violations for r in results),
        failures_by_cause=dict(Counter(r.cause for r in results if r.cause is not None)),
        results=results,
        inference_ms=_latency_summary([ms for r in results for ms in r.inference_ms]),
    )


def _latency_summary(samples: list[float]) -> dict[str, float] | None:
    if not samples:
        return None
    values = np.asarray(samples)
    return {
        "chunks": float(len(values)),
        "p50": float(np.percentile(values, 50)),
        "p99": float(np.percentile(values, 99)),
        "max": float(values.max()),
    }


def _episode(
    skill_id: str,
    seed: int,
    setup: EpisodeSetup,
    params: dict[str, Any],
    description: RobotDescription,
    world: WorldSpec,
    kinematics: Kinematics,
    catalog: dict[str, SkillManifest],
    artifacts: ArtifactSource | None,
) -> EpisodeResult:
    with LockstepRuntime(description, world, SafetyConfig(), seed=seed) as runtime:
        runtime.set_mannequin_pose(*MANNEQUIN_AWAY)
        runner = SkillRunner(runtime, kinematics, catalog, artifacts)
        totals = {"interventions": 0, "hard_limit_holds": 0, "driver_violations": 0}

        def add(outcome: SkillOutcome) -> None:
            totals["interventions"] += outcome.interventions
            totals["hard_limit_holds"] += outcome.hard_limit_holds
            totals["driver_violations"] += outcome.driver_violations

        for before_id, before_params in setup.bound_before(params):
            outcome = runner.run(before_id, before_params)
            add(outcome)
            if not outcome.success:
                return EpisodeResult(
                    seed=seed,
                    success=False,
                    cause="setup",
                    failure=f"setup {before_id}: {outcome.failure}",
                    duration_s=0.0,
                    **totals,
                )
        outcome = runner.run(skill_id, params)
        add(outcome)
        return EpisodeResult(
            seed=seed,
            success=outcome.success,
            cause=outcome.cause,
            failure=outcome.failure,
            duration_s=outcome.duration_s,
            inference_ms=outcome.inference_ms,
            **totals,
        )
