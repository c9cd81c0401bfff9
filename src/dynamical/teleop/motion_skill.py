"""A retargeted motion played as a skill: the executor streams it (with its lookahead, through the
kernel) like any planned motion. It first glides from where the robot is to the motion's first
frame, then follows the frames, linearly interpolated."""

from __future__ import annotations

import numpy as np

from dynamical.runtime.channels import StateSample
from dynamical.skills.executor import SkillContext, SkillStep
from dynamical.skills.motion import smoothstep

GROUPS = ("arm_left", "arm_right", "waist", "head")
LEAD_IN_S = 1.5
"""s to glide from the robot's pose to the motion's first frame."""


class MotionSkill:
    name = "retargeted_motion"

    def __init__(self, times: np.ndarray, q: np.ndarray, groups: tuple[str, ...] = GROUPS) -> None:
        """``times`` (T,) s from 0, ``q`` (T, n) the robot's joints per frame."""
        if times.ndim != 1 or q.ndim != 2 or len(times) != len(q) or len(times) < 1:
            raise ValueError(f"need times (T,) and q (T, n), got {times.shape} and {q.shape}")
        if np.any(np.diff(times) <= 0):
            raise ValueError("frame times must increase")
        self.times, self.q = times - times[0], q
        self.groups = groups
        self._t0 = 0.0
        self._start = q[0]

    @property
    def duration_s(self) -> float:
        return LEAD_IN_S + float(self.times[-1])

    def start(self, context: SkillContext) -> None:
        self._t0, self._start = context.t_start, context.q_start.copy()

    def preview(self, t: float) -> np.ndarray:
        s = t - self._t0
        if s < LEAD_IN_S:
            return self._start + (self.q[0] - self._start) * smoothstep(s / LEAD_IN_S)
        s -= LEAD_IN_S
        return np.array([np.interp(s, self.times, self.q[:, j]) for j in range(self.q.shape[1])])

    def step(self, t: float, state: StateSample) -> SkillStep:
        return SkillStep(q=self.preview(t), done=t - self._t0 >= self.duration_s)
