"""A simulated DYGlove: scripted hand motions streamed over UDP in the real wire protocol, so the
whole glove path (receiver, calibration, retargeting, teleop) runs without the hardware.

Its sensors read like a real glove's: each joint's raw angle is the human angle times a gain plus
an offset (fixed per simulated user, from ``seed``) plus noise, so a calibration is needed to read
it right. It can also misbehave on purpose (drop, reorder, corrupt datagrams) to exercise the
receiver's counters.
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from dynamical.drivers.dyglove import N_JOINTS, GloveSample, encode_sample
from dynamical.teleop import human_hand
from dynamical.teleop.glove_calibration import GloveCalibration

Motion = Literal["calibrate", "grasp", "pinch", "point", "wave"]
MOTIONS: tuple[Motion, ...] = ("calibrate", "grasp", "pinch", "point", "wave")
CALIBRATE_HOLD_S = 3.0
"""s the ``calibrate`` script holds each of open, fist and pinch (a calibration settles and
captures within it)."""
POINT_POSE = human_hand.FIST_POSE.copy()
POINT_POSE[5:9] = 0.0  # index straight


def _blend(a: np.ndarray, b: np.ndarray, s: float) -> np.ndarray:
    s = 0.5 - 0.5 * math.cos(math.pi * min(max(s, 0.0), 1.0))
    return a + (b - a) * s


def motion_pose(motion: Motion, t: float) -> tuple[np.ndarray, np.ndarray]:
    """The human hand's joint angles (21,) rad and wrist quaternion (4,) w x y z at ``t`` s."""
    identity = np.array([1.0, 0.0, 0.0, 0.0])
    if motion == "calibrate":
        k = int(t // CALIBRATE_HOLD_S) % 3
        return (human_hand.OPEN_POSE, human_hand.FIST_POSE, human_hand.PINCH_POSE)[k].copy(), identity
    phase = (t % 4.0) / 2.0  # 2 s closing, 2 s opening
    s = phase if phase <= 1.0 else 2.0 - phase
    if motion == "grasp":
        return _blend(human_hand.OPEN_POSE, human_hand.FIST_POSE, s), identity
    if motion == "pinch":
        return _blend(human_hand.OPEN_POSE, human_hand.PINCH_POSE, s), identity
    if motion == "point":
        return _blend(human_hand.OPEN_POSE, POINT_POSE, s), identity
    # wave: a flat hand, the wrist rolling ±0.5 rad about the forearm at 1 Hz
    angle = 0.5 * math.sin(2.0 * math.pi * t)
    return human_hand.OPEN_POSE.copy(), np.array([math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)])


class SimulatedGlove:
    """Makes the datagrams of one glove; :meth:`stream` sends them."""

    def __init__(self, side: Literal["left", "right"] = "right", seed: int = 0, noise_rad: float = 0.005) -> None:
        rng = np.random.default_rng(seed)
        self.side = side
        self.gain = rng.uniform(0.8, 1.2, N_JOINTS)
        """Per joint: raw = gain · angle + offset (a user's hand in this glove)."""
        self.offset = rng.uniform(-0.2, 0.2, N_JOINTS)
        self.noise_rad = noise_rad
        self._rng = rng
        self.seq = 0
        self.battery = 87

    def calibration(self, glove_id: str, user: str) -> GloveCalibration:
        """The calibration a noiseless capture of the three poses gives (benches, demos)."""
        poses = {"open": human_hand.OPEN_POSE, "fist": human_hand.FIST_POSE, "pinch": human_hand.PINCH_POSE}
        return GloveCalibration(
            glove_id=glove_id,
            user=user,
            side=self.side,
            created_at=datetime.now(UTC),
            raw={p: (self.gain * pose + self.offset).tolist() for p, pose in poses.items()},  # type: ignore[misc]
        )

    def raw(self, joints: np.ndarray) -> np.ndarray:
        """The raw sensor angles (21,) of human angles (21,)."""
        return self.gain * joints + self.offset + self._rng.normal(0.0, self.noise_rad, N_JOINTS)

    def sample(self, motion: Motion, t: float, wrist_pos: np.ndarray | None = None) -> GloveSample:
        joints, quat = motion_pose(motion, t)
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        return GloveSample(
            seq=self.seq,
            t_us=int(t * 1e6),
            side=self.side,
            joints=self.raw(joints),
            wrist_quat=quat,
            wrist_pos=wrist_pos,
            battery=self.battery,
            imu_calibrated=True,
        )

    def stream(
        self,
        address: tuple[str, int],
        motion: Motion,
        duration_s: float,
        rate_hz: float = 100.0,
        *,
        drop: float = 0.0,
        reorder: float = 0.0,
        corrupt: float = 0.0,
        stop: Callable[[], bool] | None = None,
    ) -> int:
        """Send ``motion`` to ``address`` for ``duration_s`` at ``rate_hz`` (absolute deadlines);
        ``drop``/``reorder``/``corrupt``: fractions of datagrams lost, swapped with the next one,
        or sent with a flipped byte. Returns the datagrams sent."""
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        sent = 0
        held: bytes | None = None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            start = time.monotonic()
            k = 0
            while (t := time.monotonic() - start) < duration_s and not (stop is not None and stop()):
                data = encode_sample(self.sample(motion, t))
                roll = self._rng.random()
                if roll < drop:
                    data = b""
                elif roll < drop + corrupt:
                    flipped = bytearray(data)
                    flipped[40] ^= 0xFF
                    data = bytes(flipped)
                elif roll < drop + corrupt + reorder and held is None:
                    held, data = data, b""
                if data:
                    sock.sendto(data, address)
                    sent += 1
                    if held is not None:
                        sock.sendto(held, address)
                        sent, held = sent + 1, None
                k += 1
                delay = start + k / rate_hz - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        return sent
