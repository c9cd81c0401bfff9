"""Perception: the robot sees its world through its cameras.

RGB-D frames (``camera``) → segments (``segmenter``: colour tier, or a learned one) → world
points and fitted poses (``detector``, ``pose_fit``) → one estimate per object across cameras
(``fusion``) → tracks over time (``tracker``) → the skills' ``WorldModel`` (``world_model``).
People for separation monitoring come from depth (``people``); the foundation-model backends and
their cascade live in ``backends``; ``accuracy`` measures all of it against the simulator's truth.
Heavy imports (torch, transformers) stay inside ``backends``.
"""
