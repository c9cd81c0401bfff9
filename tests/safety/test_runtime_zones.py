"""Keep-out zones replaced while the kernel runs (``SafetyKernel.set_zones``, as the API's zones
arrive): lock-step, asserting on the commands the driver received."""

import math

import numpy as np
import pytest
from pydantic import ValidationError

from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.audit import audit_commands
from dynamical.safety.config import BoxZone, HalfSpaceZone, SafetyConfig
from dynamical.safety.rules import Rule, SafetyMode
from tests.conftest import FAR
from tests.safety.driver_checks import assert_within_limits, driver_arrays, rules, zone_gaps

FLOOR = SafetyConfig().zones
# Lifting the right arm sideways (shoulder roll 0 → -1 rad in 1 s) takes the palm from about
# (0.08, -0.24, 0.61) to (0.08, -0.70, 0.88): the arm tracks this motion closely in simulation.
LIFT_S = 1.0
# Around where that motion ends: the palm and wrist would finish inside it.
AHEAD = BoxZone(name="added", center=(0.08, -0.70, 0.88), half_size=(0.12, 0.08, 0.12))


def lift(humanoid, roll: float = -1.0):
    start, goal = humanoid.home.copy(), humanoid.home.copy()
    goal[humanoid.index("r_shoulder_roll")] = roll
    return goal, lambda t, link: link.send(start + (goal - start) * min(t / LIFT_S, 1.0))


def runtime_with(humanoid, tabletop, config: SafetyConfig | None = None) -> LockstepRuntime:
    rt = LockstepRuntime(humanoid, tabletop, config or SafetyConfig(), seed=0)
    rt.set_mannequin_pose(*FAR)
    return rt


def test_a_zone_added_mid_motion_stops_the_hand_short_and_removing_it_lets_the_motion_resume(humanoid, tabletop):
    goal, controller = lift(humanoid)
    roll = humanoid.index("r_shoulder_roll")
    with runtime_with(humanoid, tabletop) as rt:
        rt.run(0.2, controller)
        _, q, _, _ = driver_arrays(rt.received)
        assert zone_gaps(humanoid, q[-1:], AHEAD).min() > 0.2, "the zone is well ahead of the hand when added"
        rt.link.events()  # what happened before the zone
        added_at = len(rt.received)
        rt.set_zones([*FLOOR, AHEAD])
        rt.run(2.0, controller)
        with_zone = rt.received[added_at:]
        events = rules(rt.link.events())

        # No command sent from the next tick on puts a safety point into the zone...
        assert_within_limits(humanoid, rt.received, zones=FLOOR)
        _, q, dq, _ = driver_arrays(with_zone)
        assert zone_gaps(humanoid, q, AHEAD).min() >= -1e-6
        # ... and the hand went up to it and stopped there, short of the goal.
        final_gap = zone_gaps(humanoid, q[-1:], AHEAD).min()
        assert 0.0 <= final_gap < 0.03
        assert np.abs(dq[-100:]).max() < 1e-6, "at rest at the zone"
        assert q[-1, roll] > goal[roll] + 0.2
        assert events[:1] == [Rule.ZONES_CHANGED] and Rule.KEEP_OUT_ZONE in events
        assert Rule.HARD_LIMIT_HOLD not in events, "the filter kept the new zone itself"
        palm, _ = rt.site_pose("r_palm")
        assert AHEAD.center[1] + AHEAD.half_size[1] < palm[1] or palm[2] < AHEAD.center[2] - AHEAD.half_size[2], (
            "the simulated hand is outside too"
        )

        removed_at = len(rt.received)
        rt.set_zones(FLOOR)
        rt.run(1.5, controller)
        _, q, _, _ = driver_arrays(rt.received[removed_at:])
        assert q[-1, roll] == pytest.approx(goal[roll], abs=1e-3), "the motion resumed to its goal"
        assert zone_gaps(humanoid, q[-1:], AHEAD).min() < -0.05, "through where the zone was"
        assert Rule.ZONES_CHANGED in rules(rt.link.events())
        assert_within_limits(humanoid, rt.received, zones=FLOOR)


def test_zones_set_at_run_time_act_exactly_as_configured_ones(humanoid, tabletop):
    """A zone around the resting hand (it starts inside): from config, or through set_zones
    before the first tick, the driver receives the very same commands. The hand may move out,
    never deeper: commanded further in, it leaves by another way (the other joints of the QP),
    commanded back, it stops at the zone."""
    around = BoxZone(name="around", center=(0.082, -0.30, 0.612), half_size=(0.1, 0.1, 0.1))
    roll = humanoid.index("r_shoulder_roll")

    def drive(rt: LockstepRuntime) -> None:
        for target in (-1.0, 0.3):
            goal = humanoid.home.copy()
            goal[roll] = target
            rt.run(1.0, lambda t, link, goal=goal: link.send(goal))

    with runtime_with(humanoid, tabletop, SafetyConfig(zones=[*FLOOR, around])) as configured:
        drive(configured)
        from_config = driver_arrays(configured.received)
        config_events = rules(configured.link.events())
    with runtime_with(humanoid, tabletop) as updated:
        updated.set_zones([*FLOOR, around])
        drive(updated)
        at_run_time = driver_arrays(updated.received)
        run_time_events = rules(updated.link.events())

    for a, b in zip(from_config, at_run_time, strict=True):
        np.testing.assert_array_equal(a, b)
    assert run_time_events == [Rule.ZONES_CHANGED, *config_events]
    assert Rule.KEEP_OUT_ZONE in config_events and Rule.HARD_LIMIT_HOLD not in config_events

    _, q, _, _ = from_config
    gaps = zone_gaps(humanoid, q, around).min(axis=1)
    assert gaps[0] < -0.05, "the hand starts inside"
    inside = gaps[1:] < 0.0
    assert np.all(gaps[1:][inside] >= gaps[:-1][inside] - 1e-6), "never deeper"
    assert gaps[999] > 0.0, "out of the zone"
    assert 0.0 <= gaps[-1] < 0.03, "commanded back, it stops at the zone"


def test_a_zone_appearing_around_a_moving_hand_takes_the_braking_path(humanoid, tabletop):
    """As for any zone violation the filter cannot undo in one tick: no solution, the braking
    controller takes over, the independent check refuses to go deeper and holds; then the
    filter takes the hand out and hands back. (A site that adds zones where hands are moving
    gets these holds; the server may want to refuse such zones.)"""
    _, controller = lift(humanoid)
    with runtime_with(humanoid, tabletop) as rt:
        rt.run(0.4, controller)
        _, _, dq, _ = driver_arrays(rt.received)
        assert np.abs(dq[-1]).max() > 0.5, "moving"
        # Centred 5 cm further along the hand's path: the palm is 5 cm inside it.
        around = BoxZone(name="around", center=(0.082, -0.50, 0.667), half_size=(0.1, 0.1, 0.1))
        rt.link.events()  # what happened before the zone
        added_at = len(rt.received)
        rt.set_zones([*FLOOR, around])
        rt.run(1.0, controller)
        events = rt.link.events()
        received = rt.received
        _, q_after, _, _ = driver_arrays(received[added_at - 1 :])

    first = rules(events)
    assert first[:5] == [
        Rule.ZONES_CHANGED,
        Rule.BRAKING_TAKEOVER,
        Rule.QP_INFEASIBLE,
        Rule.HARD_LIMIT_HOLD,
        Rule.KEEP_OUT_ZONE,
    ]
    assert len({e.tick for e in events[:5]}) == 1, "all on the first tick with the new zone"
    assert Rule.BRAKING_HANDBACK in first
    gaps = zone_gaps(humanoid, q_after, around).min(axis=1)
    assert gaps[0] < 0.0, "the zone contains the hand when it arrives"
    assert gaps.min() >= gaps[0] - 1e-6, "never deeper than where the zone found it"
    assert gaps[-1] > 0.0, "and out again"
    # The check's hold stops at once, as every hold of the check does: the one command over a
    # limit is that step to zero velocity (0.9 rad/s in a tick), and nothing else.
    _, q, dq, tau = driver_arrays(received)
    audit = audit_commands(humanoid, q, dq, tau, 0.001)
    assert (audit.violations, audit.acceleration) == (1, 1)
    assert np.abs(dq[added_at]).max() == 0.0


@pytest.mark.parametrize("stop", ["estop", "watchdog"])
def test_a_latched_stop_survives_zone_updates(humanoid, tabletop, stop):
    _, controller = lift(humanoid)
    with runtime_with(humanoid, tabletop) as rt:
        rt.run(0.3, controller)
        if stop == "estop":
            rt.link.estop(2)  # category 2: power stays on, so the driver's commands show the hold
            rt.run(0.3, controller)
            expected = SafetyMode.ESTOP
        else:
            rt.run(0.3)  # the executive falls silent: hold, brake, latched protective stop
            expected = SafetyMode.PROTECTIVE_STOP
        assert rt.outputs[-1].mode == expected
        held = len(rt.received)
        for zones in ([*FLOOR, AHEAD], [], FLOOR, [*FLOOR, AHEAD]):
            rt.set_zones(zones)
            rt.run(0.1, controller)
        assert {out.mode for out in rt.outputs[-400:]} == {expected}
        _, q, dq, _ = driver_arrays(rt.received[held:])
        assert np.abs(dq).max() < 1e-9 and np.ptp(q, axis=0).max() < 1e-12, "nothing moved"
        events = rules(rt.link.events())
        assert events.count(Rule.ZONES_CHANGED) == 4 and Rule.RESET not in events

        # The reset is still what releases it, and the zones set meanwhile are in force.
        rt.link.reset()
        resumed = len(rt.received)
        rt.run(2.0, controller)
        assert rt.outputs[-1].mode == SafetyMode.RUNNING
        assert_within_limits(humanoid, rt.received, zones=FLOOR)
        _, q, _, _ = driver_arrays(rt.received[resumed:])
        assert zone_gaps(humanoid, q, AHEAD).min() >= -1e-6
        assert np.ptp(q[:, humanoid.index("r_shoulder_roll")]) > 0.1, "moving again"


def test_an_update_takes_effect_whole_at_the_next_tick(humanoid, tabletop):
    with runtime_with(humanoid, tabletop) as rt:
        kernel = rt.kernel
        rt.run(0.01, lambda t, link: link.send(humanoid.home))
        box = BoxZone(name="box", center=(0.5, 0.0, 1.0), half_size=(0.1, 0.1, 0.1))
        rt.set_zones([*FLOOR, box])
        rt.set_zones([box])  # a newer update before the tick: only the newest applies
        assert kernel.zones.zones == FLOOR and kernel.check.zones == FLOOR, "nothing changes between ticks"
        rt.run(0.001, lambda t, link: link.send(humanoid.home))
        assert kernel.zones.zones == [box] and kernel.check.zones == [box]
        assert (kernel.zones.count[0], tuple(kernel.check.counts)) == (1, (1, 0))
        assert rules(rt.link.events()) == [Rule.ZONES_CHANGED]


def test_inactive_zone_capacity_changes_nothing(humanoid, tabletop):
    """Room for 16 zones with 2 set and room for exactly 2: the same commands, bit for bit (the
    inactive rows never reach the QP); a zone set and removed again leaves nothing behind."""
    far = BoxZone(name="far", center=(3.0, 3.0, 1.0), half_size=(0.2, 0.2, 0.2))
    _, controller = lift(humanoid)

    def run(max_zones: int, toggle: bool) -> tuple[np.ndarray, ...]:
        with runtime_with(humanoid, tabletop, SafetyConfig(zones=[*FLOOR, AHEAD], max_zones=max_zones)) as rt:
            rt.run(0.3, controller)
            if toggle:
                rt.set_zones([*FLOOR, AHEAD, far])
            rt.run(0.3, controller)
            if toggle:
                rt.set_zones([*FLOOR, AHEAD])
            rt.run(0.9, controller)
            assert Rule.KEEP_OUT_ZONE in rules(rt.link.events()), "the zone shapes the motion"
            return driver_arrays(rt.received)

    exact = run(2, toggle=False)
    for a, b in zip(exact, run(16, toggle=False), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(exact, run(16, toggle=True), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


def test_more_zones_than_the_capacity_are_refused_and_nothing_changes(humanoid, tabletop):
    boxes = [BoxZone(name=f"b{i}", center=(2.0 + i, 0.0, 1.0), half_size=(0.1, 0.1, 0.1)) for i in range(3)]
    with runtime_with(humanoid, tabletop, SafetyConfig(max_zones=2)) as rt:
        rt.set_zones(boxes[:2])  # exactly the capacity: fine
        with pytest.raises(ValueError, match="exceed this kernel's capacity of 2"):
            rt.set_zones(boxes)
        rt.run(0.002, lambda t, link: link.send(humanoid.home))
        assert rt.kernel.zones.zones == boxes[:2]
    with pytest.raises(ValidationError, match="exceed max_zones=16"):
        SafetyConfig(zones=[BoxZone(name=f"b{i}", center=(i, 0, 0), half_size=(1, 1, 1)) for i in range(17)])


def test_invalid_zones_are_refused_by_the_kernel_too(humanoid, tabletop):
    """The kernel validates again: models are mutable, and model_construct skips validation."""
    good = BoxZone(name="box", center=(0.5, 0.0, 1.0), half_size=(0.1, 0.1, 0.1))
    mutated = BoxZone(name="box", center=(0.5, 0.0, 1.0), half_size=(0.1, 0.1, 0.1))
    mutated.half_size = (0.1, -0.1, 0.1)
    constructed = [
        BoxZone.model_construct(name="nan", center=(math.nan, 0.0, 0.0), half_size=(0.1, 0.1, 0.1)),
        HalfSpaceZone.model_construct(name="zero", normal=(0.0, 0.0, 0.0), offset=0.0),
        HalfSpaceZone.model_construct(name="", normal=(0.0, 0.0, 1.0), offset=0.0),
    ]
    with runtime_with(humanoid, tabletop) as rt:
        for bad in [mutated, *constructed]:
            with pytest.raises(ValueError):
                rt.set_zones([good, bad])
        with pytest.raises(TypeError):
            rt.set_zones([good, {"kind": "box"}])  # type: ignore[list-item]
        with pytest.raises(TypeError):
            rt.set_zones(good)  # type: ignore[arg-type]
        rt.run(0.002, lambda t, link: link.send(humanoid.home))
        assert rt.kernel.zones.zones == FLOOR
        assert Rule.ZONES_CHANGED not in rules(rt.link.events())


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "box", "name": "b", "center": (math.nan, 0, 0), "half_size": (1, 1, 1)},
        {"kind": "box", "name": "b", "center": (0, 0, 0), "half_size": (math.nan, 1, 1)},
        {"kind": "box", "name": "b", "center": (0, math.inf, 0), "half_size": (1, 1, 1)},
        {"kind": "box", "name": "b", "center": (0, 0, 0), "half_size": (1, 0, 1)},
        {"kind": "box", "name": "", "center": (0, 0, 0), "half_size": (1, 1, 1)},
        {"kind": "box", "name": "  ", "center": (0, 0, 0), "half_size": (1, 1, 1)},
        {"kind": "box", "name": "a\x00b", "center": (0, 0, 0), "half_size": (1, 1, 1)},
        {"kind": "halfspace", "name": "h", "normal": (0, 0, 0), "offset": 0},
        {"kind": "halfspace", "name": "h", "normal": (1e-300, 0, 0), "offset": 0},
        {"kind": "halfspace", "name": "h", "normal": (0, 0, -math.inf), "offset": 0},
        {"kind": "halfspace", "name": "h", "normal": (0, 0, 1), "offset": math.nan},
        {"kind": "halfspace", "name": "", "normal": (0, 0, 1), "offset": 0},
    ],
)
def test_zone_validation(fields):
    model = BoxZone if fields["kind"] == "box" else HalfSpaceZone
    with pytest.raises(ValidationError):
        model(**fields)


def test_huge_half_space_normals_normalise_instead_of_vanishing():
    # Squaring 1e308 overflows: the normal used to come out as (0, 0, 0) and pass.
    assert HalfSpaceZone(name="h", normal=(0.0, 0.0, 1e308), offset=0.0).normal == (0.0, 0.0, 1.0)
    x, y, z = HalfSpaceZone(name="h", normal=(1e308, -1e308, 0.0), offset=0.0).normal  # any direction
    assert (x, y, z) == pytest.approx((math.sqrt(0.5), -math.sqrt(0.5), 0.0))
    assert HalfSpaceZone(name="h", normal=(3.0, 0.0, 4.0), offset=0.0).normal == pytest.approx((0.6, 0.0, 0.8))
    assert HalfSpaceZone(name="h", normal=(0.0, -2e-9, 0.0), offset=0.0).normal == (0.0, -1.0, 0.0)
