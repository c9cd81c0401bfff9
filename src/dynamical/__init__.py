"""Dynamical Edge: a robot-resident runtime and training engine for humanoid robots."""

import os

# A robot computer has no display: render offscreen unless the user chose a GL backend.
# MuJoCo reads this when it is first imported, so it must be set here, before any import of it.
os.environ.setdefault("MUJOCO_GL", "egl")

__version__ = "0.1.0"
