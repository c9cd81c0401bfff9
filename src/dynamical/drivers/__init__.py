"""Drivers of operator input devices (the robot's own hardware is behind ``robot/`` and the kernel)."""
