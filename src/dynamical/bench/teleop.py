"""`dynamical bench teleop`: how fast and how well teleoperation turns operator input into
kernel commands.

- servo: one IK step toward a moving palm target (what every control tick does in a session).
- hand retargeting: glove frames (the simulated glove's grasp, pinch and point motions, through a
  calibration) → robot hand joints, per hand; the fingertip error against the scaled human
  fingertips (median, p95).
- glove → kernel: a simulated glove streams over UDP at 100 Hz to a receiver that retargets and
  feeds a teleop session on a lock-step robot agent (real time); latency from a datagram's arrival
  to the control tick that sent the kernel a command from it.
- input → kernel: the same for operator inputs (the browser's path once they reach the robot).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from dynamical.robot.description import RobotDescription
from dynamical.robot.world import WorldSpec
from dynamical.teleop.inputs import HandTarget, TeleopConfig, TeleopInput

if TYPE_CHECKING:
    from dynamical.agent.teleop_control import TeleopController


class TeleopBenchResult(BaseModel):
    robot: str
    servo_step_ms_p50: float
    servo_step_ms_p99: float
    servo_rate_hz: float = Field(description="servo IK steps a second (p50): the control rate needs 200")
    hand_retarget_ms_p50: float
    hand_retarget_ms_p99: float
    hand_retarget_rate_hz: float = Field(description="frames a second per hand (p50)")
    fingertip_error_median_m: float
    fingertip_error_p95_m: float
    glove_to_command_ms_p50: float | None
    glove_to_command_ms_p99: float | None
    glove_packets: int
    glove_packets_lost: int
    input_to_command_ms_p50: float | None
    input_to_command_ms_p99: float | None
    inputs: int


def _servo(description: RobotDescription, steps: int) -> list[float]:
    from dynamical.teleop.servo import TeleopServo

    servo = TeleopServo(description, TeleopConfig(), 0.005)
    q = description.home.copy()
    servo.reset(q)
    center, _ = servo.palm_pose(q, "right")
    times = []
    for k in range(steps):
        target = HandTarget(pos=(center + 0.08 * np.array([np.sin(k / 80), 0.0, np.cos(k / 80) - 1])).tolist())
        start = time.perf_counter()
        goal = servo.goal(q, {"right": target}, {}, None, None)
        q = servo.step(q, goal)
        times.append(time.perf_counter() - start)
    return times


def _retarget(description: RobotDescription, frames: int) -> tuple[list[float], list[float]]:
    from dynamical.drivers.glove_sim import SimulatedGlove
    from dynamical.teleop.glove_calibration import CalibrationRun
    from dynamical.teleop.hand_retarget import HandRetargeter

    glove = SimulatedGlove(seed=0)
    run = CalibrationRun("bench", "bench", "right")
    t = 0.0
    while run.result is None and t < 12.0:
        run.take(glove.sample("calibrate", t).joints, t)
        t += 0.01
    if run.result is None:
        raise RuntimeError(f"the simulated glove's calibration failed: {run.status().detail}")
    retargeter = HandRetargeter(description, "right")
    times, errors = [], []
    for k in range(frames):
        motion = ("grasp", "pinch", "point")[(k * 3) // frames]
        raw = glove.sample(motion, k * 0.01).joints
        start = time.perf_counter()
        human = run.result.apply(raw)
        retargeter.retarget(human)
        times.append(time.perf_counter() - start)
        errors.extend(retargeter.error(human).per_tip)
    return times, errors


def _live(description: RobotDescription, world: WorldSpec, seconds: float) -> tuple[list[float], int, int, list[float]]:
    """(glove latencies s, packets, lost, input latencies s) on a lock-step agent in real time."""
    from dynamical.agent.lockstep_agent import LockstepRobotAgent
    from dynamical.agent.teleop_control import teleop_of
    from dynamical.drivers.glove_receiver import GloveReceiver
    from dynamical.drivers.glove_sim import SimulatedGlove
    from dynamical.teleop.glove_teleop import GloveTeleop
    from dynamical.teleop.hand_retarget import HandRetargeter

    agent = LockstepRobotAgent("bench_teleop", description, world, seed=0, speed=1.0)
    agent.runtime.set_mannequin_pose(4.0, 4.0)
    agent.start()
    glove = SimulatedGlove(seed=0, noise_rad=0.0)
    calibration = glove.calibration("bench", "bench")
    controller = teleop_of(agent)
    try:
        controller.start("bench", TeleopConfig(deadman_s=0.5))
        bridge = GloveTeleop(calibration, HandRetargeter(description, "right"), controller.submit)
        with GloveReceiver(on_sample=bridge.on_sample) as receiver:
            glove.stream(("127.0.0.1", receiver.port), "grasp", seconds, 100.0)
            time.sleep(0.2)
            stats = receiver.stats()
        glove_samples = _latencies(controller)
        controller.stop()
        # Operator inputs at 60 Hz (the browser's rate), a palm target moving on a circle.
        controller.start("bench", TeleopConfig(deadman_s=0.5))
        center = np.array(agent.runtime.site_pose("r_palm")[0])
        end = time.monotonic() + seconds
        k = 0
        while time.monotonic() < end:
            k += 1
            pos = center + 0.05 * np.array([np.sin(k / 30), 0.0, np.cos(k / 30) - 1])
            controller.submit(TeleopInput(seq=k, deadman=True, hands={"right": HandTarget(pos=pos.tolist())}))
            time.sleep(1 / 60)
        input_samples = _latencies(controller)
        controller.stop()
    finally:
        agent.stop()
    return glove_samples, stats.accepted, stats.lost, input_samples


def _latencies(controller: TeleopController) -> list[float]:
    session = controller.session
    return session.latencies() if session is not None else []


def _p(values: list[float], q: float, scale: float = 1e3) -> float | None:
    return float(np.percentile(np.array(values) * scale, q)) if values else None


def bench_teleop(
    description: RobotDescription, world: WorldSpec, seconds: float = 5.0, steps: int = 2000
) -> TeleopBenchResult:
    servo = _servo(description, steps)
    retarget, errors = _retarget(description, steps)
    glove, packets, lost, inputs = _live(description, world, seconds)
    servo_p50 = float(np.percentile(servo, 50))
    retarget_p50 = float(np.percentile(retarget, 50))
    return TeleopBenchResult(
        robot=description.name,
        servo_step_ms_p50=servo_p50 * 1e3,
        servo_step_ms_p99=float(np.percentile(servo, 99)) * 1e3,
        servo_rate_hz=1.0 / servo_p50,
        hand_retarget_ms_p50=retarget_p50 * 1e3,
        hand_retarget_ms_p99=float(np.percentile(retarget, 99)) * 1e3,
        hand_retarget_rate_hz=1.0 / retarget_p50,
        fingertip_error_median_m=float(np.median(errors)),
        fingertip_error_p95_m=float(np.percentile(errors, 95)),
        glove_to_command_ms_p50=_p(glove, 50),
        glove_to_command_ms_p99=_p(glove, 99),
        glove_packets=packets,
        glove_packets_lost=lost,
        input_to_command_ms_p50=_p(inputs, 50),
        input_to_command_ms_p99=_p(inputs, 99),
        inputs=len(inputs),
    )
