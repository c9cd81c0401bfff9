"""A gentle scripted motion used by `dynamical sim run`: the robot looks around and waves.

Targets are smooth in time and stay inside each joint's range with a margin, and at well under
the velocity limits, so the demo exercises the real driver path without needing the safety kernel.
"""

from __future__ import annotations

import numpy as np

from dynamical.robot.description import RobotDescription

PERIOD_S = 4.0
RAMP_S = 1.0
# rad, per joint in group order (repeated when a robot's group is longer). Arms swing sideways
# more than forward so the hands stay clear of a table in front of the robot.
AMPLITUDES: dict[str, list[float]] = {
    "head": [0.5, 0.15],
    "waist": [0.15, 0.05],
    "arm_left": [0.1, 0.2, 0.25, 0.15, 0.4, 0.25, 0.1],
    "arm_right": [0.1, 0.2, 0.25, 0.15, 0.4, 0.25, 0.1],
    "hand_left": [0.3, 0.2, 0.4, 0.4, 0.4, 0.4],
    "hand_right": [0.3, 0.2, 0.4, 0.4, 0.4, 0.4],
}


def demo_targets(description: RobotDescription, t: float) -> np.ndarray:
    """Position targets (n,) at time ``t`` s: home plus slow sines on head, waist and arms."""
    q = description.home.copy()
    ramp = min(t / RAMP_S, 1.0)  # start from rest, no step in the command
    phase = 2 * np.pi * t / PERIOD_S
    for group, amps_wanted in AMPLITUDES.items():
        if group not in description.groups:
            continue
        idx = description.group_indices(group)
        amps = np.resize(np.asarray(amps_wanted, dtype=float), len(idx))
        # Never more than a fifth of a joint's range, centred where the joint can move both ways.
        amps = np.minimum(amps, 0.2 * (description.q_max[idx] - description.q_min[idx]))
        centre = np.clip(q[idx], description.q_min[idx] + amps, description.q_max[idx] - amps)
        offsets = np.arange(len(idx)) * 0.7
        q[idx] = q[idx] + ramp * ((centre - q[idx]) + amps * np.sin(phase + offsets))
    return np.clip(q, description.q_min, description.q_max)
