"""Checks on what the driver actually received: the ground truth of every fault-injection test."""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.robot.scene import JointIndex, build_model
from dynamical.safety.audit import audit_commands
from dynamical.safety.config import BoxZone, HalfSpaceZone
from dynamical.safety.rules import Rule


def driver_arrays(received: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """t (N,), q (N, n), dq (N, n), tau (N, n) of every command the driver got with power on."""
    rows = [(t, c) for t, c, power in received if power]
    assert rows, "the driver received no command"
    t = np.array([r[0] for r in rows])
    q = np.array([r[1].q for r in rows])
    dq = np.array([r[1].dq for r in rows])
    tau = np.array([r[1].tau for r in rows])
    return t, q, dq, tau


def assert_within_limits(
    description: RobotDescription,
    received: list,
    dt: float = 0.001,
    zones: Sequence[BoxZone | HalfSpaceZone] = (),
) -> None:
    """No command the driver received violates a joint limit or puts a safety point in a zone."""
    _, q, dq, tau = driver_arrays(received)
    d = description
    audit = audit_commands(d, q, dq, tau, dt)
    assert audit.violations == 0, f"commands over a limit reached the driver: {audit}"
    if zones:
        # MuJoCo's own forward kinematics: the oracle shares no code with the kernel's.
        model = build_model(d)
        data = mujoco.MjData(model)
        qpos = JointIndex.of(model, d).qpos
        sites = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, name) for name in d.safety_points]
        radii = list(d.safety_points.values())
        for row in q[:: max(1, len(q) // 2000)]:
            data.qpos[qpos] = row
            mujoco.mj_kinematics(model, data)
            for p, r in zip(data.site_xpos[sites], radii, strict=True):
                for zone in zones:
                    assert clearance(zone, p) - r >= -1e-6, f"a safety point entered zone {zone.name}"


def clearance(zone: BoxZone | HalfSpaceZone, p: np.ndarray) -> float:
    if isinstance(zone, HalfSpaceZone):
        return float(np.dot(zone.normal, p) - zone.offset)
    d = np.abs(p - np.array(zone.center)) - np.array(zone.half_size)
    return float(np.linalg.norm(np.maximum(d, 0.0))) if d.max() > 0 else float(d.max())


def rules(events: list) -> list[Rule]:
    return [Rule(e.rule) for e in events]


def zone_gaps(description: RobotDescription, q: np.ndarray, zone: BoxZone | HalfSpaceZone) -> np.ndarray:
    """(N, k) each safety point's clearance to ``zone`` (minus its radius) at every row of q
    (N, n), with MuJoCo's own kinematics (not the kernel's): negative inside."""
    model = build_model(description)
    data = mujoco.MjData(model)
    qpos = JointIndex.of(model, description).qpos
    sites = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, name) for name in description.safety_points]
    radii = np.array(list(description.safety_points.values()))
    gaps = np.empty((len(q), len(sites)))
    for row, q_row in enumerate(q):
        data.qpos[qpos] = q_row
        mujoco.mj_kinematics(model, data)
        gaps[row] = [clearance(zone, p) for p in data.site_xpos[sites]]
    return gaps - radii
