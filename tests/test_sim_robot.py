import numpy as np
import pytest

from dynamical.robot import CommandError, JointCommand, Robot, SimRobot, UnknownNameError
from dynamical.robot.demo_motion import demo_targets


def _trajectory(humanoid, tabletop, seed: int, ticks: int = 1500) -> np.ndarray:
    sim = SimRobot(humanoid, tabletop, seed=seed)
    rows = []
    for tick in range(ticks):
        if tick % 5 == 0:
            sim.write_command(JointCommand(q=demo_targets(humanoid, sim.time)))
        sim.step()
        rows.append(sim.data.qpos.copy())
    return np.array(rows)


def test_simrobot_implements_the_robot_protocol(sim):
    assert isinstance(sim, Robot)
    state = sim.read_state()
    n = sim.description.n_joints
    assert state.q.shape == state.dq.shape == state.tau.shape == (n,)
    assert sim.timestep == 0.001, "physics runs at 1 kHz"


def test_same_seed_gives_identical_trajectories_bit_for_bit(humanoid, tabletop):
    first = _trajectory(humanoid, tabletop, seed=3)
    second = _trajectory(humanoid, tabletop, seed=3)
    assert np.array_equal(first, second)
    other = _trajectory(humanoid, tabletop, seed=4, ticks=10)
    assert not np.array_equal(first[:10], other)


def test_reset_draws_objects_within_the_documented_bounds(sim, tabletop):
    for seed in range(20):
        sim.reset(seed)
        positions = {}
        for name, bounds in tabletop.objects.items():
            pos, _quat = sim.body_pose(name)
            assert bounds.x[0] <= pos[0] <= bounds.x[1]
            assert bounds.y[0] <= pos[1] <= bounds.y[1]
            assert pos[2] == pytest.approx(bounds.z)
            positions[name] = pos[:2]
        names = list(positions)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                assert np.linalg.norm(positions[a] - positions[b]) >= tabletop.min_separation


def test_objects_rest_on_the_table(sim):
    sim.step(500)
    for name in ("red_cube", "green_cube", "blue_cube"):
        pos, _ = sim.body_pose(name)
        assert pos[2] == pytest.approx(0.775, abs=0.002), f"{name} should rest on the 0.75 m table top"


def test_bad_commands_are_refused_and_leave_the_targets_alone(sim):
    n = sim.description.n_joints
    before = sim.data.ctrl.copy()
    bad_q = sim.description.home.copy()
    bad_q[5] = np.nan
    with pytest.raises(CommandError, match="non-finite values at joints \\[5\\]"):
        sim.write_command(JointCommand(q=bad_q))
    with pytest.raises(CommandError, match="shape"):
        sim.write_command(JointCommand(q=np.zeros(n - 1)))
    with pytest.raises(CommandError, match="command.tau"):
        sim.write_command(JointCommand(q=sim.description.home, tau=np.full(n, np.inf)))
    assert np.array_equal(sim.data.ctrl, before)


def test_drives_respect_effort_limits(sim):
    """Ask for targets at the far ends of every range: the drives saturate, never exceed."""
    desc = sim.description
    far = np.where(desc.home - desc.q_min > desc.q_max - desc.home, desc.q_min, desc.q_max)
    peak = np.zeros(desc.n_joints)
    for _ in range(300):
        sim.write_command(JointCommand(q=far, tau=np.sign(far - desc.home) * desc.tau_max))
        sim.step()
        peak = np.maximum(peak, np.abs(sim.read_state().tau))
    assert np.all(peak <= desc.tau_max * (1 + 1e-9))
    assert np.any(np.isclose(peak, desc.tau_max)), "some drive should have saturated"


def test_effort_feedforward_reaches_the_joint(sim):
    desc = sim.description
    elbow = desc.index("r_elbow")
    sim.write_command(JointCommand(q=desc.home))
    sim.step(200)
    base = sim.read_state().tau[elbow]
    tau = np.zeros(desc.n_joints)
    tau[elbow] = 5.0
    sim.write_command(JointCommand(q=desc.home, tau=tau))
    sim.step(1)
    assert sim.read_state().tau[elbow] - base == pytest.approx(5.0, abs=0.5)


def test_mannequin_moves_with_its_mocap_pose(sim):
    sim.set_mannequin_pose(1.2, -0.4, yaw=0.5)
    sim.step()
    pos, _ = sim.body_pose("mannequin")
    np.testing.assert_allclose(pos, [1.2, -0.4, 0.0])


def test_unknown_names_are_clear(sim):
    with pytest.raises(UnknownNameError, match="no body named 'purple_cube'"):
        sim.body_pose("purple_cube")
    with pytest.raises(UnknownNameError, match="no camera 'rear'"):
        sim.read_camera("rear")


def test_body_bottom_of_the_resting_cup_and_cube_is_the_table_top(humanoid, tabletop):
    """A cylinder base and rotated boxes: each geom type's extent, not a bounding sphere."""
    robot = SimRobot(humanoid, tabletop, seed=0)
    try:
        assert robot.body_bottom("red_cup") == pytest.approx(0.75, abs=1e-3)
        assert robot.body_bottom("red_cube") == pytest.approx(0.75, abs=1e-3)
    finally:
        robot.close()
