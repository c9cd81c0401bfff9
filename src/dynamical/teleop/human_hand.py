"""A human hand's kinematics for retargeting: the glove's 21 joint angles → fingertip positions.

An average adult hand (phalanx lengths from anthropometric tables, metres) expressed in the robot
hand's body frame convention (fingers along -z, palm facing +x, the little finger toward +y on
the right hand): the glove's IMU frame is aligned to it by calibration, so retargeting compares
like with like. A left hand mirrors y.
"""

from __future__ import annotations

import numpy as np

from dynamical.drivers.dyglove import JOINTS, N_JOINTS

FINGER_BASE = {  # MCP joint, right hand, m
    "index": np.array([0.0, -0.025, -0.095]),
    "middle": np.array([0.0, -0.008, -0.097]),
    "ring": np.array([0.0, 0.009, -0.093]),
    "little": np.array([0.0, 0.025, -0.085]),
}
PHALANGES = {  # proximal, middle, distal, m
    "index": (0.043, 0.025, 0.022),
    "middle": (0.047, 0.028, 0.024),
    "ring": (0.044, 0.027, 0.023),
    "little": (0.035, 0.020, 0.020),
}
THUMB_BASE = np.array([0.020, -0.025, -0.020])
THUMB_LINKS = (0.045, 0.032, 0.028)  # metacarpal, proximal, distal, m

OPEN_POSE = np.zeros(N_JOINTS)
"""The model's open hand (the calibration's anchor for the 'open' capture): every finger straight."""
FIST_POSE = np.array(
    [0.2, 0.5, 1.2, 0.6, 0.6] + [0.0, 1.5, 1.6, 1.0] * 4,
)
"""The model's fist (anchor for the 'fist' capture), rad, ``JOINTS`` order."""
PINCH_POSE = np.array([0.24, 0.57, 1.37, 0.47, 0.35] + [0.0, 0.99, 0.8, 0.37] + [0.0, 0.3, 0.3, 0.2] * 3)
"""The model's thumb-index pinch (anchor for the 'pinch' capture), rad: the two tips 5 mm apart."""


def _rx(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


_INDEX = {name: i for i, name in enumerate(JOINTS)}


def fingertips(joints: np.ndarray, side: str = "right") -> np.ndarray:
    """Fingertip positions (5, 3) m, thumb … little, of the model hand at ``joints`` (21,) rad."""
    if joints.shape != (N_JOINTS,):
        raise ValueError(f"need {N_JOINTS} joint angles, got shape {joints.shape}")
    j = joints
    tips = np.zeros((5, 3))
    # Thumb: opposition about the palm's z, then flexion of its three joints about x.
    r = _rz(j[_INDEX["thumb_cmc_rotation"]]) @ _rz(j[_INDEX["thumb_cmc_abduction"]] * 0.5)
    r = r @ _rx(j[_INDEX["thumb_cmc_flexion"]])
    p = THUMB_BASE + r @ np.array([0.0, -THUMB_LINKS[0], 0.0])
    r = r @ _rx(j[_INDEX["thumb_mcp"]])
    p = p + r @ np.array([0.0, -THUMB_LINKS[1], 0.0])
    r = r @ _rx(j[_INDEX["thumb_ip"]])
    tips[0] = p + r @ np.array([0.0, -THUMB_LINKS[2], 0.0])
    for k, finger in enumerate(("index", "middle", "ring", "little"), start=1):
        # Abduction spreads the finger in the palm's plane (about x); flexion curls it toward +x
        # (about -y, the robot fingers' axis).
        r = _rx(j[_INDEX[f"{finger}_mcp_abduction"]]) @ _ry(-j[_INDEX[f"{finger}_mcp"]])
        p = FINGER_BASE[finger] + r @ np.array([0.0, 0.0, -PHALANGES[finger][0]])
        r = r @ _ry(-j[_INDEX[f"{finger}_pip"]])
        p = p + r @ np.array([0.0, 0.0, -PHALANGES[finger][1]])
        r = r @ _ry(-j[_INDEX[f"{finger}_dip"]])
        tips[k] = p + r @ np.array([0.0, 0.0, -PHALANGES[finger][2]])
    if side == "left":
        tips[:, 1] *= -1.0
    return tips


def hand_length() -> float:
    """m, wrist to the middle fingertip of the open hand (the scale's reference)."""
    return float(np.linalg.norm(fingertips(OPEN_POSE)[2]))
