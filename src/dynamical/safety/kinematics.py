"""What the kernel needs to know of the robot's geometry: monitored points and their Jacobians."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from dynamical.safety.chain import Chain


class PointKinematics(Protocol):
    """Positions and Jacobians of the monitored points (hands, wrists) at a joint configuration."""

    names: tuple[str, ...]
    radii: np.ndarray
    """(k,) radius of the sphere around each point, m."""
    coupled: np.ndarray
    """(m,) indices of the joints (description order) that can move some point."""
    chain: Chain
    """The bodies from the root to the points, with this instance's own buffers: the kernel's
    compiled steps walk it directly (``positions`` and ``jacobians`` are its buffers)."""

    def update(self, q: np.ndarray, jacobians: bool = True) -> None:
        """Set the configuration q (n,) in description order; skip the Jacobians when not needed."""

    def positions(self) -> np.ndarray:
        """(k, 3) world positions, m, at the last update."""

    def jacobians(self) -> np.ndarray:
        """(k, 3, m) d position / d q[coupled] at the last update."""
