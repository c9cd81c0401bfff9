"""People from depth against the true mannequin, and the conservative cross-check of the two sources."""

import math

import mujoco
import numpy as np
import pytest

from dynamical.perception.accuracy import true_person_distance
from dynamical.perception.catalog import ObjectCatalog
from dynamical.perception.people import PersonDetector, cross_check
from dynamical.perception.pipeline import PerceptionPipeline
from dynamical.robot import SimRobot

pytestmark = pytest.mark.render


def _frames(sim: SimRobot, pipeline: PerceptionPipeline) -> list:
    mujoco.mj_forward(sim.model, sim.data)
    return [pipeline.cameras.capture(c) for c in pipeline.cameras.names]


@pytest.fixture(scope="module")
def detector(world_sim: SimRobot) -> PersonDetector:
    return PersonDetector(ObjectCatalog.from_sim(world_sim.model, world_sim.data, world_sim.world.objects).furniture)


def test_nobody_is_seen_when_nobody_is_there(
    world_sim: SimRobot, pipeline: PerceptionPipeline, detector: PersonDetector
) -> None:
    world_sim.reset(2)  # the robot, the table, the shelf and the objects are not people
    world_sim.set_mannequin_pose(4.0, 4.0)
    assert detector.detect(_frames(world_sim, pipeline)) == []


@pytest.mark.parametrize("pose", [(0.94, 0.65, 0.3), (0.73, 1.69, -1.0), (1.05, 0.55, 2.0)])
def test_person_distance_to_the_hands_within_5_cm(
    world_sim: SimRobot, pipeline: PerceptionPipeline, detector: PersonDetector, pose: tuple[float, float, float]
) -> None:
    reach, bearing, yaw = pose
    world_sim.reset(0)
    world_sim.set_mannequin_pose(reach * math.cos(bearing), reach * math.sin(bearing), yaw)
    [person] = detector.detect(_frames(world_sim, pipeline))
    hands = np.array(
        [world_sim.site_pose(world_sim.description.grasp_sites[h])[0] for h in ("hand_left", "hand_right")]
    )
    truth = np.array([true_person_distance(world_sim, p) for p in hands])
    assert np.all(np.abs(person.distances(hands) - truth) <= 0.05)
    # Latency compensation: 0.1 s later a person may have come 16 cm closer at 1.6 m/s.
    later = person.distance_now(hands, person.t + 0.1, human_speed=1.6)
    assert np.allclose(later, np.maximum(person.distances(hands) - 0.16, 0.0))
    base, top, radius = person.capsule()
    assert base[2] == 0.0 and top[2] >= 1.5 and 0.1 <= radius <= 0.5


def test_cross_check_takes_the_nearer_source_and_flags_disagreement() -> None:
    agree = cross_check(sensor_m=1.00, perceived_m=0.97, bound_m=0.10)
    assert agree.used_m == 0.97 and not agree.disagree
    apart = cross_check(sensor_m=1.00, perceived_m=0.60, bound_m=0.10)
    assert apart.used_m == 0.60 and apart.disagree
    unseen = cross_check(sensor_m=0.8, perceived_m=math.inf, bound_m=0.10)  # perception misses a person
    assert unseen.used_m == 0.8 and unseen.disagree
    assert not cross_check(math.inf, math.inf, 0.1).disagree  # nobody, by both
    assert cross_check(math.nan, 1.0, 0.1).disagree  # a broken reading is never agreement
