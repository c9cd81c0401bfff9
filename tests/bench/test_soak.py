"""`dynamical bench soak`: the task generator, and a short real run whose report keeps the invariants."""

import subprocess
import sys

import pytest

from dynamical.bench.soak import SoakResult, generate_tasks
from dynamical.bench.soak.generator import TEMPLATES
from dynamical.orchestration import ParserDecomposer, default_world_snapshot
from dynamical.skills.builtin.catalog import EMBODIMENT, builtin_manifests


@pytest.fixture(scope="module")
def world():
    return default_world_snapshot()


def test_the_generator_covers_every_builtin_skill_object_and_surface(world):
    tasks = generate_tasks(world, 44, seed=0)
    builtin = {m.id for m in builtin_manifests() if m.embodiment == EMBODIMENT}
    assert set(TEMPLATES) == builtin
    # Every skill in each round of 11, every object and surface within four rounds.
    for start in range(0, 44, len(builtin)):
        assert {t.skill for t in tasks[start : start + len(builtin)]} == builtin
    assert {o for t in tasks for o in t.objects} == set(world.object_names)
    assert {s for t in tasks for s in t.surfaces} == set(world.surface_names)
    assert len({t.text for t in tasks}) > 30  # phrasings vary
    assert len({t.world_seed for t in tasks}) == 44  # a new layout per task


def test_the_generator_is_seeded_and_says_only_what_the_planner_resolves(world):
    assert generate_tasks(world, 200, seed=3) == generate_tasks(world, 200, seed=3)
    assert generate_tasks(world, 50, seed=3) != generate_tasks(world, 50, seed=4)
    parser = ParserDecomposer()
    for task in generate_tasks(world, 200, seed=3):
        steps = parser.decompose(task.text, world).steps  # neither unknown nor ambiguous
        named = {v for s in steps for v in s.args.values()}
        assert set(task.objects) <= named, task


def test_the_generator_refuses_unknown_skills(world):
    with pytest.raises(ValueError, match="no soak sentences for skills \\['juggle'\\]"):
        generate_tasks(world, 5, seed=0, skills=["wave", "juggle"])


@pytest.mark.slow
@pytest.mark.timeout(1800)  # two server starts and an agent's: minutes on a machine running much else
def test_a_short_soak_keeps_its_invariants():
    """A real run: server and agent processes, tasks over REST, an e-stop, a server restart."""
    command = [sys.executable, "-m", "dynamical.cli", "bench", "soak", "--tasks", "4", "--estop-every", "3"]
    command += ["--agent-mode", "lockstep", "--agent-speed", "5", "--seed", "1", "--json"]
    for skill in ("open_hand", "go_home", "look_at", "point_at"):  # short motions: CI time
        command += ["--skill", skill]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    result = SoakResult.model_validate_json(done.stdout)
    assert result.stuck == 0, result.stuck_tasks
    assert (result.server_restarts, result.executions_lost) == (1, 0), result.lost
    assert result.executions_checked_after_restart >= 3  # two before the restart, the one across it
    assert result.estops_injected == 1 and result.estops_not_confirmed == 0, result.estop_misses
    assert result.estop_hold_ms.count == 1 and result.estop_hold_ms.p99 == result.estop_hold_ms.max
    assert result.executions_overdue == 0 and result.software_protective_stops == 0
    assert result.planner_refused == 0  # the generator says only what the planner resolves
    assert set(result.failures_by_kind) <= {"skill", "timeout", "safety", "cancelled", "error"}
    assert result.leftover_processes == [] and result.leftover_shm == [] and result.kill_needed == []
    assert sum(t.tasks for t in result.by_skill.values()) == 2  # the two with nothing injected
    assert set(result.rss_mb) == {"server", "agent"}
    assert all(mb > 10 for samples in result.rss_mb.values() for _, mb in samples)


# -- the report's accounting, on the answers the server gives -------------------------------------


def _execution(status, steps=(), error=None, cancelled=False):
    outcome = {"steps": list(steps)} if steps else None
    return {"status": status, "error": error, "result": {"outcome": outcome, "error": error, "cancelled": cancelled}}


def _step(skill, failure=None, cause=None):
    return {"skill": skill, "success": failure is None, "failure": failure, "cause": cause}


@pytest.mark.parametrize(
    ("execution", "kind", "cause"),
    [
        (
            _execution(
                "failed", [_step("grasp", "postcondition holding(obj=red_cup) does not hold: 2 links", "postcondition")]
            ),
            "skill",
            "grasp: postcondition holding(obj=red_cup) does not hold: # links",
        ),
        (
            _execution("failed", [_step("reach", "reach: the left hand cannot reach (24.4 mm short)", "plan")]),
            "skill",
            None,
        ),
        (_execution("failed", [_step("wave", "no result within 6 s", "timeout")]), "timeout", None),
        (
            _execution(
                "cancelled",
                [_step("grasp", "cancelled while the step was planned", "skill")],
                "timed out after 120 s; the plan was cancelled: x",
                True,
            ),
            "timeout",
            None,
        ),
        (
            _execution("cancelled", [_step("wave", "cancelled", "skill")], "the plan was cancelled", True),
            "cancelled",
            None,
        ),
        (_execution("failed", [_step("wave", "the safety kernel is in PROTECTIVE_STOP", "safety")]), "safety", None),
        (_execution("failed", error="agent unreachable"), "error", "failed: agent unreachable"),
    ],
)
def test_a_failure_is_told_by_what_ended_it(execution, kind, cause):
    from dynamical.bench.soak.runner import _cause

    got_kind, got_cause = _cause(execution)
    assert got_kind == kind
    if cause is not None:
        assert got_cause == cause


def test_a_planner_refusal_counts_apart_and_a_busy_robot_as_stuck(world):
    import httpx

    from dynamical.bench.soak.runner import _start, _Tally

    answers = iter(
        [
            httpx.Response(422, json={"detail": "no skill for 'juggle the cups'"}),
            httpx.Response(409, json={"detail": "robot 'soak_robot' is running execution 1234"}),
            httpx.Response(202, json={"request_id": "abcd"}),
        ]
    )
    client = httpx.Client(base_url="http://soak", transport=httpx.MockTransport(lambda request: next(answers)))
    tally = _Tally()
    tasks = generate_tasks(world, 3, seed=0)
    assert _start(client, tasks[0], tally) is None
    assert _start(client, tasks[1], tally) is None
    assert _start(client, tasks[2], tally) == "abcd"
    assert [f.kind for f in tally.refused] == ["refused"] and "not planned (422)" in tally.refused[0].cause
    assert [f.index for f in tally.stuck] == [1]
    assert tally.by_skill[tasks[1].skill].tasks == 1 and tasks[0].skill not in tally.by_skill


def test_estop_latency_percentiles():
    from dynamical.bench.soak.runner import _latency

    assert _latency([]).p99 is None
    ten = _latency([float(v) for v in range(10, 110, 10)])
    assert (ten.count, ten.p50, ten.p99, ten.max) == (10, 55.0, 100.0, 100.0)
    many = _latency([1.0] * 99 + [50.0] * 2)
    assert (many.p50, many.p99, many.max) == (1.0, 50.0, 50.0)


def test_a_stop_that_latched_while_a_step_moved_is_a_failure_not_a_stuck_state():
    from dynamical.bench.soak.runner import _refused_at_start

    error = "step s1 (grasp): the safety kernel latched a protective stop (the trajectory ran out)"
    moved = _execution("failed", [{**_step("grasp", error, "safety"), "duration_s": 3.2}], error)
    refused = _execution("failed", [{**_step("grasp", error, "safety"), "duration_s": 0.0}], error)
    assert not _refused_at_start(moved)
    assert _refused_at_start(refused)
    assert _refused_at_start(_execution("failed", error="the safety kernel is in PROTECTIVE_STOP"))


def test_a_soak_that_cannot_go_on_says_so_in_one_line(monkeypatch):
    from typer.testing import CliRunner

    from dynamical.bench.soak.processes import Platform
    from dynamical.cli import app

    def no_server(self):
        raise RuntimeError("the server did not answer within 300 s")

    monkeypatch.setattr(Platform, "start_server", no_server)
    done = CliRunner().invoke(app, ["bench", "soak", "--tasks", "1", "--json"])
    assert done.exit_code == 2, done.output
    (line,) = [line for line in done.output.splitlines() if line.strip()]
    assert "the soak stopped early: the server did not answer within 300 s" in line
    assert "Traceback" not in done.output
