"""What a KEEP_OUT_ZONE event's index means: the zone and the monitored point, not a joint.

The kernel's events carry one integer index; for a zone intervention it is
``zone * ZONE_POINT_STRIDE + point``: the zone's place in the kernel's zone list (configured zones
first, then the server's, as ``SafetyKernel.set_zones`` got them) and the monitored point's place
in the robot description's ``safety_points``. ``zone_event_names`` turns it into names.
"""

from __future__ import annotations

from collections.abc import Sequence

ZONE_POINT_STRIDE = 256
"""More than any robot's monitored points; with at most 127 zones the index fits the link's 15 bits."""


def zone_event_index(zone: int, point: int) -> int:
    return zone * ZONE_POINT_STRIDE + point


def zone_and_point(index: int) -> tuple[int, int]:
    """(zone, point) of a KEEP_OUT_ZONE event's index; (-1, -1) for a negative one."""
    if index < 0:
        return -1, -1
    return index // ZONE_POINT_STRIDE, index % ZONE_POINT_STRIDE


def zone_event_names(
    index: int, zone_names: Sequence[str], point_names: Sequence[str]
) -> tuple[str | None, str | None]:
    """(zone name, monitored point name) of a KEEP_OUT_ZONE event's index; None where unknown."""
    zone, point = zone_and_point(index)
    return (
        zone_names[zone] if 0 <= zone < len(zone_names) else None,
        point_names[point] if 0 <= point < len(point_names) else None,
    )
