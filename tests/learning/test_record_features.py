"""What a recorded frame holds (``learning/features.py``) and how a world is randomized for
recording (``robot/randomization.py``): the layout the recorder and the policy executor share."""

from __future__ import annotations

import numpy as np
import pytest

from dynamical.learning import protocol
from dynamical.learning.features import FeatureLayout, FeatureLayoutError, commanded_joints, layout_for
from dynamical.robot.description import RobotDescription
from dynamical.robot.randomization import (
    CAMERA_SHIFT_M,
    FRICTION_SCALE,
    LIGHT_DIFFUSE_SCALE,
    MASS_SCALE,
    DomainRandomization,
)
from dynamical.robot.scene import build_model
from dynamical.robot.world import WorldSpec
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import SafetyConfig
from dynamical.skills.world_model import SimWorldModel


@pytest.fixture(scope="module")
def description() -> RobotDescription:
    return RobotDescription.load("humanoid")


@pytest.fixture(scope="module")
def world() -> WorldSpec:
    return WorldSpec.load("tabletop")


def test_layout_vectors_and_round_trip(description: RobotDescription, world: WorldSpec) -> None:
    layout = layout_for(description, list(world.objects))
    assert "l_knee" not in layout.joint_names and "r_elbow" in layout.joint_names
    assert layout.joint_names == commanded_joints(description) and layout.n_joints == 30
    features = layout.lerobot_features()
    assert features[protocol.STATE]["shape"] == [60] and len(features[protocol.STATE]["names"]) == 60
    assert features[protocol.ENVIRONMENT_STATE]["shape"] == [28]
    assert features[protocol.IMAGE_HEAD]["shape"] == [96, 128, 3]
    assert protocol.IMAGE_HEAD not in layout.lerobot_features(images=False)
    with LockstepRuntime(description, world, SafetyConfig(), seed=5) as runtime:
        runtime.run(0.05)
        sample = runtime.link.state()
        assert sample is not None
        state = layout.state_from_sample(sample)
        assert state.dtype == np.float32 and state.shape == (60,)
        elbow = layout.joint_names.index("r_elbow")
        assert state[elbow] == pytest.approx(sample.q[description.index("r_elbow")], abs=1e-6)
        env = layout.environment_state(SimWorldModel(runtime.observer(), description)).reshape(4, 7)
        pos, quat = runtime.body_pose("red_cup")
        assert np.allclose(env[3, :3], pos, atol=1e-6)
        assert env[3, 3] >= 0 and np.isclose(abs(np.dot(env[3, 3:], quat)), 1.0, atol=1e-5)
    # An action goes back into a full command with the legs held.
    hold = description.home + 0.01
    action = np.arange(30, dtype=np.float32) / 100
    full = layout.full_command(action, hold)
    assert np.allclose(layout.action(full), action)
    assert full[description.index("l_knee")] == hold[description.index("l_knee")]
    with pytest.raises(FeatureLayoutError):
        layout.full_command(action[:5], hold)
    restored = FeatureLayout.from_json(layout.to_json(), description)
    assert restored == layout
    with pytest.raises(FeatureLayoutError, match="no joints"):
        FeatureLayout.from_json({**layout.to_json(), "joint_names": ["tail"]}, description)


def test_randomization_draws_within_documented_ranges(description: RobotDescription, world: WorldSpec) -> None:
    assert DomainRandomization().enabled == []
    with pytest.raises(ValueError, match="gravity"):
        DomainRandomization.of(["gravity"])
    everything = DomainRandomization.of(["friction", "mass", "lighting", "camera"])
    draws = []
    for _ in range(2):
        model = build_model(description, world)
        friction = model.geom_friction[:, 0].copy()
        draws.append(everything.apply(model, list(world.objects), ["head", "front"], np.random.default_rng(42)))
        assert not np.array_equal(model.geom_friction[:, 0], friction)
    assert draws[0] == draws[1]  # one seed, one draw
    drawn = draws[0]
    assert set(drawn["friction"]) == set(world.objects) == set(drawn["mass"])
    assert all(FRICTION_SCALE[0] <= s <= FRICTION_SCALE[1] for s in drawn["friction"].values())
    assert all(MASS_SCALE[0] <= s <= MASS_SCALE[1] for s in drawn["mass"].values())
    assert all(
        LIGHT_DIFFUSE_SCALE[0] <= v["diffuse_scale"] <= LIGHT_DIFFUSE_SCALE[1] for v in drawn["lighting"].values()
    )
    assert {"head", "front"} <= set(drawn["camera"])
    assert all(max(abs(x) for x in v["shift_m"]) <= CAMERA_SHIFT_M for v in drawn["camera"].values())


@pytest.mark.render
@pytest.mark.slow
def test_randomized_lighting_and_camera_change_the_image(description: RobotDescription, world: WorldSpec) -> None:
    images = []
    for kinds in ([], ["lighting", "camera"]):
        with LockstepRuntime(description, world, SafetyConfig(), seed=2) as runtime:
            runtime.randomize(DomainRandomization.of(kinds), np.random.default_rng(3))
            rig = runtime.camera_rig(["front"], 128, 96)
            try:
                images.append(rig.render("front"))
            finally:
                rig.close()
    plain, randomized = images
    assert plain.shape == (96, 128, 3) and plain.dtype == np.uint8 and plain.std() > 10
    assert np.abs(plain.astype(int) - randomized.astype(int)).mean() > 1.0
