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
def test_a_short_soak_keeps_its_invariants():
    """A real run: server and agent processes, tasks over REST, an e-stop, a server restart."""
    command = [sys.executable, "-m", "dynamical.cli", "bench", "soak", "--tasks", "4", "--estop-every", "3"]
    command += ["--agent-mode", "lockstep", "--agent-speed", "2", "--seed", "1", "--json"]
    for skill in ("wave", "go_home", "look_at", "point_at"):
        command += ["--skill", skill]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    result = SoakResult.model_validate_json(done.stdout)
    assert result.stuck == 0, result.stuck_tasks
    assert (result.server_restarts, result.executions_lost) == (1, 0), result.lost
    assert result.executions_checked_after_restart >= 3  # two before the restart, the one across it
    assert result.estops_injected == 1 and result.estops_not_confirmed == 0
    assert result.estop_hold_ms.count == 1
    assert result.leftover_processes == [] and result.leftover_shm == [] and result.kill_needed == []
    assert sum(t.tasks for t in result.by_skill.values()) == 2  # the two with nothing injected
    assert set(result.rss_mb) == {"server", "agent"}
    assert all(mb > 10 for samples in result.rss_mb.values() for _, mb in samples)
