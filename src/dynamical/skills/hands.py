"""Finger postures of the default humanoid's hands, in the order of its ``hand_*`` groups:
thumb rotation, thumb flexion, index, middle, ring, little (rad)."""

from __future__ import annotations

import numpy as np

HAND_OPEN = np.array([0.0, 0.0, 0.5, 0.5, 0.5, 0.5])
"""Thumb beside the palm, fingers pre-curled: wide enough for a 5 cm cube, clear of the table."""
HAND_CLOSED = np.array([1.5, 0.7, 1.6, 1.6, 1.6, 1.6])
"""Thumb opposed; the targets lie past contact, so the drives squeeze what the hand holds."""
HAND_CUPPED = np.array([1.2, 0.3, 1.0, 1.0, 1.0, 1.0])
"""Palm up, fingers half curled: a bowl that catches what is dropped into it."""
HAND_POINTING = np.array([1.2, 0.6, 0.0, 1.6, 1.6, 1.6])
"""Index straight, the other fingers and the thumb curled in."""
HAND_FLAT = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
"""Every finger straight: a waving hand."""

HAND_OPEN_TOLERANCE = 0.1
"""rad: a hand counts as open when every finger is within this of ``HAND_OPEN`` or straighter."""


def hand_group(side: str) -> str:
    return f"hand_{side}"


def arm_group(side: str) -> str:
    return f"arm_{side}"
