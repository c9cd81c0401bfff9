"""Fault injection, lock-step and deterministic: whatever the executive sends, the driver only
receives commands within every limit."""

import numpy as np
import pytest

from dynamical.robot.demo_motion import demo_targets
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import BoxZone, SafetyConfig
from dynamical.safety.rules import Rule, SafetyMode
from tests.conftest import FAR
from tests.safety.driver_checks import assert_within_limits, driver_arrays, rules


def moving(description):
    return lambda t, link: link.send(demo_targets(description, t))


def test_nan_and_inf_targets_never_reach_the_driver(runtime, humanoid):
    runtime.run(0.5, moving(humanoid))

    def poisoned(t, link):
        q = demo_targets(humanoid, t)
        q[int(t * 1000) % humanoid.n_joints] = np.nan if int(t * 200) % 2 else np.inf
        link.send(q)

    runtime.run(0.3, poisoned)
    events = runtime.link.events()
    assert Rule.NON_FINITE in rules(events)
    assert_within_limits(humanoid, runtime.received)
    # Refused commands are missing commands: the watchdog holds, then brakes.
    assert runtime.outputs[-1].mode in (SafetyMode.HOLD, SafetyMode.BRAKING, SafetyMode.PROTECTIVE_STOP)


def test_targets_beyond_joint_limits_are_clamped(runtime, humanoid):
    beyond = humanoid.q_max + 1.0
    runtime.run(2.0, lambda t, link: link.send(beyond))
    _, q, _, _ = driver_arrays(runtime.received)
    assert_within_limits(humanoid, runtime.received)
    assert Rule.POSITION_LIMIT in rules(runtime.link.events())
    # It goes as far as it may: every joint ends at (or braking-close to) its upper limit.
    assert np.all(q[-1] > humanoid.q_max - 0.05)


def test_velocity_steps_are_smoothed_to_the_limits(runtime, humanoid):
    elbow = humanoid.index("r_elbow")

    def steps(t, link):
        q = humanoid.home.copy()
        q[elbow] = 2.0 if int(t / 0.4) % 2 else 0.1  # a 1.9 rad step every 0.4 s
        link.send(q, dq=np.where(np.arange(humanoid.n_joints) == elbow, 50.0, 0.0))

    runtime.run(1.6, steps)
    _, _, dq, _ = driver_arrays(runtime.received)
    assert_within_limits(humanoid, runtime.received)
    assert np.abs(dq[:, elbow]).max() == pytest.approx(humanoid.v_max[elbow], rel=1e-6)
    events = set(rules(runtime.link.events()))
    assert {Rule.VELOCITY_LIMIT, Rule.ACCELERATION_LIMIT} <= events
    assert Rule.HARD_LIMIT_HOLD not in events, "the filter kept the limits itself"


def test_a_hand_driven_into_a_keep_out_zone_stops_outside(humanoid, tabletop):
    zone = BoxZone(name="fixture", center=(0.35, -0.25, 1.0), half_size=(0.08, 0.08, 0.08))
    config = SafetyConfig(zones=[*SafetyConfig().zones, zone])
    with LockstepRuntime(humanoid, tabletop, config) as rt:
        rt.set_mannequin_pose(*FAR)
        # Raise the right arm forward and across: the hand's path goes through the zone.
        start, goal = humanoid.home.copy(), humanoid.home.copy()
        for joint, value in (("r_shoulder_pitch", 1.3), ("r_shoulder_roll", -0.2), ("r_elbow", 0.6)):
            goal[humanoid.index(joint)] = value
        rt.run(3.0, lambda t, link: link.send(start + (goal - start) * min(t / 1.5, 1.0)))
        events = rt.link.events()
        assert Rule.KEEP_OUT_ZONE in rules(events)
        assert Rule.HARD_LIMIT_HOLD not in rules(events)
        assert_within_limits(humanoid, rt.received, zones=config.zones)
        palm, _ = rt.site_pose("r_palm")
        from tests.safety.driver_checks import clearance

        assert clearance(zone, palm) >= humanoid.safety_points["r_palm"] - 0.02  # the real hand, too


def test_person_walking_toward_the_moving_robot(humanoid, tabletop):
    """Speed scales down as the mannequin approaches at 1.6 m/s, the robot is stopped before the
    separation falls below S_p, and it resumes after the person walks away."""
    config = SafetyConfig()
    ssm = config.separation
    with LockstepRuntime(humanoid, tabletop, config) as rt:
        rt.set_mannequin_pose(3.0, -0.2, yaw=np.pi)

        def person(t):
            if t < 1.0:
                return 3.0
            if t < 2.5:
                return max(3.0 - 1.6 * (t - 1.0), 0.75)  # walks in at 1.6 m/s, stops 0.75 m away
            if t < 3.5:
                return 0.75
            return min(0.75 + 1.6 * (t - 3.5), 3.0)  # and walks away

        log = []

        def on_tick(t, out):
            rt.set_mannequin_pose(person(t), -0.2, yaw=np.pi)
            log.append((t, out.separation, out.protective_distance, out.speed_scale, out.mode, out.command.dq))

        rt.run(6.0, moving(humanoid), on_tick)
        t = np.array([row[0] for row in log])
        separation = np.array([row[1] for row in log])
        protective = np.array([row[2] for row in log])
        scale = np.array([row[3] for row in log])
        modes = [row[4] for row in log]
        speed = np.array([np.abs(row[5]).max() for row in log])
        stopping = np.array([m in (SafetyMode.PROTECTIVE_STOP, SafetyMode.BRAKING) for m in modes])

        assert scale[t < 1.0].min() == 1.0 and scale.min() == 0.0, "speed scales down as the person approaches"
        assert np.all((separation >= protective - 1e-6) | stopping), "never closer than S_p while moving"
        first_inside = np.argmax(separation < ssm.static_distance())
        stopped_by = first_inside + round(ssm.stopping_time / 0.001)
        assert separation[first_inside] > 0.0
        assert speed[stopped_by : np.argmax(t > 3.5)].max() < 1e-9, "stopped within T_s and held"
        assert separation.min() > ssm.intrusion_distance, "the robot never reaches the person"
        events = rules(rt.link.events())
        assert Rule.SEPARATION_STOP in events and Rule.SEPARATION_RESUME in events
        assert modes[-1] == SafetyMode.RUNNING and speed[-200:].max() > 0.05, "motion resumed"
        assert_within_limits(humanoid, rt.received)


def test_missing_commands_hold_then_brake_then_protective_stop(runtime, humanoid):
    wd = SafetyConfig().watchdog
    runtime.run(1.0, moving(humanoid))
    before = len(runtime.outputs)
    runtime.run(0.5)  # the executive falls silent
    modes = [out.mode for out in runtime.outputs[before:]]
    hold_from = modes.index(SafetyMode.HOLD)
    brake_from = modes.index(SafetyMode.BRAKING)
    stop_from = modes.index(SafetyMode.PROTECTIVE_STOP)
    # The first missed 200 Hz command is noticed 5 ticks after the last one arrived.
    assert hold_from < brake_from < stop_from
    assert brake_from - hold_from == wd.decelerate_after_ticks - wd.hold_after_ticks
    assert stop_from - hold_from == wd.protective_stop_after_ticks - wd.hold_after_ticks
    assert runtime.outputs[-1].protective_stop
    _, _, dq, _ = driver_arrays(runtime.received)
    assert np.abs(dq[-1]).max() < 1e-9
    assert {Rule.WATCHDOG_HOLD, Rule.WATCHDOG_DECELERATE, Rule.WATCHDOG_PROTECTIVE_STOP} <= set(
        rules(runtime.link.events())
    )
    # Latched: fresh commands alone do not move it; an explicit reset does.
    runtime.run(0.2, moving(humanoid))
    assert runtime.outputs[-1].mode == SafetyMode.PROTECTIVE_STOP
    runtime.link.reset()
    runtime.run(0.5, moving(humanoid))
    assert runtime.outputs[-1].mode == SafetyMode.RUNNING
    assert_within_limits(humanoid, runtime.received)


@pytest.mark.parametrize("category", [0, 1, 2])
def test_estop_during_fast_motion_stops_within_the_braking_distance(runtime, humanoid, category):
    arm = humanoid.group_indices("arm_right")
    start, goal = humanoid.home.copy(), humanoid.home.copy()
    goal[arm[0]], goal[arm[3]] = 1.6, 1.8  # shoulder pitch and elbow: a fast reach
    runtime.run(0.6, lambda t, link: link.send(start + (goal - start) * min(t / 0.6, 1.0)))
    _, q_at, dq_at, _ = driver_arrays(runtime.received)
    q0, v0 = q_at[-1], dq_at[-1]
    assert np.abs(v0[arm]).max() > 1.5, "the arm is moving fast when the stop is requested"
    runtime.link.estop(category)
    runtime.run(0.6, lambda t, link: link.send(goal))  # the executive keeps asking to move
    out = runtime.outputs[-1]
    assert out.mode == SafetyMode.ESTOP and out.estop_category == category
    assert out.power_on == (category == 2)
    _, q, dq, _ = driver_arrays(runtime.received)
    braking = v0**2 / (2 * humanoid.a_max) + np.abs(v0) * 0.002
    if category == 0:
        assert len(q) == len(q_at), "category 0: the drives lost power at the next tick"
    else:
        assert np.all(np.abs(q[-1] - q0) <= braking + 1e-9), "stopped within the computed distance"
        assert np.abs(dq[-1]).max() == 0.0
    measured = runtime.link.state()
    assert np.abs(measured.dq).max() < 0.05, "the simulated robot is at rest"
    assert_within_limits(humanoid, runtime.received)
    assert Rule.ESTOP in rules(runtime.link.events())
    # Only an explicit reset clears it.
    runtime.link.reset()
    runtime.run(0.5, moving(humanoid))
    assert runtime.outputs[-1].estop_category == -1 and runtime.outputs[-1].power_on


def test_infeasible_filter_hands_over_to_the_braking_controller(runtime, humanoid):
    """A person appears about 0.9 m from a fast-moving hand: the allowed speed drops faster than
    the joints may decelerate, the QP has no solution, the braking controller takes over."""
    arm = humanoid.group_indices("arm_right")
    start, goal = humanoid.home.copy(), humanoid.home.copy()
    goal[arm[0]], goal[arm[1]] = 1.5, -0.5
    runtime.run(0.45, lambda t, link: link.send(start + (goal - start) * min(t / 0.5, 1.0)))
    palm, _ = runtime.site_pose("r_palm")
    runtime.set_mannequin_pose(palm[0] + 1.0 + 0.32, palm[1])
    runtime.run(0.8, lambda t, link: link.send(goal))
    runtime.set_mannequin_pose(*FAR)
    runtime.run(1.0, lambda t, link: link.send(goal))
    events = rules(runtime.link.events())
    assert Rule.QP_INFEASIBLE in events
    takeover = events.index(Rule.BRAKING_TAKEOVER)
    assert Rule.BRAKING_HANDBACK in events[takeover:], "hands back once the filter is safe again"
    assert runtime.outputs[-1].mode == SafetyMode.RUNNING
    assert_within_limits(humanoid, runtime.received)


def test_lockstep_is_deterministic(humanoid, tabletop):
    def run():
        with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=3) as rt:
            rt.run(1.0, moving(humanoid))
            return driver_arrays(rt.received)[1], rt.link.state().q

    (a, qa), (b, qb) = run(), run()
    assert np.array_equal(a, b) and np.array_equal(qa, qb)


@pytest.mark.slow
def test_carrying_a_cube_needs_no_hard_limit_hold(humanoid, tabletop):
    """Regression: DAQP meets bounds only to its tolerance, which read as 1e-5 rad/s² over the
    acceleration limit and made the independent check hold the arm mid-carry."""
    from dynamical.robot.kinematics import Kinematics, Pose
    from dynamical.robot.scene import build_model
    from dynamical.skills.hands import HAND_CLOSED, HAND_OPEN
    from dynamical.skills.motion import solve_reach, top_grasp_rotation
    from dynamical.skills.timing import MotionLimits, time_path

    kinematics = Kinematics(build_model(humanoid), humanoid)
    hand = humanoid.group_indices("hand_right")
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=0) as rt:
        rt.set_mannequin_pose(*FAR)
        cube, _ = rt.body_pose("red_cube")
        grasp, level = top_grasp_rotation(rt.body_pose("red_cube")[1]), top_grasp_rotation(np.array([1.0, 0, 0, 0]))

        def reach(q, position, fingers, rot):
            q = solve_reach(kinematics, q, "r_grasp", Pose(position, rot), ["arm_right"])
            q[hand] = fingers
            return q

        up = reach(humanoid.home, np.array([0.25, -0.25, 0.95]), HAND_OPEN, grasp)
        pre = reach(up, cube + np.array([0, 0, 0.08]), HAND_OPEN, grasp)
        at = reach(pre, cube, HAND_OPEN, grasp)
        closed = at.copy()
        closed[hand] = HAND_CLOSED
        lift = reach(closed, cube + np.array([0, 0, 0.15]), HAND_CLOSED, grasp)
        over_shelf = reach(lift, np.array([0.34, -0.49, 1.28]), HAND_CLOSED, level)
        limits, legs, q = MotionLimits.of(humanoid), [], humanoid.home
        for waypoint in (up, pre, at, closed, lift, over_shelf):  # at rest at each, as a grasp is
            legs.append(time_path(q, waypoint[None, :], limits))
            q = legs[-1].end
        ends = np.cumsum([leg.duration for leg in legs])

        def target(t):
            i = min(int(np.searchsorted(ends, t, side="right")), len(legs) - 1)
            return legs[i].target(t - (ends[i] - legs[i].duration))

        start = rt.time
        rt.run(float(ends[-1]) + 0.3, lambda t, link: link.send(target(t - start)))
        assert Rule.HARD_LIMIT_HOLD not in rules(rt.link.events())
        assert_within_limits(humanoid, rt.received)
