"""The filter's arithmetic for one tick, compiled: ``prepare`` before the QP, ``finish`` after.

The QP's cost is diagonal, so a joint that moves no monitored point (a finger, a leg, the head)
is not coupled to any other: its optimum is its desired velocity clipped to its interval, exactly.
Only the m "coupled" joints (waist and arms, for hands and wrists) go into the QP.

The kernel reaches all of it through one compiled call a tick (``tick_step``, which runs
``observe_and_filter``: kinematics, separation, then prepare → QP → finish → classify): at
1 kHz, crossing from Python costs more than this arithmetic, more still with the cache cold
after the physics step. ``limits`` is the tuple
(q_min, q_max, v_max, a_max, tau_max, kp, kv), each (n,).
"""

from __future__ import annotations

import numba
import numpy as np

from dynamical.safety.assurance import recoverable
from dynamical.safety.chain import forward
from dynamical.safety.limits import joint_bounds
from dynamical.safety.qp_filter import solve_qp
from dynamical.safety.rules import Rule
from dynamical.safety.separation import directed_rows, separation
from dynamical.safety.zone_events import ZONE_POINT_STRIDE
from dynamical.safety.zones import zone_rows

ZONE_RULE = int(Rule.KEEP_OUT_ZONE)
SEPARATION_RULE = int(Rule.SEPARATION_SPEED)


@numba.njit(cache=True)
def desired(q_ref, q_target, v_target, horizon, extrapolate, tau_target, tau_max, time_constant, v_des, tau):
    """Velocity (n,) the command asks for, and its effort feed-forward clipped to the limits.

    The target moves on with its velocity for ``horizon`` s (commands come at 200 Hz, ticks at
    1 kHz); the tracking error closes with ``time_constant``. Returns True if effort was clipped."""
    clipped = False
    for i in range(q_ref.shape[0]):
        v_ff = v_target[i] if extrapolate else 0.0
        v_des[i] = v_ff + (q_target[i] + v_ff * horizon - q_ref[i]) / time_constant
        tau[i] = min(max(tau_target[i], -tau_max[i]), tau_max[i])
        clipped = clipped or tau[i] != tau_target[i]
    return clipped


@numba.njit(cache=True)
def prepare(prepare_args, buffers):
    """Fill the QP's data; returns (joint intervals feasible, effort feed-forward clipped).

    prepare_args and buffers are tuples in the order unpacked below (the kernel builds them).

    target: (q, dq, tau) (n,) each; bounds (2, n) lower/upper; rules (2, n) the rule setting each;
    v_clip (n,) every joint's optimum ignoring the rows; qp_* (m,) the coupled joints' part."""
    (
        q_ref,
        v_ref,
        q_meas,
        dq_meas,
        target,
        horizon,
        extrapolate,
        has_target,
        limits,
        dt,
        speed_scale,
        time_constant,
        positions,
        jacobians,
        radii,
        zones,
        zone_margin,
        deceleration,
        directions,
        allowed_speed,
        coupled,
    ) = prepare_args
    (v_des, tau, bounds, rules, v_clip, qp_v_des, qp_lower, qp_upper, zone_a, zone_b, zone_room, sep_a, sep_b) = buffers
    q_min, q_max, v_max, a_max, tau_max, kp, kv = limits
    if has_target:
        clipped = desired(
            q_ref, target[0], target[1], horizon, extrapolate, target[2], tau_max, time_constant, v_des, tau
        )
    else:
        v_des[:] = 0.0  # nothing commanded yet, or since a reset: stay where we are
        tau[:] = 0.0
        clipped = False
    feasible = joint_bounds(
        q_ref,
        v_ref,
        q_meas,
        dq_meas,
        tau,
        q_min,
        q_max,
        v_max,
        a_max,
        tau_max,
        kp,
        kv,
        dt,
        speed_scale,
        bounds[0],
        bounds[1],
        rules[0],
        rules[1],
    )
    for i in range(v_des.shape[0]):
        v_clip[i] = min(max(v_des[i], bounds[0, i]), bounds[1, i])
    for c in range(coupled.shape[0]):
        i = coupled[c]
        qp_v_des[c], qp_lower[c], qp_upper[c] = v_des[i], bounds[0, i], bounds[1, i]
    is_box, center, half, normal, offset, count = zones
    zone_rows(
        positions,
        jacobians,
        radii,
        is_box,
        center,
        half,
        normal,
        offset,
        count,
        zone_margin,
        deceleration,
        zone_a,
        zone_b,
        zone_room,
    )
    directed_rows(directions, jacobians, sep_a)
    sep_b[:] = allowed_speed
    return feasible, clipped  # fmt: skip


@numba.njit(cache=True)
def finish(
    q_ref, v_clip, qp_v, coupled, v_des, limits, dt, zone_a, zone_room, sep_a, deceleration, margin, changed, q, v
):  # fmt: skip
    """Assemble v (n,) from the clipped joints and the QP's coupled ones, integrate it into the
    command position q (n,), flag the joints the filter changed, test recoverability.

    Returns (any changed, recoverable, recoverable with the hand-back margin, fastest approach of
    a point toward its nearest person in m/s)."""
    q_min, q_max, a_max = limits[0], limits[1], limits[3]
    n = v_clip.shape[0]
    v[:] = v_clip
    for c in range(coupled.shape[0]):
        v[coupled[c]] = qp_v[c]
    any_changed = False
    for i in range(n):
        q[i] = min(max(q_ref[i] + v[i] * dt, q_min[i]), q_max[i])
        changed[i] = abs(v[i] - v_des[i]) > 1e-6 + 1e-6 * abs(v_des[i])
        any_changed = any_changed or changed[i]
    approach = np.zeros(zone_a.shape[0])
    for r in range(zone_a.shape[0]):
        total = 0.0
        for c in range(qp_v.shape[0]):
            total += zone_a[r, c] * qp_v[c]
        approach[r] = -total
    toward = 0.0
    for r in range(sep_a.shape[0]):
        total = 0.0
        for c in range(qp_v.shape[0]):
            total += sep_a[r, c] * qp_v[c]
        toward = max(toward, total)
    safe, safe_margin = recoverable(q, v, q_min, q_max, a_max, dt, approach, zone_room, deceleration, margin)
    return any_changed, safe, safe_margin, toward


@numba.njit(cache=True)
def classify(changed, v, v_des, bounds, rules, coupled, qp_v, qp_v_des, zone_a, zone_b, sep_a, sep_b, k, found):
    """Which rules shaped this tick's command. Fills found (rules, 4) with, per rule code, the
    first (index, asked value, bound) it acted on and a 1 in the last column when present."""
    found[:, 3] = 0.0
    tol = 1e-7
    for j in range(v.shape[0]):
        if not changed[j]:
            continue
        rule, bound = -1, 0.0
        if v[j] >= bounds[1, j] - tol and v_des[j] > v[j]:
            rule, bound = rules[1, j], bounds[1, j]
        elif v[j] <= bounds[0, j] + tol and v_des[j] < v[j]:
            rule, bound = rules[0, j], bounds[0, j]
        if rule >= 0 and found[rule, 3] == 0.0:
            found[rule, 0], found[rule, 1], found[rule, 2], found[rule, 3] = j, v_des[j], bound, 1.0
    for rows, limit, rule, per_point in ((zone_a, zone_b, ZONE_RULE, True), (sep_a, sep_b, SEPARATION_RULE, False)):
        for r in range(rows.shape[0]):
            acting, asked = 0.0, 0.0
            for c in range(qp_v.shape[0]):
                acting += rows[r, c] * qp_v[c]
                asked += rows[r, c] * qp_v_des[c]
            if abs(acting - limit[r]) < 1e-6 and asked != acting and found[rule, 3] == 0.0:
                # A zone row is zone r // k, point r % k: the event names both (zone_events.py).
                found[rule, 0] = (r // k) * ZONE_POINT_STRIDE + r % k if per_point else r
                found[rule, 1], found[rule, 2], found[rule, 3] = asked, limit[r], 1.0


@numba.njit(cache=True)
def observe(ws, q_ref, persons):
    """Every tick's first step, whether the filter runs or not: the monitored points and their
    Jacobians at q_ref (n,) into ws's buffers, then the separation from persons (m, 7) (m; inf
    with nobody), with each point's direction toward its nearest person."""
    forward(q_ref, ws.chain, ws.frames, ws.axes, ws.positions, ws.jacobians, True)
    return separation(persons, ws.positions, ws.radii, ws.directions)


@numba.njit(cache=True)
def filter_tick(
    ws, q_ref, v_ref, q_meas, dq_meas, target_q, target_dq, target_tau, horizon, extrapolate, has_target, speed_scale,
    allowed_speed, q, v,
):  # fmt: skip
    """prepare → QP → finish → classify, in one call, after ``observe``. ws: a
    ``FilterWorkspace``; target_q, target_dq, target_tau (n,) (apart, not a tuple: the dispatcher
    types a tuple argument by a slower path); fills the command q, v (n,), new arrays
    from the caller (made in Python: numba returning arrays costs ~0.4 µs more each).

    Returns (joint intervals feasible, effort clipped, QP solved, exit flag, any changed,
    recoverable, recoverable with margin, speed toward the nearest person)."""
    prepare_args = (
        q_ref, v_ref, q_meas, dq_meas, (target_q, target_dq, target_tau), horizon, extrapolate, has_target,
        ws.limits, ws.dt, speed_scale, ws.time_constant, ws.positions, ws.jacobians, ws.radii, ws.zones,
        ws.zone_margin, ws.deceleration, ws.directions, allowed_speed, ws.coupled,
    )  # fmt: skip
    buffers, limits, dt, coupled, qp = ws.buffers, ws.limits, ws.dt, ws.coupled, ws.qp
    feasible, clipped = prepare(prepare_args, buffers)
    v_des, bounds, rules, v_clip, qp_v_des = buffers[0], buffers[2], buffers[3], buffers[4], buffers[5]
    qp_lower, qp_upper, zone_a, zone_b, zone_room, sep_a, sep_b = buffers[6:]
    # Only the active zones' rows (zones 0 .. count-1, k rows each): the QP, the recoverability
    # test and the classifier never see the inactive ones (which are kept inert all the same).
    k = ws.radii.shape[0]
    rows = ws.zones[5][0] * k
    zone_a, zone_b, zone_room = zone_a[:rows], zone_b[:rows], zone_room[:rows]
    ok, exitflag = False, 0
    if feasible:
        ok, exitflag, _ = solve_qp(qp, ws.addresses, qp_v_des, qp_lower, qp_upper, zone_a, zone_b, sep_a, sep_b)
    x = qp[5]
    if ok:
        # DAQP meets bounds to its primal tolerance (~1e-9 rad/s here), which at 1 kHz reads as
        # ~1e-5 rad/s² of acceleration: project onto the joint intervals so they hold exactly,
        # as the independent check demands.
        for c in range(x.shape[0]):
            x[c] = min(max(x[c], qp_lower[c]), qp_upper[c])
    # Without a solution, finish() still integrates something: the previous velocity, for the
    # recoverability test that decides whether braking takes over.
    v_base, coupled_v = (v_clip, x) if ok else (v_ref, v_ref[coupled])
    changed = ws.changed
    any_changed, safe, safe_margin, toward = finish(
        q_ref, v_base, coupled_v, coupled, v_des, limits, dt, zone_a, zone_room, sep_a, ws.deceleration,
        ws.handback_margin, changed, q, v,
    )  # fmt: skip
    if ok and any_changed:
        classify(changed, v, v_des, bounds, rules, coupled, x, qp_v_des, zone_a, zone_b, sep_a, sep_b, k, ws.found)
    return feasible, clipped, ok, exitflag, any_changed, safe, safe_margin, toward


@numba.njit(cache=True)
def observe_and_filter(
    ws, q_ref, v_ref, persons, calm, separation_stop, q_meas, dq_meas, target_q, target_dq, target_tau, horizon,
    extrapolate, has_target, q, v,
):  # fmt: skip
    """One tick's compiled work before the independent check, in one call: ``observe``, the
    separation stop's hysteresis and the allowed speed, then ``filter_tick`` unless the robot
    must brake anyway (``calm`` False: e-stop or watchdog; or a separation stop).

    Returns (separation m, separation stop, speed scale, filtered, then ``filter_tick``'s
    results, meaningless when not filtered)."""
    distance = observe(ws, q_ref, persons)
    stop = separation_stop
    if not stop and distance < ws.static_distance:
        stop = True
    elif stop and distance > ws.static_distance + ws.resume_margin:
        stop = False
    # As Python's max(0.0, x) and min(x, 1.0), NaN included.
    allowed = (distance - ws.static_distance) / ws.speed_time
    allowed = allowed if allowed > 0.0 else 0.0
    speed_scale = allowed / ws.max_speed
    speed_scale = 1.0 if speed_scale > 1.0 else speed_scale
    filtered = calm and not stop
    feasible, clipped, ok, exitflag = False, False, False, 0
    any_changed, safe, safe_margin, toward = False, False, False, 0.0
    if filtered:
        feasible, clipped, ok, exitflag, any_changed, safe, safe_margin, toward = filter_tick(
            ws, q_ref, v_ref, q_meas, dq_meas, target_q, target_dq, target_tau, horizon, extrapolate, has_target,
            speed_scale, allowed, q, v,
        )  # fmt: skip
    return (
        distance, stop, speed_scale, filtered, feasible, clipped, ok, exitflag, any_changed, safe,
        safe_margin, toward,
    )  # fmt: skip
