"""`dynamical record`: a dataset recorded by the built-in expert and read back by LeRobot itself."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dynamical.cli import app
from dynamical.learning import protocol
from dynamical.learning.recorder import RecordSummary
from tests.learning.recorded import EPISODES, FPS, SKILL, recorded_dataset, require_learn_env

READBACK = Path(__file__).with_name("lerobot_readback.py")
IMAGE_MEAN_ERROR = 8.0
"""Largest mean absolute error (0-255) of a decoded frame: AV1 at LeRobot's default quality."""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory):
    return recorded_dataset(tmp_path_factory)


@pytest.mark.slow
def test_recorded_dataset_reads_back_in_lerobot(recorded) -> None:
    summary: RecordSummary = recorded.summary
    assert summary.episodes == EPISODES and summary.successes >= EPISODES
    assert summary.cameras == list(protocol.CAMERAS) and summary.image_size == [128, 96]
    python = require_learn_env()
    out = subprocess.run(
        [str(python), str(READBACK), str(recorded.dataset), str(recorded.expected)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["fps"] == FPS
    assert seen["total_episodes"] == EPISODES
    features = seen["features"]
    state = features[protocol.STATE]
    action = features[protocol.ACTION]
    assert state["dtype"] == "float32" and action["dtype"] == "float32"
    assert state["shape"] == [2 * action["shape"][0]]
    assert features[protocol.ENVIRONMENT_STATE]["shape"] == [7 * 4]  # the tabletop's four objects
    for camera in protocol.CAMERAS:
        assert features[protocol.IMAGE_PREFIX + camera] == {"dtype": "video", "shape": [96, 128, 3]}
    # Episode boundaries: contiguous, in order, each as long as recorded, each frame its own episode's.
    previous_end = 0
    for k, episode in enumerate(seen["episodes"]):
        assert episode["episode_index"] == k
        assert episode["from"] == previous_end
        assert episode["to"] - episode["from"] == episode["expected_frames"] > 0
        assert episode["episode_ids"] == [k]
        assert episode["frame_ids_in_order"]
        assert episode["tasks"] == ["look at the red cup"]
        assert episode["max_timestamp_step_error"] < 1e-4
        previous_end = episode["to"]
        # Numbers come back exactly; video within the codec's tolerance.
        for key in (protocol.STATE, protocol.ENVIRONMENT_STATE, protocol.ACTION):
            assert episode["exact_error"][key] < 1e-6, (key, episode["exact_error"])
        for camera in protocol.CAMERAS:
            assert episode["image_mean_error"][protocol.IMAGE_PREFIX + camera] < IMAGE_MEAN_ERROR, episode
    assert seen["total_frames"] == previous_end == summary.frames == seen["len"]


@pytest.mark.slow
def test_recorded_frames_follow_the_motion(recorded) -> None:
    """The action leads the measured state toward the skill's goal: a demonstration, not noise."""
    sidecar = json.loads((recorded.dataset / protocol.DATASET_SIDECAR).read_text())
    assert sidecar["skill"] == SKILL and sidecar["fps"] == FPS
    assert [e["episode_index"] for e in sidecar["episodes"]] == list(range(EPISODES))
    assert all(e["success"] for e in sidecar["episodes"])
    assert len({e["seed"] for e in sidecar["episodes"]}) == EPISODES
    joints = sidecar["joint_names"]
    pan = joints.index("head_pan")
    layouts = []
    for k in range(EPISODES):
        with np.load(recorded.expected / f"episode_{k}.npz") as npz:
            state, action, env = npz[protocol.STATE], npz[protocol.ACTION], npz[protocol.ENVIRONMENT_STATE]
            head = npz[protocol.IMAGE_PREFIX + "head"]
        assert abs(action[-1, pan] - action[0, pan]) > 0.05  # the head turned
        assert abs(state[-1, pan] - action[-1, pan]) < 0.05  # and got where it was sent
        assert not np.array_equal(head[0], head[-1])  # so the head camera saw something else
        layouts.append(env[0])
    # A new layout per episode.
    assert not np.allclose(layouts[0], layouts[1]) and not np.allclose(layouts[1], layouts[2])


def test_record_refuses_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    cases = [
        (["record", "--skill", "juggle", "--out", str(tmp_path / "a")], "juggle"),
        (["record", "--skill", "lift", "--randomize", "gravity", "--out", str(tmp_path / "b")], "gravity"),
        (["record", "--skill", "lift", "--param", "height", "--out", str(tmp_path / "c")], "KEY=VALUE"),
    ]
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "file").write_text("keep me")
    cases.append((["record", "--skill", "lift", "--out", str(taken)], "already exists"))
    for args, needle in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert needle in result.output, result.output
        assert "Traceback" not in result.output
    assert (taken / "file").read_text() == "keep me"
