from pathlib import Path

import mujoco
import numpy as np
import pytest

from dynamical.robot import GROUP_NAMES, ProfileError, RobotDescription, UnknownNameError
from dynamical.robot.description import PROFILES_DIR


def test_humanoid_model_compiles_with_the_expected_body(humanoid):
    model = mujoco.MjModel.from_xml_path(str(humanoid.mjcf_path))
    assert 55.0 <= model.body_subtreemass[model.body("pelvis").id] <= 70.0
    assert model.nmesh == 0, "primitives only, so it renders fast on a CPU"
    assert model.ncam >= 1 and model.camera("head").id >= 0


def test_groups_and_joint_counts(humanoid):
    assert set(humanoid.groups) == set(GROUP_NAMES)
    sizes = {g: len(j) for g, j in humanoid.groups.items()}
    assert sizes == {"arm_left": 7, "arm_right": 7, "hand_left": 6, "hand_right": 6, "head": 2, "waist": 2, "legs": 12}
    assert humanoid.n_joints == 42
    assert len(set(humanoid.joint_names)) == 42


def test_limits_match_the_mjcf(humanoid):
    model = mujoco.MjModel.from_xml_path(str(humanoid.mjcf_path))
    for i, name in enumerate(humanoid.joint_names):
        joint = model.joint(name)
        assert humanoid.q_min[i] == joint.range[0] and humanoid.q_max[i] == joint.range[1]
        assert humanoid.tau_max[i] == pytest.approx(abs(model.jnt_actfrcrange[joint.id]).max())
    assert np.all(humanoid.v_max > 0)
    assert np.all((humanoid.home >= humanoid.q_min) & (humanoid.home <= humanoid.q_max))


def test_each_hand_has_six_actuators_and_coupled_distal_joints(humanoid):
    model = mujoco.MjModel.from_xml_path(str(humanoid.mjcf_path))
    for side in ("l", "r"):
        hand_actuators = [
            model.actuator(a).name for a in range(model.nu) if model.actuator(a).name.startswith(f"{side}_")
        ]
        fingers = [a for a in hand_actuators if any(f in a for f in ("thumb", "index", "middle", "ring", "little"))]
        assert len(fingers) == 6
        couplings = [model.equality(e).name for e in range(model.neq) if model.equality(e).name.startswith(f"{side}_")]
        assert len(couplings) == 5
    for tips in humanoid.fingertips.values():
        assert len(tips) == 5
    assert set(humanoid.end_effectors) == {"arm_left", "arm_right"}


def _write_profile(tmp_path: Path, **changes) -> Path:
    import yaml

    raw = yaml.safe_load((PROFILES_DIR / "humanoid.yaml").read_text())
    raw["mjcf"] = str((PROFILES_DIR / raw["mjcf"]).resolve())
    raw.update(changes)
    path = tmp_path / "robot.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_profile_naming_a_missing_joint_is_refused_with_its_name(tmp_path):
    raw_groups = RobotDescription.load("humanoid").groups
    groups = {g: list(j) for g, j in raw_groups.items()}
    groups["head"] = ["head_pan", "head_roll"]
    with pytest.raises(ProfileError, match="head_roll"):
        RobotDescription.load(_write_profile(tmp_path, groups=groups))


def test_profile_errors_are_clear(tmp_path):
    with pytest.raises(ProfileError, match="unknown robot profile 'nao'"):
        RobotDescription.load("nao")
    with pytest.raises(ProfileError, match="does not exist"):
        RobotDescription.load(tmp_path / "missing.yaml")
    with pytest.raises(ProfileError, match="groups.arms"):
        RobotDescription.load(_write_profile(tmp_path, groups={"arms": ["r_elbow"]}))
    with pytest.raises(ProfileError, match="positive"):
        RobotDescription.load(_write_profile(tmp_path, velocity_limits={"head": -1.0}))
    with pytest.raises(ProfileError, match="outside the joint range"):
        RobotDescription.load(_write_profile(tmp_path, home={"r_elbow": 9.0}))
    with pytest.raises(ProfileError, match="site 'r_nowhere'"):
        RobotDescription.load(_write_profile(tmp_path, end_effectors={"arm_right": "r_nowhere"}))


def test_unknown_group_and_joint_lookups(humanoid):
    with pytest.raises(UnknownNameError, match="no joint group 'tail'"):
        humanoid.group_indices("tail")
    with pytest.raises(UnknownNameError, match="r_knee_2"):
        humanoid.index("r_knee_2")


def test_limit_scales(humanoid):
    scaled = humanoid.with_limit_scales(velocity=0.5, effort=0.25)
    np.testing.assert_allclose(scaled.v_max, humanoid.v_max * 0.5)
    np.testing.assert_allclose(scaled.tau_max, humanoid.tau_max * 0.25)
    with pytest.raises(ProfileError):
        humanoid.with_limit_scales(velocity=1.5)
