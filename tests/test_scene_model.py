"""The drawable scene model: a viewer that follows its documented kinematics lands every body
where MuJoCo puts it."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import mujoco
import numpy as np
import pytest

from dynamical.robot.description import RobotDescription
from dynamical.robot.scene import build_model
from dynamical.robot.scene_model import SceneModel, follow_couplings, scene_model
from dynamical.robot.world import WorldSpec


def _quat_mat(quat: list[float]) -> np.ndarray:
    out = np.zeros(9)
    mujoco.mju_quat2Mat(out, np.asarray(quat, dtype=float))
    return out.reshape(3, 3)


def _axis_angle(axis: list[float], angle: float) -> np.ndarray:
    quat = np.zeros(4)
    mujoco.mju_axisAngle2Quat(quat, np.asarray(axis, dtype=float), angle)
    return _quat_mat(quat.tolist())


def viewer_fk(scene: SceneModel, q: np.ndarray, poses: dict[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """World positions (nbody, 3) by the rules of the scene model's docstring, as a viewer would."""
    theta_of: dict[str, float] = {}
    for body in scene.bodies:
        for joint in body.joints:
            if joint.state_index is not None:
                theta_of[joint.name] = float(q[joint.state_index]) - joint.qpos0
    rot = [np.eye(3)] * len(scene.bodies)
    pos = [np.zeros(3)] * len(scene.bodies)
    for i, body in enumerate(scene.bodies):
        if i == 0:
            continue
        if body.name in poses:
            pos[i], rot[i] = poses[body.name]
            continue
        r = rot[body.parent] @ _quat_mat(body.quat)
        p = pos[body.parent] + rot[body.parent] @ np.asarray(body.pos)
        for joint in body.joints:
            if joint.state_index is not None:
                theta = theta_of[joint.name]
            elif joint.coupled is not None:
                lead = theta_of[joint.coupled.joint]
                theta = sum(c * lead**k for k, c in enumerate(joint.coupled.polycoef))
            else:
                theta = 0.0
            if joint.type == "hinge":
                anchor = np.asarray(joint.pos)
                turn = _axis_angle(joint.axis, theta)
                p = p + r @ (anchor - turn @ anchor)
                r = r @ turn
            elif joint.type == "slide":
                p = p + r @ (np.asarray(joint.axis) * theta)
        pos[i], rot[i] = p, r
    return np.array(pos)


@pytest.fixture(scope="module")
def compiled() -> tuple[mujoco.MjModel, RobotDescription, WorldSpec]:
    description, world = RobotDescription.load("humanoid"), WorldSpec.load("tabletop")
    return build_model(description, world), description, world


def test_viewer_kinematics_match_mujoco(compiled) -> None:
    model, description, world = compiled
    scene = scene_model(model, description, world)
    data = mujoco.MjData(model)
    rng = np.random.default_rng(3)
    joint_ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n) for n in description.joint_names]
    for _ in range(5):
        data.qpos[:] = model.qpos0
        q = np.array([rng.uniform(*model.jnt_range[j]) for j in joint_ids])
        for j, value in zip(joint_ids, q, strict=True):
            data.qpos[model.jnt_qposadr[j]] = value
        follow_couplings(model, data.qpos)
        mujoco.mj_kinematics(model, data)
        poses = {
            name: (data.xpos[i].copy(), data.xmat[i].reshape(3, 3).copy())
            for name in [*scene.objects, scene.mannequin]
            for i in [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)]
        }
        np.testing.assert_allclose(viewer_fk(scene, q, poses), data.xpos, atol=1e-5)


def test_roles_couplings_and_sites(compiled) -> None:
    model, description, world = compiled
    scene = scene_model(model, description, world)
    roles = {b.name: b.role for b in scene.bodies}
    assert roles["world"] == "world" and roles["pelvis"] == "robot" and roles["r_index_distal_link"] == "robot"
    assert roles["red_cube"] == "object" and roles["mannequin"] == "mannequin" and roles["table"] == "scenery"
    distal = next(j for b in scene.bodies for j in b.joints if j.name == "r_index_distal")
    assert distal.state_index is None and distal.coupled is not None
    assert distal.coupled.joint == "r_index_proximal"
    assert set(scene.hand_sites) == {"left", "right"}
    assert all(b.parent < i for i, b in enumerate(scene.bodies))
    assert sum(len(b.geoms) for b in scene.bodies) > 50
    # Small enough to send in an agent's hello and to fetch on every dashboard load.
    assert len(json.dumps(scene.model_dump())) < 100_000


def test_the_dashboards_kinematics_fixture_is_current() -> None:
    """ui/src/three/kinematics.mujoco.test.ts checks the dashboard's kinematics against this
    fixture of MuJoCo's answers: it must describe the robot as it is now."""
    script = Path(__file__).resolve().parents[1] / "scripts" / "make-fk-fixture"
    tool = runpy.run_path(str(script))
    committed = tool["FIXTURE"].read_text()
    assert json.loads(committed) == json.loads(tool["render"]()), (
        "the robot or its scene model changed: run `.venv/bin/python scripts/make-fk-fixture`"
    )
