"""A gentle scripted motion used by `dynamical sim run`: the robot looks around and waves.

Targets are smooth in time and stay inside each joint's range with a margin, and at well under
the velocity limits, so the demo exercises the real driver path without needing the safety kernel.
"""

from __future__ import annotations

import numpy as np

from dynamical.robot.description import RobotDescription

PERIOD_S = 4.0
RAMP_S = 1.0


def demo_targets(description: RobotDescription, t: float) -> np.ndarray:
    """Position targets (n,) at time ``t`` s: home plus slow sines on head, waist and arms."""
    q = description.home.copy()
    ramp = min(t / RAMP_S, 1.0)  # start from rest, no step in the command
    phase = 2 * np.pi * t / PERIOD_S
    amplitude = {
        "head": (0.5, 0.15),
        "waist": (0.15, 0.05),
        "arm_left": (0.35, 0.2),
        "arm_right": (0.35, 0.2),
        "hand_left": (0.4, 0.4),
        "hand_right": (0.4, 0.4),
    }
    for group, (a_first, a_rest) in amplitude.items():
        if group not in description.groups:
            continue
        idx = description.group_indices(group)
        span = description.q_max[idx] - description.q_min[idx]
        amps = np.full(len(idx), a_rest)
        amps[0] = a_first
        # Never ask for more than a fifth of a joint's range, centred where it can move both ways.
        amps = np.minimum(amps, 0.2 * span)
        offsets = np.arange(len(idx)) * 0.7
        centre = np.clip(q[idx], description.q_min[idx] + amps, description.q_max[idx] - amps)
        q[idx] = q[idx] + ramp * ((centre - q[idx]) + amps * np.sin(phase + offsets))
    return np.clip(q, description.q_min, description.q_max)
