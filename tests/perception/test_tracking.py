"""Tracks over time and the fusion of several cameras' estimates."""

import numpy as np
import pytest

from dynamical.perception.detector import Detection
from dynamical.perception.fusion import FusedObject, fuse
from dynamical.perception.tracker import ObjectTracker


def _detection(camera: str, pos: list[float], yaw: float, confidence: float, sigma: float) -> Detection:
    return Detection(
        camera=camera,
        t=1.0,
        label="hue:0.00",
        name="red_cube",
        pos=np.array(pos),
        yaw=yaw,
        yaw_period=np.pi / 2,
        size=np.array([0.05, 0.05, 0.05]),
        confidence=confidence,
        sigma=sigma,
        mask=np.zeros((2, 2), dtype=bool),
    )


def test_fusion_weights_resolution_and_confidence_and_wraps_yaw() -> None:
    near = _detection("head", [0.40, 0.0, 0.775], np.radians(44.0), 0.9, 0.002)
    far = _detection("front", [0.41, 0.0, 0.775], np.radians(-44.0), 0.9, 0.004)
    fused = fuse([near, far])["red_cube"]
    assert fused.pos[0] == pytest.approx(0.40 + 0.01 / 5, abs=1e-6)  # weights 1/σ²: 4 : 1
    # 44° and −44° are 2° apart modulo 90°: their mean is near ±45°, not 0°.
    assert abs(abs(np.degrees(fused.yaw)) - 45.0) <= 1.5
    assert fused.confidence == pytest.approx(0.99)
    assert fused.cameras == ("front", "head")
    assert fuse([_detection("head", [0, 0, 0], 0.0, 0.0, 0.002)]) == {}  # nothing named with confidence


def _fused(t: float, x: float) -> dict[str, FusedObject]:
    return {
        "red_cube": FusedObject(
            name="red_cube",
            t=t,
            pos=np.array([x, 0.0, 0.8]),
            yaw=0.0,
            yaw_period=np.pi / 2,
            size=np.array([0.05, 0.05, 0.05]),
            confidence=0.8,
            cameras=("head",),
        )
    }


def test_unseen_object_decays_then_is_forgotten() -> None:
    tracker = ObjectTracker(decay_s=1.0, forget_after_s=2.0)
    tracker.update(_fused(0.0, 0.40), now=0.0)
    tracker.update(_fused(0.1, 0.41), now=0.1)
    track = tracker.tracks()["red_cube"]
    assert track.velocity[0] == pytest.approx(0.1)
    tracker.update({}, now=1.1)
    track = tracker.tracks()["red_cube"]
    assert tracker.confidence(track, 1.1) == pytest.approx(0.8 * np.exp(-1.0))
    assert not np.any(track.velocity)
    tracker.update({}, now=2.2)
    assert "red_cube" not in tracker.tracks()
    with pytest.raises(ValueError):
        ObjectTracker(decay_s=0.0)
