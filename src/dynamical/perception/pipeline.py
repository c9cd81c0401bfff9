"""The cheap perception tier end to end: capture every camera, detect, fuse, track.

``PerceptionPipeline.update()`` is one perception cycle (tier 2, 5–30 Hz, never inside the
200 Hz or 1 kHz loops); ``snapshot()`` is what the API and the dashboard show.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import mujoco
from pydantic import BaseModel, ConfigDict

from dynamical.perception.camera import RgbdFrame, SimRgbdCamera
from dynamical.perception.catalog import ObjectCatalog
from dynamical.perception.detector import Detection, ObjectDetector
from dynamical.perception.fusion import fuse
from dynamical.perception.tracker import ObjectTracker


class PerceivedObjectOut(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    position_m: tuple[float, float, float]
    """The body origin, world frame."""
    yaw_rad: float
    yaw_period_rad: float
    """The yaw is known modulo this (π/2 for a cube, 2π for a cup: unobservable)."""
    size_m: tuple[float, float, float]
    confidence: float
    age_s: float
    cameras: list[str]


class CameraTiming(BaseModel):
    model_config = ConfigDict(frozen=True)
    camera: str
    capture_ms: float
    detect_ms: float
    detections: int


class PerceptionSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)
    t: float
    """s, robot clock."""
    objects: list[PerceivedObjectOut]
    unknown: list[str]
    """Catalog objects not seen (or no longer): unknown, not guessed."""
    unnamed: int
    """Segments no catalog object fits."""
    cameras: list[CameraTiming]


class PerceptionPipeline:
    def __init__(
        self,
        cameras: SimRgbdCamera,
        detector: ObjectDetector,
        tracker: ObjectTracker | None = None,
    ) -> None:
        self.cameras, self.detector = cameras, detector
        self.tracker = tracker or ObjectTracker()
        self.last_detections: list[Detection] = []
        self.last_frames: dict[str, RgbdFrame] = {}
        self._timings: list[CameraTiming] = []
        self._t = 0.0

    @classmethod
    def for_sim(
        cls,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        objects: Sequence[str],
        cameras: Sequence[str],
        width: int = 320,
        height: int = 240,
    ) -> PerceptionPipeline:
        catalog = ObjectCatalog.from_sim(model, data, objects)
        return cls(SimRgbdCamera(model, data, cameras, width, height), ObjectDetector(catalog))

    def update(self, truth: bool = False) -> list[Detection]:
        """Capture and process every camera once; ``truth`` keeps ground-truth masks on the frames."""
        detections: list[Detection] = []
        timings = []
        for name in self.cameras.names:
            t0 = time.perf_counter()
            frame = self.cameras.capture(name, truth=truth)
            t1 = time.perf_counter()
            found = self.detector.detect(frame)
            t2 = time.perf_counter()
            self.last_frames[name] = frame
            detections.extend(found)
            timings.append(
                CameraTiming(camera=name, capture_ms=(t1 - t0) * 1e3, detect_ms=(t2 - t1) * 1e3, detections=len(found))
            )
            self._t = frame.t
        self.tracker.update(fuse(detections), self._t)
        self.last_detections, self._timings = detections, timings
        return detections

    @property
    def time(self) -> float:
        return self._t

    def snapshot(self) -> PerceptionSnapshot:
        objects = []
        for name, track in sorted(self.tracker.tracks().items()):
            objects.append(
                PerceivedObjectOut(
                    name=name,
                    position_m=tuple(round(float(v), 5) for v in track.pos),  # type: ignore[arg-type]
                    yaw_rad=round(track.yaw, 5),
                    yaw_period_rad=round(track.yaw_period, 5),
                    size_m=tuple(round(float(v), 5) for v in track.size),  # type: ignore[arg-type]
                    confidence=round(self.tracker.confidence(track, self._t), 4),
                    age_s=round(track.age(self._t), 4),
                    cameras=list(track.cameras),
                )
            )
        seen = {o.name for o in objects}
        return PerceptionSnapshot(
            t=self._t,
            objects=objects,
            unknown=[n for n in self.detector.catalog.names() if n not in seen],
            unnamed=sum(1 for d in self.last_detections if d.name is None),
            cameras=list(self._timings),
        )

    def close(self) -> None:
        self.cameras.close()
