import numpy as np
import pytest

from dynamical.bench.ik import bench_ik
from dynamical.robot import UnknownNameError
from dynamical.robot.kinematics import Kinematics


def test_both_hands_reach_50_random_reachable_targets_within_5_mm(humanoid):
    result = bench_ik(humanoid, targets=50, seed=0, tolerance=0.005)
    assert {arm.arm for arm in result.arms} == {"arm_left", "arm_right"}
    for arm in result.arms:
        assert arm.reached == 50, arm
        assert arm.position_error_max_m <= 0.005


def test_forward_kinematics_agrees_with_the_simulator(sim):
    kinematics = Kinematics(sim.model, sim.description)
    state = sim.read_state()
    for site in ("r_palm", "l_palm", "r_grasp"):
        pose = kinematics.site_pose(state.q, site, qpos=sim.data.qpos)
        pos, rot = sim.site_pose(site)
        np.testing.assert_allclose(pose.pos, pos, atol=1e-9)
        np.testing.assert_allclose(pose.rot, rot, atol=1e-9)


def test_ik_moves_only_the_requested_group(sim):
    desc = sim.description
    kinematics = Kinematics(sim.model, desc)
    target = kinematics.site_pose(desc.home, "r_palm")
    target = type(target)(pos=target.pos + np.array([0.10, 0.0, 0.15]), rot=target.rot)
    result = kinematics.solve(desc.home, {"r_palm": target}, ["arm_right"], orientation=False)
    assert result.converged
    others = np.setdiff1d(np.arange(desc.n_joints), desc.group_indices("arm_right"))
    assert np.array_equal(result.q[others], desc.home[others])


def test_ik_unknown_site(humanoid, sim):
    kinematics = Kinematics(sim.model, humanoid)
    with pytest.raises(UnknownNameError, match="r_toe"):
        kinematics.site_pose(humanoid.home, "r_toe")
