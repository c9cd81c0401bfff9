"""`dynamical bench ik`: can each arm reach random reachable targets, how closely, how fast.

Targets are reachable by construction: the end-effector pose at a configuration drawn uniformly
within the arm's joint limits. IK starts from the rest pose and must find its own way there.
"""

from __future__ import annotations

import time

import numpy as np
from pydantic import BaseModel

from dynamical.robot.description import RobotDescription
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model


class ArmIKResult(BaseModel):
    arm: str
    site: str
    targets: int
    reached: int
    """Targets solved within the position tolerance."""
    tolerance_m: float
    position_error_max_m: float
    position_error_median_m: float
    orientation_error_max_rad: float
    solve_ms_median: float
    solve_ms_max: float


class IKBenchResult(BaseModel):
    robot: str
    seed: int
    arms: list[ArmIKResult]


def bench_ik(
    description: RobotDescription, targets: int = 50, seed: int = 0, tolerance: float = 0.005
) -> IKBenchResult:
    kinematics = Kinematics(build_model(description), description)
    rng = np.random.default_rng(seed)
    results = []
    for arm, site in description.end_effectors.items():
        idx = description.group_indices(arm)
        pos_err, rot_err, times = [], [], []
        for _ in range(targets):
            q_goal = description.home.copy()
            q_goal[idx] = rng.uniform(description.q_min[idx], description.q_max[idx])
            target = kinematics.site_pose(q_goal, site)
            start = time.perf_counter()
            result = kinematics.solve(description.home, {site: target}, [arm])
            times.append(time.perf_counter() - start)
            pos_err.append(result.position_error[site])
            rot_err.append(result.orientation_error[site])
        errors = np.array(pos_err)
        results.append(
            ArmIKResult(
                arm=arm,
                site=site,
                targets=targets,
                reached=int((errors <= tolerance).sum()),
                tolerance_m=tolerance,
                position_error_max_m=float(errors.max()),
                position_error_median_m=float(np.median(errors)),
                orientation_error_max_rad=float(max(rot_err)),
                solve_ms_median=float(np.median(times) * 1e3),
                solve_ms_max=float(max(times) * 1e3),
            )
        )
    return IKBenchResult(robot=description.name, seed=seed, arms=results)
