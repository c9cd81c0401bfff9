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


def _sim(description: RobotDescription, world: WorldSpec | None) -> SimRobot:
    if world is None:
        raise ProfileError("bench perception needs a world with objects (sim.world is none)")
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
    sim = _sim(description, world)
    sim.set_mannequin_pose(4.0, 4.0)
    pipeline = PerceptionPipeline.for_sim(sim.model, sim.data, sim.world, cameras, width, height)  # type: ignore[arg-type]
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
    sim = _sim(description, world)
    pipeline = PerceptionPipeline.for_sim(sim.model, sim.data, sim.world, cameras, width, height)  # type: ignore[arg-type]
    detector = PersonDetector(ObjectCatalog.from_sim(sim.model, sim.data, sim.world).furniture)  # type: ignore[arg-type]
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
