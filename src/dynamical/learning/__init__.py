"""The learning loop: recording LeRobot datasets, the learning tier's launcher, policy export glue.

Runtime side only (Python 3.11). ``lerobot_side/`` runs in the learning environment (Python 3.12,
LeRobot) and imports nothing of this package but ``protocol``; this module imports nothing either,
so the learn side can import ``dynamical.learning.protocol`` without the runtime's dependencies.
"""
