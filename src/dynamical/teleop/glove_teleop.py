"""A glove driving a teleop session: each glove sample → calibrated human angles → the robot
hand's joints (retargeting) and, with a wrist tracker, a palm target (the wrist's motion since
the glove was bound, applied to where the palm was then) → one ``TeleopInput``.

The deadman is the glove's own stream: while samples flow the input holds it; when they stop
the session's timeout holds the robot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import mujoco
import numpy as np

from dynamical.drivers.dyglove import GloveSample
from dynamical.teleop.glove_calibration import GloveCalibration
from dynamical.teleop.hand_retarget import HandRetargeter
from dynamical.teleop.inputs import HandTarget, TeleopInput
from dynamical.teleop.servo import quat_to_matrix


def _quat_from_matrix(rot: np.ndarray) -> np.ndarray:
    out = np.zeros(4)
    mujoco.mju_mat2Quat(out, np.asarray(rot, dtype=float).reshape(9))
    return out


class GloveTeleop:
    """Turns glove samples into teleop inputs for one side; ``send(input, received_at)`` gets them."""

    def __init__(
        self,
        calibration: GloveCalibration,
        retargeter: HandRetargeter,
        send: Callable[[TeleopInput, float], None],
        palm_anchor: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """``palm_anchor``: the palm's world position (3,) m and rotation (3, 3) when the glove was
        bound; None: the glove drives the fingers only."""
        if calibration.side != retargeter.side:
            raise ValueError(
                f"a {calibration.side} glove's calibration cannot drive the robot's {retargeter.side} hand"
            )
        self.calibration = calibration
        self.retargeter = retargeter
        self.send = send
        self.palm_anchor = palm_anchor
        self._wrist0: tuple[np.ndarray, np.ndarray] | None = None
        self._lock = threading.Lock()
        self.retarget_s: list[float] = []
        """Seconds each retargeting took (the last 1000)."""

    def on_sample(self, sample: GloveSample, received_at: float) -> None:
        start = time.perf_counter()
        with self._lock:
            human = self.calibration.apply(sample.joints)
            fingers = self.retargeter.retarget(human)
            hands = {}
            if self.palm_anchor is not None and sample.wrist_pos is not None:
                rot = quat_to_matrix(sample.wrist_quat)
                if self._wrist0 is None:
                    self._wrist0 = (sample.wrist_pos.copy(), rot)
                pos0, rot0 = self._wrist0
                anchor_pos, anchor_rot = self.palm_anchor
                target_rot = rot @ rot0.T @ anchor_rot
                hands[self.retargeter.side] = HandTarget(
                    pos=(anchor_pos + sample.wrist_pos - pos0).tolist(), quat=_quat_from_matrix(target_rot).tolist()
                )
            self.retarget_s.append(time.perf_counter() - start)
            del self.retarget_s[:-1000]
        side = self.retargeter.side
        self.send(
            # seq 0: the receiver already dropped reordered samples (and a browser may share the session)
            TeleopInput(deadman=True, hands=hands, fingers={side: fingers.tolist()}),  # type: ignore[dict-item]
            received_at,
        )
