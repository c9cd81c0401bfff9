"""`dynamical bench perception`: how well and how fast the robot sees.

- ``--accuracy``: objects against the simulator's truth over random layouts (poses from MuJoCo,
  masks from its segmentation rendering), and the cheap tier's cost per frame.
- ``--people``: the depth person detector's distance error to the true mannequin over random
  placements around the robot, and its cost per cycle (every camera).
- ``--model``: one foundation model's FLOPs and latency per frame, eager and compiled.
"""

from __future__ import annotations

import time

import mujoco
import numpy as np
from pydantic import BaseModel, ConfigDict

from dynamical.perception.accuracy import AccuracyReport, measure_accuracy, true_person_distance
from dynamical.perception.catalog import ObjectCatalog
from dynamical.perception.people import PersonDetector
from dynamical.perception.pipeline import PerceptionPipeline
from dynamical.robot.description import RobotDescription
from dynamical.robot.errors import ProfileError
from dynamical.robot.sim_robot import SimRobot
from dynamical.robot.world import WorldSpec


def _need(world: WorldSpec | None) -> WorldSpec:
    if world is None or not world.objects:
        raise ProfileError("bench perception needs a world with objects (sim.world is none)")
    return world


def _sim(description: RobotDescription, world: WorldSpec) -> SimRobot:
    return SimRobot(description, world, seed=0)


def bench_accuracy(
    description: RobotDescription,
    world: WorldSpec | None,
    layouts: int,
    cameras: list[str],
    width: int,
    height: int,
    first_seed: int = 0,
) -> AccuracyReport:
    world = _need(world)
    sim = _sim(description, world)
    sim.set_mannequin_pose(4.0, 4.0)
    pipeline = PerceptionPipeline.for_sim(sim.model, sim.data, tuple(world.objects), cameras, width, height)
    try:
        return measure_accuracy(sim, pipeline, layouts, first_seed)
    finally:
        pipeline.close()
        sim.close()


class PeopleReport(BaseModel):
    model_config = ConfigDict(frozen=True)
    placements: int
    cameras: list[str]
    detected_fraction: float
    distance_error_median_mm: float
    """|perceived − true| distance from the nearest hand to the person's surface."""
    distance_error_max_mm: float
    distance_error_p95_mm: float
    false_people: int
    """People reported with nobody in the world (over as many empty scenes)."""
    detect_ms_median: float
    """Person detection over every camera's depth (rendering excluded)."""
    detect_ms_p99: float


def bench_people(
    description: RobotDescription,
    world: WorldSpec | None,
    placements: int,
    cameras: list[str],
    width: int,
    height: int,
    seed: int = 0,
) -> PeopleReport:
    world = _need(world)
    sim = _sim(description, world)
    pipeline = PerceptionPipeline.for_sim(sim.model, sim.data, tuple(world.objects), cameras, width, height)
    detector = PersonDetector(ObjectCatalog.from_sim(sim.model, sim.data, world.objects).furniture)
    sites = [description.grasp_sites[h] for h in ("hand_left", "hand_right") if h in description.grasp_sites]
    rng = np.random.default_rng(seed)
    errors, times = [], []
    found = false_people = 0
    try:
        for i in range(placements):
            sim.reset(seed + i)
            sim.set_mannequin_pose(4.0, 4.0)
            mujoco.mj_forward(sim.model, sim.data)
            false_people += len(detector.detect([pipeline.cameras.capture(c) for c in pipeline.cameras.names]))
            # In front of and beside the robot, 0.7–1.6 m from its base: where a person meets it.
            bearing, reach = rng.uniform(-2.3, 2.3), rng.uniform(0.7, 1.6)
            sim.set_mannequin_pose(reach * np.cos(bearing), reach * np.sin(bearing), rng.uniform(-np.pi, np.pi))
            mujoco.mj_forward(sim.model, sim.data)
            frames = [pipeline.cameras.capture(c) for c in pipeline.cameras.names]
            t0 = time.perf_counter()
            people = detector.detect(frames)
            times.append((time.perf_counter() - t0) * 1e3)
            points = np.array([sim.site_pose(s)[0] for s in sites])
            truth = min(true_person_distance(sim, p) for p in points)
            if people:
                found += 1
                errors.append(abs(min(float(p.distances(points).min()) for p in people) - truth))
    finally:
        pipeline.close()
        sim.close()
    mm = (lambda q: round(float(np.percentile(errors, q)) * 1e3, 2)) if errors else (lambda q: float("nan"))
    return PeopleReport(
        placements=placements,
        cameras=cameras,
        detected_fraction=round(found / max(placements, 1), 4),
        distance_error_median_mm=mm(50),
        distance_error_max_mm=mm(100),
        distance_error_p95_mm=mm(95),
        false_people=false_people,
        detect_ms_median=round(float(np.median(times)), 3) if times else float("nan"),
        detect_ms_p99=round(float(np.percentile(times, 99)), 3) if times else float("nan"),
    )


class TaskRun(BaseModel):
    model_config = ConfigDict(frozen=True)
    seed: int
    success: bool
    error: str | None = None


class TaskReport(BaseModel):
    model_config = ConfigDict(frozen=True)
    task: str
    seeds: list[int]
    truth_success_rate: float
    perception_success_rate: float
    difference_points: float
    """Percentage points, perception − truth (the target: within ±2)."""
    truth: list[TaskRun]
    perception: list[TaskRun]


def run_task(
    description: RobotDescription,
    world: WorldSpec,
    task: str,
    seed: int,
    source: str,
    cameras: list[str],
    rate_hz: float = 5.0,
) -> TaskRun:
    """``task`` planned and run lock-step (``run_demo``) on the world drawn from ``seed``, with
    planning and the skills reading the simulator's truth (``source="truth"``) or the cameras."""
    from dynamical.agent.demo import run_demo
    from dynamical.perception.config import PerceptionConfig

    config = PerceptionConfig(world_source=source, cameras=cameras, rate_hz=rate_hz)  # type: ignore[arg-type]
    try:
        result = run_demo(description, world, task, seed, perception=config)
    except Exception as exc:
        return TaskRun(seed=seed, success=False, error=f"{type(exc).__name__}: {exc}"[:300])
    return TaskRun(seed=seed, success=result.success)


def bench_task(
    description: RobotDescription, world: WorldSpec | None, task: str, seeds: list[int], cameras: list[str]
) -> TaskReport:
    world = _need(world)
    truth = [run_task(description, world, task, s, "truth", cameras) for s in seeds]
    perceived = [run_task(description, world, task, s, "perception", cameras) for s in seeds]
    rate = lambda runs: round(100.0 * sum(r.success for r in runs) / max(len(runs), 1), 2)  # noqa: E731
    return TaskReport(
        task=task,
        seeds=seeds,
        truth_success_rate=rate(truth),
        perception_success_rate=rate(perceived),
        difference_points=round(rate(perceived) - rate(truth), 2),
        truth=truth,
        perception=perceived,
    )
