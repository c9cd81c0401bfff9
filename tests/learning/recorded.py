"""One small dataset recorded by the real recorder, shared by the tests that read it.

Recording starts the learning environment's writer (LeRobot, seconds of imports) and simulates
every episode, so it is done once per test session, whichever module asks first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from dynamical.learning.env import LearnEnvError, learn_python

EPISODES = 3
FPS = 15
"""Fewer frames than the default 30 keep the test short; the rate is recorded and checked."""
SKILL = "look_at"
"""The shortest built-in episode (the head turns to the cup, ~2 s): three of them stay small."""


@dataclass(frozen=True)
class Recorded:
    dataset: Path
    expected: Path
    """``episode_<k>.npz``: the frames the recorder produced for episode k."""
    summary: object


_cache: dict[Path, Recorded] = {}


def require_learn_env() -> Path:
    try:
        return learn_python()
    except LearnEnvError as exc:
        pytest.skip(str(exc))


def recorded_dataset(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    base = tmp_path_factory.getbasetemp()
    if base not in _cache:
        require_learn_env()
        from dynamical.learning.recorder import RecordConfig, record

        root = tmp_path_factory.mktemp("recorded")
        expected = root / "expected"
        expected.mkdir()
        arrays: list[dict[str, np.ndarray]] = []
        config = RecordConfig(skill=SKILL, episodes=EPISODES, seed=3, out=root / "datasets" / "looks", fps=FPS)
        summary = record(config, on_frames=lambda _record, frames: arrays.append(frames))
        for k, frames in enumerate(arrays):
            np.savez(expected / f"episode_{k}.npz", **frames)
        _cache[base] = Recorded(dataset=root / "datasets" / "looks", expected=expected, summary=summary)
    return _cache[base]
