"""Root-cause analysis on lock-step executions with a known injected cause (a grasp offset, a
keep-out zone, a moved object, a starved executive, an e-stop, a person too close): the top cause
is the injected one and its explanation quotes what was measured. The same episodes
``dynamical bench rca`` runs (it runs every injection, a few hundred times; the cheap ones that
need no other proof than their rule's weight are left to it)."""

from __future__ import annotations

import pytest

from dynamical.bench.rca import summarize
from dynamical.bench.rca_injections import INJECTIONS, run_injected
from dynamical.config import Settings
from dynamical.launch import load_description, load_world
from dynamical.observability.rca import RootCauseAnalyzer
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model

EXPECTED_WORDS = {
    "grasp_offset": ("grasp did not take", "mm off the planned grasp centre"),
    "keep_out_zone": ("keep-out zone 'bench_keepout' stopped the", "interventions"),
    "moved_object": ("precondition no longer held", "red_cube was moved"),
    "starved_executive": ("watchdog held", "control thread starved"),
    "estop": ("e-stop (category 1)",),
    "separation_stop": ("speed and separation monitoring",),
}


@pytest.fixture(scope="module")
def robot():
    settings = Settings()
    description, world = load_description(settings), load_world(settings)
    return description, world, Kinematics(build_model(description), description)


@pytest.mark.slow
@pytest.mark.parametrize("injected", list(EXPECTED_WORDS))
def test_the_injected_cause_ranks_first(robot, injected: str) -> None:
    description, world, kinematics = robot
    evidence = run_injected(injected, 7, description, world, kinematics)
    assert evidence.status == "failed", f"the {injected} injection did not make the step fail"
    analysis = RootCauseAnalyzer().analyze(evidence)
    top = analysis.causes[0]
    assert top.cause == INJECTIONS[injected].expected, [(c.cause, c.score, c.explanation) for c in analysis.causes]
    for words in EXPECTED_WORDS[injected]:
        assert words in top.explanation, top.explanation
    assert top.remedy and top.evidence
    if injected in ("keep_out_zone", "starved_executive", "estop", "separation_stop"):
        # Kernel-side evidence: the events are attached, and they outrank the postcondition.
        assert top.events
        assert all(c.score < top.score for c in analysis.causes[1:])
    if injected == "keep_out_zone":
        # The kernel's index named the zone and a monitored point, never a joint.
        assert {e.zone for e in top.events} == {"bench_keepout"}
        assert all(e.point in tuple(description.safety_points) and e.joint is None for e in top.events)


def test_the_summary_counts_failures_only_and_tabulates_confusions() -> None:
    from dynamical.bench.rca import EpisodeOutcome

    def outcome(injected: str, failed: bool, top: str | None) -> EpisodeOutcome:
        expected = INJECTIONS[injected].expected
        return EpisodeOutcome(
            injected=injected,
            expected=expected,
            seed=0,
            failed=failed,
            top=top,
            ranked=[],
            explanation=None,
            wall_s=0.0,
        )

    results = [
        outcome("estop", True, "estop"),
        outcome("estop", True, "skill_error"),
        outcome("estop", False, None),  # ridden out: not a failure to explain
        outcome("grasp_offset", True, None),
    ]
    bench = summarize(results, ["estop", "grasp_offset"])
    assert (bench.episodes, bench.failed, bench.agreed) == (4, 3, 1)
    assert bench.agreement == pytest.approx(1 / 3)
    assert bench.confusion == {"estop": {"estop": 1, "skill_error": 1}, "grasp_offset": {"none": 1}}
    estop = bench.by_cause[0]
    assert (estop.episodes, estop.failed, estop.agreed, estop.confused_with) == (3, 2, 1, {"skill_error": 1})
