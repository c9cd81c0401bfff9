"""The right hand really grasps: real contacts and friction, no welds, no attachment tricks."""

import mujoco
import numpy as np
import pytest

from dynamical.robot import JointCommand, SimRobot
from dynamical.robot.kinematics import Kinematics, Pose
from dynamical.skills.hands import HAND_CLOSED, HAND_OPEN
from dynamical.skills.motion import smoothstep, top_grasp_rotation


class ScriptedHand:
    """Joint-space moves between IK solutions, commanded every physics tick."""

    def __init__(self, sim: SimRobot) -> None:
        self.sim = sim
        self.desc = sim.description
        self.kinematics = Kinematics(sim.model, self.desc)
        self.hand = self.desc.group_indices("hand_right")
        self.q = self.desc.home.copy()

    def move(self, q_to: np.ndarray, seconds: float) -> None:
        q_from, ticks = self.q.copy(), round(seconds / self.sim.timestep)
        for i in range(ticks):
            s = smoothstep((i + 1) / ticks)  # no jump in velocity at either end
            self.sim.write_command(JointCommand(q=q_from + (q_to - q_from) * s))
            self.sim.step()
        self.q = q_to.copy()

    def hold(self, seconds: float) -> None:
        self.move(self.q, seconds)

    def reach(self, pos: np.ndarray, rot: np.ndarray, hand: list[float], seconds: float) -> None:
        result = self.kinematics.solve(self.q, {"r_grasp": Pose(pos, rot)}, ["arm_right"], qpos=self.sim.data.qpos)
        assert result.converged, result
        q = result.q.copy()
        q[self.hand] = hand
        self.move(q, seconds)

    def set_hand(self, hand: list[float], seconds: float) -> None:
        q = self.q.copy()
        q[self.hand] = hand
        self.move(q, seconds)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 5])
def test_right_hand_lifts_the_red_cube_10_cm_and_holds_it_2_s(humanoid, tabletop, seed):
    sim = SimRobot(humanoid, tabletop, seed=seed)
    script = ScriptedHand(sim)
    cube_pos, cube_quat = sim.body_pose("red_cube")
    rot = top_grasp_rotation(cube_quat)

    script.set_hand(HAND_OPEN, 0.3)
    script.reach(np.array([0.25, -0.25, 0.95]), rot, HAND_OPEN, 1.0)  # clear of the table edge
    script.reach(cube_pos + np.array([0, 0, 0.08]), rot, HAND_OPEN, 1.5)
    script.reach(cube_pos, rot, HAND_OPEN, 1.0)
    script.hold(0.3)
    script.set_hand(HAND_CLOSED, 0.6)
    script.hold(0.3)
    script.reach(cube_pos + np.array([0, 0, 0.12]), rot, HAND_CLOSED, 1.5)
    script.hold(0.2)

    lifted, _ = sim.body_pose("red_cube")
    assert lifted[2] - cube_pos[2] >= 0.10, "the cube must be lifted at least 10 cm"
    in_hand = lifted - sim.site_pose("r_grasp")[0]
    lowest = lifted[2]
    for _ in range(20):  # hold 2 s, checking every 0.1 s
        script.hold(0.1)
        pos, _ = sim.body_pose("red_cube")
        lowest = min(lowest, pos[2])
    held = pos - sim.site_pose("r_grasp")[0]
    assert np.linalg.norm(held - in_hand) < 0.005, "the cube slipped in the hand"
    assert lowest - cube_pos[2] >= 0.10

    # Real contact physics: the cube hangs on finger contacts, not on a weld or an equality.
    contacts = {
        sim.model.body(sim.model.geom_bodyid[g]).name
        for c in sim.data.contact[: sim.data.ncon]
        for g in (c.geom1, c.geom2)
        if sim.model.geom_bodyid[c.geom1] == sim.model.body("red_cube").id
        or sim.model.geom_bodyid[c.geom2] == sim.model.body("red_cube").id
    }
    assert "table" not in contacts
    assert any("thumb" in b for b in contacts) and any(f in b for b in contacts for f in ("index", "middle"))
    cube = sim.model.body("red_cube").id
    body_constraints = (mujoco.mjtEq.mjEQ_WELD, mujoco.mjtEq.mjEQ_CONNECT)
    for e in range(sim.model.neq):
        if sim.model.eq_type[e] in body_constraints:
            assert cube not in (sim.model.eq_obj1id[e], sim.model.eq_obj2id[e])
