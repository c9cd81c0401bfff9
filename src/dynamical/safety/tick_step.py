"""A tick's compiled work in one call: observe and filter, then the independent check.

Each call from Python into numba costs ~1-2 µs at 1 kHz (argument typing and unboxing, with the
cache cold after the physics step): the filter and the check used to be two calls. Here the
check runs on the filter's command right after it, in the same call, when that command is the
one the kernel will send: runtime assurance keeps the filter's command when it is running the
filter (not braking) and the command is solved and recoverable (``Supervisor.update``). In every
other case the kernel runs the check itself, on whatever it sends. The check keeps its own code
(``hard_check.check_command``), data and kinematics: it sees only the command, never the
filter's intermediate results.
"""

from __future__ import annotations

import numba

from dynamical.safety.filter_step import observe_and_filter
from dynamical.safety.hard_check import check_command


@numba.njit(cache=True)
def tick_step(
    ws, q_ref, v_ref, persons, calm, separation_stop, nominal, q_meas, dq_meas, target_q, target_dq, target_tau,
    horizon, extrapolate, has_target, q, v,
):  # fmt: skip
    """``observe_and_filter`` (same arguments; nominal: assurance is running the filter, not
    braking), then the check on the command q, v (n,) with the filter's effort when runtime
    assurance will keep it.

    Returns ``observe_and_filter``'s results, then (checked, and ``check_command``'s result:
    rule code, index, value, limit; meaningless when not checked)."""
    (
        distance, stop, speed_scale, filtered, feasible, clipped, ok, exitflag, any_changed, safe, safe_margin, toward,
    ) = observe_and_filter(
        ws, q_ref, v_ref, persons, calm, separation_stop, q_meas, dq_meas, target_q, target_dq, target_tau, horizon,
        extrapolate, has_target, q, v,
    )  # fmt: skip
    checked, code, index, value, limit = False, 0, -1, 0.0, 0.0
    if filtered and nominal and ok and safe:
        checked = True
        code, index, value, limit = check_command(ws.check, q, v, ws.buffers[1], v_ref)
    return (
        distance, stop, speed_scale, filtered, feasible, clipped, ok, exitflag, any_changed, safe, safe_margin, toward,
        checked, code, index, value, limit,
    )  # fmt: skip
