"""Objects from rendered RGB-D frames against the simulator's ground truth."""

import mujoco
import numpy as np
import pytest

from dynamical.perception.accuracy import compare_frame, measure_accuracy
from dynamical.perception.catalog import ObjectCatalog
from dynamical.perception.detector import ObjectDetector
from dynamical.perception.pipeline import PerceptionPipeline
from dynamical.perception.world_model import PerceivedWorldModel
from dynamical.robot import SimRobot
from dynamical.robot.errors import UnknownNameError
from dynamical.robot.sim_robot import SimObserver
from dynamical.skills.world_model import SimWorldModel

pytestmark = pytest.mark.render


def _place(sim: SimRobot, name: str, x: float, y: float, z: float, yaw: float = 0.0) -> None:
    jid = sim.model.body_jntadr[mujoco.mj_name2id(sim.model, mujoco.mjtObj.mjOBJ_BODY, name)]
    adr = sim.model.jnt_qposadr[jid]
    sim.data.qpos[adr : adr + 7] = [x, y, z, np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)]
    mujoco.mj_forward(sim.model, sim.data)


def test_random_layouts_meet_the_accuracy_targets(world_sim: SimRobot, pipeline: PerceptionPipeline) -> None:
    report = measure_accuracy(world_sim, pipeline, layouts=4, first_seed=100)
    assert report.cube_sightings >= 8 and report.cup_sightings >= 2
    assert report.cube_detected_fraction == 1.0
    assert report.cube_position_median_mm <= 3.0 and report.cube_position_max_mm <= 5.0
    assert report.cube_yaw_max_deg <= 5.0
    assert report.cup_position_max_mm <= 10.0
    assert report.iou_min >= 0.9
    assert report.fused_position_max_mm <= 5.0


def test_red_cube_and_red_cup_are_told_apart_by_size(world_sim: SimRobot, pipeline: PerceptionPipeline) -> None:
    world_sim.reset(7)
    frame = pipeline.cameras.capture("head", truth=True)
    detections = pipeline.detector.detect(frame)
    by_name = {d.name: d for d in detections}
    assert {"red_cube", "red_cup"} <= set(by_name)
    assert by_name["red_cube"].label == by_name["red_cup"].label  # same colour class
    for s in compare_frame(world_sim, frame, detections):
        if s.name in ("red_cube", "red_cup"):
            assert s.detected and s.iou >= 0.9 and s.position_error <= 0.01


def test_an_object_out_of_view_is_unknown_not_guessed(world_sim: SimRobot, pipeline: PerceptionPipeline) -> None:
    world_sim.reset(3)
    _place(world_sim, "green_cube", -1.5, 2.5, 0.025)  # on the floor behind the robot, out of every view
    pipeline.tracker.clear()
    pipeline.update()
    snap = pipeline.snapshot()
    assert "green_cube" in snap.unknown
    assert {o.name for o in snap.objects} == {"red_cube", "blue_cube", "red_cup"}
    perceived = PerceivedWorldModel(
        SimWorldModel(SimObserver(world_sim), world_sim.description), pipeline.tracker, lambda: world_sim.time
    )
    assert "green_cube" not in perceived.object_names()
    with pytest.raises(UnknownNameError, match="green_cube"):
        perceived.object("green_cube")
    state = perceived.object("red_cube")
    assert np.linalg.norm(state.pos - world_sim.body_pose("red_cube")[0]) <= 0.005
    assert abs(state.bottom - 0.75) <= 0.005


def test_an_object_hidden_from_one_camera_is_found_by_the_others(
    world_sim: SimRobot, pipeline: PerceptionPipeline
) -> None:
    world_sim.reset(0)
    _place(world_sim, "red_cube", 0.45, 0.0, 0.775)
    world_sim.set_mannequin_pose(1.25, 0.0)  # a person between the front camera and the cube
    mujoco.mj_forward(world_sim.model, world_sim.data)
    front_only = ObjectDetector(pipeline.detector.catalog)
    front = pipeline.cameras.capture("front", truth=True)
    sightings = {s.name: s for s in compare_frame(world_sim, front, front_only.detect(front))}
    assert "red_cube" not in sightings or not sightings["red_cube"].unoccluded
    assert "red_cube" not in {d.name for d in front_only.detect(front)}
    pipeline.tracker.clear()
    pipeline.update()
    track = pipeline.tracker.tracks()["red_cube"]
    assert "front" not in track.cameras and track.cameras
    assert np.linalg.norm(track.pos - world_sim.body_pose("red_cube")[0]) <= 0.005


def test_an_object_of_no_catalog_size_is_not_named(world_sim: SimRobot, pipeline: PerceptionPipeline) -> None:
    world_sim.reset(5)
    gid = mujoco.mj_name2id(world_sim.model, mujoco.mjtObj.mjOBJ_GEOM, "blue_cube")
    size = world_sim.model.geom_size[gid].copy()
    world_sim.model.geom_size[gid] = [0.06, 0.06, 0.06]  # a 12 cm blue box: nothing we know
    try:
        _place(world_sim, "blue_cube", 0.55, 0.0, 0.81)
        detections = pipeline.detector.detect(pipeline.cameras.capture("head"))
    finally:
        world_sim.model.geom_size[gid] = size
    assert "blue_cube" not in {d.name for d in detections}
    unnamed = [d for d in detections if d.name is None]
    assert len(unnamed) == 1 and unnamed[0].confidence == 0.0
    assert abs(unnamed[0].size[2] - 0.12) <= 0.01


def test_catalog_holds_shapes_and_furniture_not_poses(world_sim: SimRobot) -> None:
    catalog = ObjectCatalog.from_sim(world_sim.model, world_sim.data, world_sim.world.objects)
    assert catalog.names() == tuple(world_sim.world.objects)
    assert catalog.get("red_cup").shape.round and not catalog.get("red_cube").shape.round
    assert any(b.name == "table_top" for b in catalog.furniture)
    assert not any(b.name == "pelvis" for b in catalog.furniture)  # the robot is not furniture
    assert catalog.support_height(np.array([0.5, 0.0]), below=1.0) == pytest.approx(0.75)
