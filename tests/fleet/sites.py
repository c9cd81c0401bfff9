"""Demonstrations for fleet tests: a reaching motion per episode, one site per robot.

Each episode moves n joints from a random start a fifth of the way to a goal every frame (the
observation is the joints then the goal; the action is the next target), so the action is a
function of the observation that a policy can learn. A site shifts its goals (its own layout).
"""

from __future__ import annotations

import numpy as np

from dynamical.fleet.demonstrations import Demonstrations


def site(seed: int, episodes: int, shift: float, joints: int = 6, frames: int = 30) -> Demonstrations:
    rng = np.random.default_rng(seed)
    obs, act, ep = [], [], []
    for e in range(episodes):
        q = rng.uniform(-0.5, 0.5, joints)
        goal = rng.uniform(-0.3, 0.3, joints) + shift
        for _ in range(frames):
            target = q + 0.2 * (goal - q)
            obs.append(np.concatenate([q, goal]))
            act.append(target)
            ep.append(e)
            q = target
    return Demonstrations(np.asarray(obs, np.float32), np.asarray(act, np.float32), np.asarray(ep, np.int64))
