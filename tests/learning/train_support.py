"""What the training tests share: the learning environment (skip without it) and a tiny dataset.

The dataset is written once per test session by LeRobot's own writer in the learning environment
(``train_dataset_fixture.py``) and shared read-only by every test that trains on it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dynamical.learning.env import LearnEnvError, learn_python, worker_env

FIXTURE_SCRIPT = Path(__file__).with_name("train_dataset_fixture.py")
TINY_MODEL = ["--chunk-size", "4", "--dim-model", "32", "--layers", "1", "--batch-size", "4"]
"""A 47 k-parameter ACT: a step takes milliseconds, so the tests measure behaviour, not speed."""


def require_learn_env() -> Path:
    try:
        return learn_python()
    except LearnEnvError as exc:
        pytest.skip(str(exc))


def tiny_dataset(root: Path, episodes: int = 3, frames: int = 30) -> Path:
    """``root/tiny``: made on first use, reused after (LeRobot's import is the slow part)."""
    python = require_learn_env()
    out = root / "tiny"
    if not (out / "meta" / "info.json").is_file():
        result = subprocess.run(
            [str(python), str(FIXTURE_SCRIPT), str(out), "--episodes", str(episodes), "--frames", str(frames)],
            env=worker_env("normal"),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            sys.stderr.write(result.stderr[-4000:])
            raise RuntimeError(f"the tiny dataset could not be written (status {result.returncode})")
    return out
