"""Workers that run in the learning environment (``.venv-learn``: Python 3.12, LeRobot, torch).

Each is a module run as ``python -m dynamical.learning.lerobot_side.<name>`` by
``dynamical.learning.env``; it may import the standard library, numpy, torch, lerobot, onnx,
onnxruntime and ``dynamical.learning.protocol``, nothing else of ``dynamical``. Imports nothing.
"""
