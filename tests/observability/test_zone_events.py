"""A KEEP_OUT_ZONE event names its zone and monitored point, never a joint: the kernel's index
is zone * stride + point (``safety/zone_events.py``), and the agent's report turns it into names."""

from __future__ import annotations

import numpy as np

from dynamical.agent.messages import SafetyEventWire
from dynamical.agent.reports import event_report
from dynamical.robot.point_kinematics import MujocoPointKinematics
from dynamical.robot.scene import build_model
from dynamical.runtime.channels.events import EventRecord
from dynamical.safety.config import BoxZone, HalfSpaceZone
from dynamical.safety.hard_check import HardLimitCheck
from dynamical.safety.rules import Rule
from dynamical.safety.zone_events import zone_and_point, zone_event_index, zone_event_names


def test_the_index_round_trips_to_names() -> None:
    index = zone_event_index(2, 5)
    assert zone_and_point(index) == (2, 5)
    assert zone_event_names(index, ["a", "b", "shelf_keepout"], [f"p{i}" for i in range(6)]) == ("shelf_keepout", "p5")
    assert zone_event_names(index, ["a"], []) == (None, None)
    assert zone_and_point(-1) == (-1, -1)


def test_the_independent_check_names_the_zone_in_list_order(humanoid) -> None:
    points = MujocoPointKinematics(build_model(humanoid), humanoid)
    reach = humanoid.home.copy()
    for joint, value in (("r_shoulder_pitch", 1.2), ("r_elbow", 0.5)):
        reach[humanoid.index(joint)] = value
    points.update(reach, jacobians=False)
    palm = points.positions()[points.names.index("r_palm")]
    zones = [
        HalfSpaceZone(name="floor", normal=(0, 0, 1), offset=0.05),
        BoxZone(name="far_box", center=(3.0, 3.0, 1.0), half_size=(0.1, 0.1, 0.1)),
        BoxZone(name="around_the_palm", center=tuple(palm), half_size=(0.05, 0.05, 0.05)),
    ]
    check = HardLimitCheck(humanoid.q_min, humanoid.q_max, humanoid.v_max, humanoid.a_max, humanoid.tau_max,
                           points, zones, 0.001, 1e-6)  # fmt: skip
    zero = np.zeros(humanoid.n_joints)
    violation = check.check(reach, zero, zero, zero)
    assert violation is not None and violation.rule == Rule.KEEP_OUT_ZONE
    zone, point = zone_event_names(violation.index, [z.name for z in zones], points.names)
    assert zone == "around_the_palm"
    assert point is not None and point.startswith("r_")


def test_the_agent_report_and_the_wire_carry_names_not_a_joint(humanoid) -> None:
    q = np.zeros(humanoid.n_joints)
    record = EventRecord(7, 1.5, 1500, int(Rule.KEEP_OUT_ZONE), zone_event_index(1, 0), -0.2, 0.0, q, q)
    report = event_report(record, humanoid.joint_names, ["floor", "shelf_keepout"], tuple(humanoid.safety_points))
    assert (report.zone, report.point, report.joint) == ("shelf_keepout", next(iter(humanoid.safety_points)), None)
    wire = SafetyEventWire.from_report(report, humanoid.joint_names, None)
    assert (wire.zone, wire.point, wire.joint) == ("shelf_keepout", next(iter(humanoid.safety_points)), -1)
    other = EventRecord(8, 1.6, 1600, int(Rule.VELOCITY_LIMIT), 3, 2.0, 1.0, q, q)
    assert event_report(other, humanoid.joint_names).joint == humanoid.joint_names[3]
