"""Where a named target is: an object's centre, or the spot of a surface a hand goes to.

Skills and predicates both use these points, so "reach the shelf" and the check that the hand
got there agree by construction.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from dynamical.robot.errors import UnknownNameError
from dynamical.skills.world_model import WorldModel

APPROACH_HEIGHT = 0.08
"""m above a target a hand stops before acting on it (pre-grasp, pre-place)."""
SURFACE_MARGIN = 0.06
"""m a surface spot keeps from the surface's edges."""


def surface_spot(world: WorldModel, name: str) -> np.ndarray:
    """(3,) the point of surface ``name`` nearest the robot's base (world origin) in x-y, at
    least ``SURFACE_MARGIN`` inside its edges, on its top face."""
    surface = world.surface(name)
    low = surface.center[:2] - surface.half[:2] + SURFACE_MARGIN
    high = surface.center[:2] + surface.half[:2] - SURFACE_MARGIN
    xy = np.clip(np.zeros(2), low, high)
    return np.array([xy[0], xy[1], surface.top])


def object_centre(world: WorldModel, name: str) -> np.ndarray:
    """(3,) m, world frame: the centre of object ``name``'s bounding box (a cup's origin is at its
    base; a cube's at its centre)."""
    state, shape = world.object(name), world.object_shape(name)
    return state.pos + Rotation.from_quat(np.asarray(state.quat)[[1, 2, 3, 0]]).as_matrix() @ shape.center


def target_point(world: WorldModel, name: str) -> np.ndarray:
    """(3,) m, world frame: the centre of object ``name`` or the spot of surface ``name``."""
    if name in world.object_names():
        return object_centre(world, name)
    if name in world.surface_names():
        return surface_spot(world, name)
    raise UnknownNameError(
        f"no object or surface {name!r} in the world; objects: {list(world.object_names())}, "
        f"surfaces: {list(world.surface_names())}"
    )


def approach_point(world: WorldModel, name: str) -> np.ndarray:
    """(3,) where a hand's grasp site waits above target ``name``."""
    point = target_point(world, name)
    if name in world.object_names():
        return point + np.array([0.0, 0.0, APPROACH_HEIGHT])
    # A surface spot lies on the top face; the hand waits above where an object's centre would be.
    return point + np.array([0.0, 0.0, APPROACH_HEIGHT + 0.025])
