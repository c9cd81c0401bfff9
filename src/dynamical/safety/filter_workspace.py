"""The filter's fixed data and scratch buffers, handed to the compiled filter as one object.

At 1 kHz, passing numba ~50 separate arrays costs ~60 ns each (type check and unboxing), more
with the cache cold after the physics step: 5-8 µs a tick, as much as the filter's arithmetic.
A StructRef crosses as one object. Its arrays are the kernel's own (the same memory), so Python
reads and writes them through the kernel's attributes as before.
"""

from __future__ import annotations

import numba
from numba.core import types
from numba.experimental import structref

FIELDS = (
    "limits",  # (q_min, q_max, v_max, a_max, tau_max, kp, kv), each (n,)
    "zones",  # ZoneSet.arrays: is_box (z,), center (z, 3), half (z, 3), normal (z, 3), offset (z,),
    # count (1,) (z the capacity; zones from count on are inactive)
    "buffers",  # scratch refilled every tick, in the order ``filter_step.prepare`` unpacks
    "qp",  # QPFilter.arrays
    "addresses",  # QPFilter.addresses: (problem, workspace, result)
    "changed",  # (n,) bool: the joints the filter changed this tick
    "found",  # (rules, 4): what ``filter_step.classify`` found
    "coupled",  # (m,) the joints that move a monitored point, in the QP
    "radii",  # (k,) the monitored points' radii, m
    "directions",  # (k, 3) toward each point's nearest person, filled by ``separation``
    "chain",  # the filter's Chain.arrays
    "frames",  # its Chain.frames, scratch
    "axes",  # its Chain.axes, scratch
    "positions",  # its Chain.positions (k, 3), filled by ``observe``
    "jacobians",  # its Chain.jacobians (k, 3, m), filled by ``observe``
    "dt",
    "time_constant",
    "zone_margin",
    "deceleration",
    "handback_margin",
    "static_distance",  # m: S_p's speed-independent terms (a separation stop below it)
    "resume_margin",  # m: a separation stop ends above static_distance + resume_margin
    "speed_time",  # s: T_r + T_s/2, allowed speed = (separation - static_distance) / speed_time
    "max_speed",  # m/s: the Cartesian speed that speed_scale 1 stands for
    "check",  # the independent check's own workspace (HardLimitCheck.workspace): carried here
    # only so that ``tick_step`` runs the check in the same call; the filter never reads it
)


@structref.register
class FilterWorkspaceType(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(kind)) for name, kind in fields)


class FilterWorkspace(structref.StructRefProxy):
    """See FIELDS. Built with ``filter_workspace`` (compiled once, loaded from numba's cache)."""


structref.define_proxy(FilterWorkspace, FilterWorkspaceType, list(FIELDS))


@numba.njit(cache=True)
def filter_workspace(
    limits,
    zones,
    buffers,
    qp,
    addresses,
    changed,
    found,
    coupled,
    radii,
    directions,
    chain,
    frames,
    axes,
    positions,
    jacobians,
    dt,
    time_constant,
    zone_margin,
    deceleration,
    handback_margin,
    static_distance,
    resume_margin,
    speed_time,
    max_speed,
    check,
):
    return FilterWorkspace(
        limits,
        zones,
        buffers,
        qp,
        addresses,
        changed,
        found,
        coupled,
        radii,
        directions,
        chain,
        frames,
        axes,
        positions,
        jacobians,
        dt,
        time_constant,
        zone_margin,
        deceleration,
        handback_margin,
        static_distance,
        resume_margin,
        speed_time,
        max_speed,
        check,
    )
