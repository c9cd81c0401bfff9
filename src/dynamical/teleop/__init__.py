"""Teleoperation: an operator drives the robot through the executive and the safety kernel.

- ``inputs``: what an operator sends (hand targets, grips, head, waist, deadman) and the session's
  settings, validated at the boundary.
- ``servo``: hand targets → joint commands by differential IK (mink, DAQP), one step per control
  tick, limited in speed and acceleration so the kernel rarely has to.
- ``session``: the latest input, the deadman, latency statistics, and the executor skill that
  plays the operator's commands.
- ``glove`` / ``hand_retarget``: the 21-DoF data glove's wire protocol, its receiver, calibration,
  and retargeting to the robot's 6-actuator hands.
"""
