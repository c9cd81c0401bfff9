"""Per-user glove calibration: open hand, fist and pinch captured in turn; raw sensor angles then
map to the human hand model's angles (``human_hand``) joint by joint, piecewise linearly through
the three captures.

A glove's bend sensors read each user differently (hand size, how the glove sits); three poses
every user can make anchor each joint. A capture is the median over ``capture_s`` after the user
had ``settle_s`` to get into the pose. A fist that did not bend the fingers (or a pinch that did
not move the thumb) fails the calibration with a message saying which, rather than producing a
mapping that would drive the robot's hand wrong.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, PrivateAttr

from dynamical.drivers.dyglove import JOINTS
from dynamical.teleop import human_hand

Pose = Literal["open", "fist", "pinch"]
POSES: tuple[Pose, ...] = ("open", "fist", "pinch")
MODEL_POSE = {"open": human_hand.OPEN_POSE, "fist": human_hand.FIST_POSE, "pinch": human_hand.PINCH_POSE}
MIN_BEND_RAD = 0.2
"""A finger's flexion sensors must differ by this much between open hand and fist."""
MIN_SAMPLES = 10
"""Samples a capture needs (a glove at 100 Hz gives 100 a second)."""
FLEXION = [i for i, name in enumerate(JOINTS) if name.endswith(("_mcp", "_pip"))]
THUMB = [i for i, name in enumerate(JOINTS) if name.startswith("thumb_")]


class CalibrationFailedError(ValueError):
    """The captures cannot anchor the mapping (the message says which pose to redo)."""


class GloveCalibration(BaseModel):
    """One user's calibration of one glove."""

    glove_id: str
    user: str
    side: Literal["left", "right"]
    created_at: datetime
    raw: dict[Pose, list[float]] = Field(description="the median raw angle of each joint in each pose, rad")
    _anchor_cache: tuple[np.ndarray, np.ndarray] | None = PrivateAttr(None)

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Model angles (21,) rad of raw sensor angles (21,) rad: per joint, piecewise linear
        through the three captures, extrapolated along the nearest segment beyond them (a fist
        tighter than the captured one is still a fist), clipped to plausible angles."""
        xs, ys = self._anchors()
        x = np.asarray(raw, dtype=float)
        dx = np.diff(xs, axis=1)  # (21, 2)
        flat = dx < 1e-6  # two captures at one reading: that segment has no slope
        slope = np.where(flat, 0.0, np.diff(ys, axis=1) / np.where(flat, 1.0, dx))
        low = ys[:, 0] + (x - xs[:, 0]) * np.where(flat[:, 0], slope[:, 1], slope[:, 0])
        high = ys[:, 1] + (x - xs[:, 1]) * np.where(flat[:, 1], slope[:, 0], slope[:, 1])
        out = np.where(x < xs[:, 1], low, high)
        unmoved = xs[:, 2] - xs[:, 0] < 1e-6  # no pose moved this joint (abduction, often)
        out = np.where(unmoved, MODEL_POSE["open"], out)
        return np.clip(out, -0.5, 2.0)

    def _anchors(self) -> tuple[np.ndarray, np.ndarray]:
        """Per joint, the three captures' raw readings (21, 3), ascending, and their model angles."""
        cached = self._anchor_cache
        if cached is None:
            xs = np.array([self.raw[p] for p in POSES]).T
            ys = np.array([MODEL_POSE[p] for p in POSES]).T
            order = np.argsort(xs, axis=1)
            cached = (np.take_along_axis(xs, order, 1), np.take_along_axis(ys, order, 1))
            self._anchor_cache = cached
        return cached


class CalibrationStatus(BaseModel):
    """Where a calibration stands: the pose the user should hold now, and progress."""

    glove_id: str
    user: str
    state: Literal["settling", "capturing", "done", "failed"]
    pose: Pose | None = Field(description="the pose to hold now (None once done or failed)")
    step: int = Field(description="1-based index of the pose, of ``steps``")
    steps: int = len(POSES)
    progress: float = Field(description="0-1 of this pose's capture")
    detail: str = ""
    calibration: GloveCalibration | None = None


class CalibrationRun:
    """Feeds on raw glove samples (:meth:`take`) and walks the user through the three poses on
    the samples' own clock."""

    def __init__(
        self,
        glove_id: str,
        user: str,
        side: Literal["left", "right"],
        settle_s: float = 1.5,
        capture_s: float = 1.0,
        on_done: Callable[[GloveCalibration], None] | None = None,
    ) -> None:
        if not (settle_s >= 0 and capture_s > 0):
            raise ValueError(f"need settle_s >= 0 and capture_s > 0, got {settle_s}, {capture_s}")
        self.glove_id, self.user, self.side = glove_id, user, side
        self.settle_s, self.capture_s = settle_s, capture_s
        self.on_done = on_done
        self._lock = threading.Lock()
        self._step = 0
        self._pose_started: float | None = None
        self._captured: list[np.ndarray] = []
        self._medians: dict[Pose, list[float]] = {}
        self._state: Literal["settling", "capturing", "done", "failed"] = "settling"
        self._progress = 0.0
        self._detail = ""
        self.result: GloveCalibration | None = None

    def take(self, raw: np.ndarray, t: float) -> None:
        """One raw sample (21,) rad at ``t`` (s, any monotonic clock)."""
        done: GloveCalibration | None = None
        with self._lock:
            if self._state in ("done", "failed"):
                return
            if self._pose_started is None:
                self._pose_started = t
            elapsed = t - self._pose_started
            if elapsed < self.settle_s:
                self._state = "settling"
                return
            self._state = "capturing"
            self._progress = min(1.0, (elapsed - self.settle_s) / self.capture_s)
            self._captured.append(np.array(raw, dtype=float))
            if elapsed < self.settle_s + self.capture_s or len(self._captured) < MIN_SAMPLES:
                return
            pose = POSES[self._step]
            self._medians[pose] = np.median(np.array(self._captured), axis=0).tolist()
            self._captured, self._pose_started, self._progress = [], None, 0.0
            self._step += 1
            self._state = "settling"
            if self._step == len(POSES):
                try:
                    done = self._finish()
                except CalibrationFailedError as exc:
                    self._state, self._detail = "failed", str(exc)
                    return
                self._state, self.result = "done", done
        if done is not None and self.on_done is not None:
            self.on_done(done)

    def _finish(self) -> GloveCalibration:
        raw = {p: np.array(self._medians[p]) for p in POSES}
        bend = np.abs(raw["fist"][FLEXION] - raw["open"][FLEXION])
        if bend.min() < MIN_BEND_RAD:
            joint = JOINTS[FLEXION[int(bend.argmin())]]
            raise CalibrationFailedError(
                f"the fist bent {joint} by only {bend.min():.2f} rad (at least {MIN_BEND_RAD}): "
                "redo it with a tight fist"
            )
        thumb = np.abs(raw["pinch"][THUMB] - raw["open"][THUMB]).max()
        if thumb < MIN_BEND_RAD:
            raise CalibrationFailedError(
                f"the pinch moved the thumb by only {thumb:.2f} rad: redo it touching thumb and index tips"
            )
        return GloveCalibration(
            glove_id=self.glove_id,
            user=self.user,
            side=self.side,
            created_at=datetime.now(UTC),
            raw={p: self._medians[p] for p in POSES},
        )

    def status(self) -> CalibrationStatus:
        with self._lock:
            active = self._state in ("settling", "capturing")
            return CalibrationStatus(
                glove_id=self.glove_id,
                user=self.user,
                state=self._state,
                pose=POSES[self._step] if active else None,
                step=min(self._step + 1, len(POSES)),
                progress=self._progress if self._state == "capturing" else float(self._state == "done"),
                detail=self._detail,
                calibration=self.result,
            )
