"""Grasps chosen from an object's shape in the world model (never its name), and refused with the
measured sizes when no grasp of the hand fits."""

import numpy as np
import pytest

from dynamical.robot import RobotDescription, WorldSpec
from dynamical.robot.scene import build_model
from dynamical.robot.shapes import ObjectShape, object_shapes
from dynamical.skills.grasps import NoGraspError, Obstacle, grasp_candidates, grasp_kinds
from dynamical.skills.world_model import ObjectState


@pytest.fixture(scope="module")
def shapes(humanoid: RobotDescription, tabletop: WorldSpec) -> dict[str, ObjectShape]:
    return object_shapes(build_model(humanoid, tabletop), list(tabletop.objects))


def _standing(name: str, pos, yaw: float = 0.0, bottom: float = 0.75) -> ObjectState:
    quat = np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])
    return ObjectState(name, np.asarray(pos, float), quat, 0.0, bottom, frozenset({"table"}))


def test_the_world_model_describes_each_object_by_its_geoms(shapes):
    cube, cup = shapes["red_cube"], shapes["red_cup"]
    assert not cube.round and cube.narrowest[0] == pytest.approx(0.05, abs=1e-6)
    assert cube.widest == pytest.approx(0.05 * np.sqrt(2), abs=1e-3)  # its diagonal
    assert cube.height == pytest.approx(0.05)
    # The cup: twelve staves round a disc, 8.2 cm across and 9.4 cm tall, its origin at its base.
    assert cup.round
    assert 0.080 <= cup.narrowest[0] <= cup.widest <= 0.086
    assert cup.height == pytest.approx(0.094, abs=1e-3)
    assert cup.center[2] == pytest.approx(0.047, abs=1e-3)


def test_a_small_box_is_grasped_from_above_and_the_cup_round_its_side(shapes):
    assert grasp_kinds(shapes["red_cube"])[0] == ["top"]
    kinds, why = grasp_kinds(shapes["red_cup"])
    assert kinds == ["side"]
    assert any("top grasp closes on at most" in w for w in why)


def test_side_grasps_hold_the_cup_low_with_the_palm_on_its_wall_and_the_thumb_up(shapes):
    cup = _standing("red_cup", [0.46, 0.33, 0.75], yaw=1.0)
    shoulder = np.array([0.0, 0.19, 1.1])
    for side in ("left", "right"):
        grasps = grasp_candidates(cup, shapes["red_cup"], side, shoulder)
        assert grasps and all(g.kind == "side" for g in grasps)
        for g in grasps:
            np.testing.assert_allclose(g.rot.T @ g.rot, np.eye(3), atol=1e-9)
            assert abs(g.rot[2, 2]) < 1e-9 and abs(g.rot[2, 0]) < 1e-9  # palm and fingers level
            # The thumb (grasp -y on the right hand, +y on the left) points up.
            thumb = g.rot[:, 1] * (1.0 if side == "left" else -1.0)
            assert thumb[2] == pytest.approx(1.0)
            # Between the little finger's clearance and the rim, on the cup's axis, and moved in
            # along the palm's normal from 8 cm away.
            assert 0.75 + 0.045 <= g.site[2] <= 0.75 + 0.094 - 0.02
            assert np.linalg.norm(g.site[:2] - cup.pos[:2]) < 0.005
            np.testing.assert_allclose(g.site - g.standoff, 0.08 * g.rot[:, 2], atol=1e-9)
        # The first one points the fingers the way the arm reaches.
        reach = cup.pos[:2] - shoulder[:2]
        assert grasps[0].rot[:2, 0] @ reach / np.linalg.norm(reach) == pytest.approx(1.0)


def test_a_top_grasp_closes_across_the_cube_faces(shapes):
    cube = _standing("red_cube", [0.40, -0.10, 0.775], yaw=0.3, bottom=0.75)
    grasps = grasp_candidates(cube, shapes["red_cube"], "right", np.array([0.0, -0.19, 1.1]))
    assert [g.kind for g in grasps] == ["top"] * 3
    first = grasps[0]
    assert first.rot[2, 2] == pytest.approx(-1.0)  # palm down
    assert np.arctan2(first.rot[1, 0], first.rot[0, 0]) == pytest.approx(0.3)  # fingers along a face
    np.testing.assert_allclose(first.site, cube.pos, atol=1e-9)


def test_a_neighbour_where_the_hand_goes_rules_that_side_grasp_out(shapes):
    cup = _standing("red_cup", [0.46, 0.33, 0.75])
    shoulder = np.array([0.0, 0.19, 1.1])
    free = grasp_candidates(cup, shapes["red_cup"], "left", shoulder)
    first = free[0]
    blocker = Obstacle("green_cube", first.standoff[:2].copy(), 0.035, 0.80)
    blocked = grasp_candidates(cup, shapes["red_cup"], "left", shoulder, [blocker])
    assert len(blocked) < len(free)
    assert all(np.linalg.norm(g.standoff[:2] - blocker.xy) > 0.07 for g in blocked)


def test_an_object_no_grasp_fits_is_refused_with_its_measured_sizes(shapes):
    wide = ObjectShape(center=np.zeros(3), half=np.array([0.1, 0.1, 0.05]), widths=np.full(36, 0.2))
    with pytest.raises(NoGraspError) as refused:
        grasp_candidates(_standing("crate", [0.4, 0.0, 0.8]), wide, "right", np.zeros(3))
    message = str(refused.value)
    assert "crate is 20.0–20.0 cm across (round), 10.0 cm tall" in message
    assert "top grasp closes on at most 6.5 cm" in message and "side grasp wraps 5–9 cm" in message
    # A cup on its side is not grasped round its wall.
    lying = ObjectState(
        "red_cup",
        np.array([0.4, 0.3, 0.79]),
        np.array([np.cos(np.pi / 4), np.sin(np.pi / 4), 0, 0]),
        0.0,
        0.75,
        frozenset(),
    )
    with pytest.raises(NoGraspError, match="needs it upright"):
        grasp_candidates(lying, shapes["red_cup"], "left", np.zeros(3))
