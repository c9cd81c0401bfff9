"""The profile mechanism on a second, different robot: the ViperX bimanual MJCF of gym-aloha."""

import numpy as np

from dynamical.robot import JointCommand, RobotDescription, SimRobot


def test_aloha_loads_through_its_profile():
    aloha = RobotDescription.load("aloha")
    assert aloha.n_joints == 16
    assert set(aloha.groups) == {"arm_left", "arm_right", "hand_left", "hand_right"}
    assert aloha.mjcf_path.name == "bimanual_viperx_transfer_cube.xml"
    # Efforts: from the MJCF where it limits them, from the profile elsewhere.
    assert aloha.tau_max[aloha.index("vx300s_left/shoulder")] == 300.0
    assert aloha.tau_max[aloha.index("vx300s_left/wrist_angle")] == 35.0


def test_aloha_reads_state_and_moves_a_joint():
    aloha = RobotDescription.load("aloha")
    sim = SimRobot(aloha)  # its MJCF is a whole scene: no world of ours
    state = sim.read_state()
    assert state.q.shape == (16,) and np.all(np.isfinite(state.q))
    np.testing.assert_allclose(state.q, aloha.home, atol=1e-9)

    waist = aloha.index("vx300s_left/waist")
    target = aloha.home.copy()
    target[waist] = 0.5
    for _ in range(1500):
        sim.write_command(JointCommand(q=target))
        sim.step()
    after = sim.read_state()
    assert abs(after.q[waist] - 0.5) < 0.03
    others = np.delete(np.arange(16), waist)
    assert np.abs(after.q[others] - state.q[others]).max() < 0.05


def test_aloha_runs_behind_the_safety_kernel():
    from dynamical.runtime.lockstep import LockstepRuntime
    from dynamical.safety.config import SafetyConfig
    from tests.safety.driver_checks import assert_within_limits

    aloha = RobotDescription.load("aloha")
    target = aloha.home.copy()
    target[aloha.index("vx300s_right/waist")] = -0.6
    with LockstepRuntime(aloha, None, SafetyConfig()) as rt:
        rt.run(1.5, lambda t, link: link.send(target))
        assert abs(rt.link.state().q[aloha.index("vx300s_right/waist")] + 0.6) < 0.03
        assert_within_limits(aloha, rt.received)
