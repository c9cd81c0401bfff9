"""Whole-body retargeting: BVH in, the robot's arms, waist and head out, within the joint limits;
the shipped test motions and the CLI."""

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dynamical.cli import app
from dynamical.teleop import bvh, sample_motions, skeleton
from dynamical.teleop.body_retarget import BodyRetargeter

MOTIONS = sample_motions.MOTIONS_DIR


def test_bvh_round_trips_and_the_shipped_motions_are_current():
    motion = sample_motions.wave()
    again = bvh.parse(bvh.dump(motion))
    assert again.names == motion.names and again.frame_time == pytest.approx(motion.frame_time, abs=1e-6)
    np.testing.assert_allclose(again.positions(), motion.positions(), atol=1e-3)
    for name in ("reach", "wave", "bow"):
        shipped = bvh.load(MOTIONS / f"{name}.bvh")
        np.testing.assert_allclose(shipped.frames, getattr(sample_motions, name)().frames, atol=1e-3)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "end of file"),
        ("HIERARCHY ROOT Hips { OFFSET 0 0 0 CHANNELS 1 Wobble }", "unknown channel"),
        ("HIERARCHY ROOT Hips { OFFSET 0 nan 0 CHANNELS 0 } MOTION Frames: 1 Frame Time: 0.1", "non-finite"),
        ("HIERARCHY ROOT Hips { OFFSET 0 0 0 CHANNELS 1 Xrotation } MOTION Frames: 2 Frame Time: 0.1 1", "need 2"),
        ("HIERARCHY ROOT Hips { OFFSET 0 0 0 CHANNELS 1 Xrotation } MOTION Frames: 1 Frame Time: 0 1", "frame time"),
    ],
)
def test_malformed_bvh_is_refused_with_a_reason(text, match):
    with pytest.raises(bvh.BvhError, match=match):
        bvh.parse(text)


def _play(retargeter, name):
    _, keypoints = skeleton.from_bvh(bvh.load(MOTIONS / f"{name}.bvh"))
    return np.array([retargeter.retarget(frame) for frame in keypoints]), retargeter


def test_reach_wave_and_bow_move_the_joints_a_person_would(humanoid):
    lo, hi = humanoid.q_min, humanoid.q_max
    q, r = _play(BodyRetargeter(humanoid), "reach")
    assert q[:, humanoid.index("r_shoulder_pitch")].max() > 1.2  # the right arm forward
    assert np.abs(q[:, humanoid.index("l_shoulder_pitch")]).max() < 0.2  # the left one stays down
    q_wave, _ = _play(BodyRetargeter(humanoid), "wave")
    assert q_wave[:, humanoid.index("r_shoulder_roll")].min() < -1.0  # out to the side
    elbow = q_wave[len(q_wave) // 2 :, humanoid.index("r_elbow")]
    assert elbow.max() - elbow.min() > 0.3  # the wave itself
    q_bow, r = _play(BodyRetargeter(humanoid), "bow")
    assert q_bow[:, humanoid.index("waist_pitch")].max() > 0.3
    assert r.error().wrist < 0.02
    for trajectory in (q, q_wave, q_bow):
        assert (trajectory >= lo - 1e-6).all() and (trajectory <= hi + 1e-6).all()


def test_the_retarget_command_writes_the_motion_and_refuses_bad_files(tmp_path: Path):
    runner = CliRunner()
    out = tmp_path / "bow.npz"
    result = runner.invoke(app, ["retarget", str(MOTIONS / "bow.bvh"), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    motion = np.load(out)
    assert motion["q"].shape == (len(motion["t"]), len(motion["joint_names"]))
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY ROOT")
    result = runner.invoke(app, ["retarget", str(bad), "--out", str(tmp_path / "x.npz")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not (tmp_path / "x.npz").exists()
