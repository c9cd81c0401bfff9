"""The kernel's parts, each on numbers worked by hand."""

import numpy as np
import pytest
from pydantic import ValidationError

from dynamical.robot.point_kinematics import MujocoPointKinematics
from dynamical.robot.scene import build_model
from dynamical.safety.assurance import Supervisor, braking_step, recoverable
from dynamical.safety.config import BoxZone, HalfSpaceZone, SafetyConfig, SeparationConfig, WatchdogConfig
from dynamical.safety.hard_check import HardLimitCheck
from dynamical.safety.limits import braking_room_speed, stopping_distance
from dynamical.safety.rules import Rule
from dynamical.safety.separation import Person, persons_array, separation
from dynamical.safety.watchdog import Watchdog, WatchdogPhase


def test_protective_distance_is_iso_ts_15066():
    c = SeparationConfig(
        human_speed=1.6, reaction_time=0.1, stopping_time=0.4, intrusion_distance=0.2,
        human_uncertainty=0.05, robot_uncertainty=0.03,
    )  # fmt: skip
    # S_p = v_h(T_r+T_s) + v_r T_r + v_r T_s/2 + C + Z_d + Z_r
    assert c.protective_distance(0.0) == pytest.approx(1.6 * 0.5 + 0.2 + 0.05 + 0.03)
    assert c.protective_distance(0.5) == pytest.approx(1.6 * 0.5 + 0.5 * 0.1 + 0.5 * 0.2 + 0.28)
    for v in (0.0, 0.3, 1.2):
        assert c.allowed_speed(c.protective_distance(v)) == pytest.approx(v)
    assert c.allowed_speed(0.5) == 0.0


def test_separation_to_a_capsule_person():
    person = persons_array([Person(base=np.array([1.0, 0.0, 0.0]), top=np.array([1.0, 0.0, 1.8]), radius=0.3)])
    points = np.array([[0.0, 0.0, 1.0], [0.2, 0.0, 2.5]])
    directions = np.zeros((2, 3))
    d = separation(person, points, np.array([0.05, 0.05]), directions)
    assert d == pytest.approx(1.0 - 0.3 - 0.05)
    np.testing.assert_allclose(directions[0], [1.0, 0.0, 0.0])
    assert separation(np.zeros((0, 7)), points, np.array([0.05, 0.05]), directions) == np.inf


def test_braking_distances_agree_with_braking_step():
    a, dt = np.array([10.0]), 0.001
    q, v = np.array([0.0]), np.array([2.0])
    room = stopping_distance(2.0, 10.0, dt)
    travelled = 0.0
    while v[0] > 0:
        q2, v = braking_step(q, v, np.array([-9.0]), np.array([9.0]), a, dt)
        travelled += q2[0] - q[0]
        q = q2
    # Conservative, by no more than one tick of motion.
    assert room - 2.0 * dt - 1e-12 <= travelled <= room
    # The bound the filter uses leaves exactly one tick of motion plus that distance.
    speed = braking_room_speed(0.3, 10.0, dt)
    assert speed * dt + stopping_distance(speed, 10.0, dt) == pytest.approx(0.3)


def test_recoverable_set_and_handback_hysteresis():
    lim = dict(q_min=np.array([-1.0]), q_max=np.array([1.0]), a_max=np.array([10.0]))
    empty = np.zeros(0)
    ok, _ = recoverable(np.array([0.9]), np.array([1.0]), lim["q_min"], lim["q_max"], lim["a_max"], 0.001,
                        empty, empty, 3.0, 1.5)  # fmt: skip
    assert ok  # needs 0.0505 m, has 0.1
    ok, _ = recoverable(np.array([0.99]), np.array([1.0]), lim["q_min"], lim["q_max"], lim["a_max"], 0.001,
                        empty, empty, 3.0, 1.5)  # fmt: skip
    assert not ok
    supervisor = Supervisor(handback_ticks=3)
    assert supervisor.update(False, False) == (True, True)
    assert supervisor.update(True, True) == (True, False)
    assert supervisor.update(True, False) == (True, False)  # the streak restarts
    for _ in range(2):
        assert supervisor.update(True, True)[0]
    assert supervisor.update(True, True) == (False, True)


def test_watchdog_phases_and_latch():
    dog = Watchdog(WatchdogConfig(hold_after_ticks=2, decelerate_after_ticks=4, protective_stop_after_ticks=6))
    assert dog.tick(False) == WatchdogPhase.OK, "never commanded: nothing to watch"
    assert dog.tick(True) == WatchdogPhase.OK
    phases = [dog.tick(False) for _ in range(8)]
    assert phases[:2] == [WatchdogPhase.OK] * 2
    assert phases[2:4] == [WatchdogPhase.HOLD] * 2
    assert phases[4:6] == [WatchdogPhase.DECELERATE] * 2
    assert phases[6:] == [WatchdogPhase.PROTECTIVE_STOP] * 2
    assert dog.tick(True) == WatchdogPhase.PROTECTIVE_STOP, "latched until reset"
    dog.reset()
    assert dog.tick(True) == WatchdogPhase.OK
    with pytest.raises(ValidationError):
        WatchdogConfig(hold_after_ticks=5, decelerate_after_ticks=4)


def test_the_independent_check_catches_what_the_filter_should_not_let_through(humanoid):
    zone = BoxZone(name="z", center=(0.3, -0.2, 1.0), half_size=(0.1, 0.1, 0.1))
    points = MujocoPointKinematics(build_model(humanoid), humanoid)
    zones = [zone, HalfSpaceZone(name="floor", normal=(0, 0, 1), offset=0.05)]
    check = HardLimitCheck(humanoid.q_min, humanoid.q_max, humanoid.v_max, humanoid.a_max, humanoid.tau_max,
                           points, zones, 0.001, 1e-6)  # fmt: skip
    n, home, zero = humanoid.n_joints, humanoid.home, np.zeros(humanoid.n_joints)
    assert check.check(home, zero, zero, zero) is None
    bad = home.copy()
    bad[5] = humanoid.q_max[5] + 0.01
    assert check.check(bad, zero, zero, zero).rule == Rule.POSITION_LIMIT
    fast = zero.copy()
    fast[7] = humanoid.v_max[7] * 1.01
    assert check.check(home, fast, zero, fast).rule == Rule.VELOCITY_LIMIT
    jump = zero.copy()
    jump[7] = humanoid.a_max[7] * 0.0011
    assert check.check(home, jump, zero, zero).rule == Rule.ACCELERATION_LIMIT
    assert check.check(home, zero, humanoid.tau_max * 1.01, zero).rule == Rule.EFFORT_LIMIT
    nan = home.copy()
    nan[0] = np.nan
    assert check.check(nan, zero, zero, zero).rule == Rule.NON_FINITE
    # Put the right palm inside the zone by moving the arm there, found with the kinematics.
    reach = home.copy()
    for joint, value in (("r_shoulder_pitch", 1.2), ("r_elbow", 0.5)):
        reach[humanoid.index(joint)] = value
    points.update(reach, jacobians=False)
    palm = points.positions()[points.names.index("r_palm")]
    inside = [BoxZone(name="here", center=tuple(palm), half_size=(0.05, 0.05, 0.05))]
    check_here = HardLimitCheck(humanoid.q_min, humanoid.q_max, humanoid.v_max, humanoid.a_max,
                                humanoid.tau_max, points, inside, 0.001, 1e-6)  # fmt: skip
    violation = check_here.check(reach, zero, zero, zero)
    assert violation.rule == Rule.KEEP_OUT_ZONE and n == len(home)


def test_zone_and_safety_config_validation():
    with pytest.raises(ValidationError, match="half size"):
        BoxZone(name="flat", center=(0, 0, 0), half_size=(0.1, 0.0, 0.1))
    with pytest.raises(ValidationError, match="normal"):
        HalfSpaceZone(name="none", normal=(0, 0, 0), offset=1.0)
    assert HalfSpaceZone(name="n", normal=(0, 0, 2), offset=1.0).normal == (0, 0, 1)
    assert [z.name for z in SafetyConfig().zones] == ["floor"]


def test_qp_through_daqps_c_api_matches_its_python_api_and_warm_starts():
    import daqp

    from dynamical.safety.qp_filter import INF, QPFilter

    rng = np.random.default_rng(3)
    n, m_ge, m_le = 12, 8, 4
    qp = QPFilter(n, m_ge, m_le)
    a = rng.normal(size=(m_ge + m_le, n))
    iterations = []
    v_des = rng.normal(0, 1.5, n)
    for _ in range(20):
        lower, upper = -np.ones(n), np.ones(n)
        a = a + rng.normal(0, 0.001, a.shape)
        b_ge, b_le = -np.full(m_ge, 0.3), np.full(m_le, 0.3)
        ok, exitflag, iters = qp.solve(v_des, lower, upper, a[:m_ge], b_ge, a[m_ge:], b_le)
        reference = daqp.solve(
            np.eye(n), -v_des, a, np.r_[upper, np.full(m_ge, INF), b_le], np.r_[lower, b_ge, np.full(m_le, -INF)]
        )
        assert ok and exitflag == reference[2] == 1
        np.testing.assert_allclose(qp.x, reference[0], atol=1e-9)
        iterations.append(iters)
        v_des = v_des + rng.normal(0, 0.01, n)  # the next tick asks for nearly the same
    assert iterations[0] > 3 and max(iterations[5:]) <= 2, "later solves start from the last working set"


def test_warm_up_compiles_every_path_the_kernel_takes(humanoid, tabletop):
    """A compiled step first met inside the 1 kHz loop stalls it for hundreds of ms: after
    warm-up, e-stops, braking, zones (and zone updates), people and bad commands must find
    everything compiled."""
    import numba

    import dynamical.safety as safety_package
    from dynamical.robot.demo_motion import demo_targets
    from dynamical.runtime.lockstep import LockstepRuntime

    def signatures() -> dict[str, int]:
        import importlib
        import pkgutil

        found = {}
        names = [f"dynamical.safety.{info.name}" for info in pkgutil.iter_modules(safety_package.__path__)]
        for name in [*names, "dynamical.robot.point_kinematics"]:
            module = importlib.import_module(name)
            for attribute, value in vars(module).items():
                if isinstance(value, numba.core.registry.CPUDispatcher):
                    found[f"{module.__name__}.{attribute}"] = len(value.signatures)
        return found

    with LockstepRuntime(humanoid, tabletop, SafetyConfig()) as rt:
        rt.warm_up()
        before = signatures()
        rt.set_mannequin_pose(1.0, -0.3)
        rt.run(0.5, lambda t, link: link.send(demo_targets(humanoid, t)))
        bad = humanoid.home.copy()
        bad[3] = np.nan
        rt.run(0.05, lambda t, link: link.send(bad))
        rt.link.estop(1)
        rt.run(0.5, lambda t, link: link.send(humanoid.home))
        rt.link.reset()
        rt.set_mannequin_pose(4.0, 4.0)
        # New zones (applied at a tick's start, the check's baseline computed there), then none.
        rt.set_zones([*SafetyConfig().zones, BoxZone(name="box", center=(0.4, -0.3, 0.9), half_size=(0.1,) * 3)])
        rt.run(0.5, lambda t, link: link.send(demo_targets(humanoid, t)))
        rt.set_zones([])
        rt.run(0.1, lambda t, link: link.send(demo_targets(humanoid, t)))
        assert signatures() == before
