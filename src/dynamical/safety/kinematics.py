"""What the kernel needs to know of the robot's geometry: monitored points and their Jacobians."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class PointKinematics(Protocol):
    """Positions and Jacobians of the monitored points (hands, wrists) at a joint configuration."""

    names: tuple[str, ...]
    radii: np.ndarray
    """(k,) radius of the sphere around each point, m."""
    coupled: np.ndarray
    """(m,) indices of the joints (description order) that can move some point."""

    def update(self, q: np.ndarray, jacobians: bool = True) -> None:
        """Set the configuration q (n,) in description order; skip the Jacobians when not needed."""

    def positions(self) -> np.ndarray:
        """(k, 3) world positions, m, at the last update."""

    def jacobians(self) -> np.ndarray:
        """(k, 3, m) d position / d q[coupled] at the last update."""
