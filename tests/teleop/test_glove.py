"""The DYGlove path without hardware: the wire protocol, the UDP receiver's refusals and counters,
calibration from a simulated user's poses, and retargeting to the robot's hand."""

import time

import numpy as np
import pytest

from dynamical.drivers.dyglove import (
    HAPTIC_BYTES,
    N_JOINTS,
    SAMPLE_BYTES,
    GloveProtocolError,
    GloveSample,
    HapticCommand,
    decode,
    encode_haptic,
    encode_sample,
    seq_after,
)
from dynamical.drivers.glove_receiver import GloveReceiver
from dynamical.drivers.glove_sim import CALIBRATE_HOLD_S, SimulatedGlove
from dynamical.teleop import human_hand
from dynamical.teleop.glove_calibration import CalibrationRun
from dynamical.teleop.hand_retarget import HandRetargeter


def _sample(seq=1, **overrides):
    fields = dict(
        seq=seq,
        t_us=123456789,
        side="right",
        joints=np.linspace(-0.3, 1.5, N_JOINTS),
        wrist_quat=np.array([1.0, 0.0, 0.0, 0.0]),
        wrist_pos=np.array([0.1, -0.2, 1.0]),
        battery=64,
        imu_calibrated=True,
    )
    fields.update(overrides)
    return GloveSample(**fields)


def test_samples_and_haptic_commands_round_trip():
    data = encode_sample(_sample())
    assert len(data) == SAMPLE_BYTES
    back = decode(data)
    assert isinstance(back, GloveSample) and back.seq == 1 and back.side == "right" and back.battery == 64
    np.testing.assert_allclose(back.joints, np.linspace(-0.3, 1.5, N_JOINTS), atol=1e-6)
    np.testing.assert_allclose(back.wrist_pos, [0.1, -0.2, 1.0], atol=1e-6)
    assert decode(encode_sample(_sample(wrist_pos=None, side="left"))).wrist_pos is None
    haptic = encode_haptic(HapticCommand(7, 1, "left", (0, 64, 128, 255, 300)))
    assert len(haptic) == HAPTIC_BYTES
    command = decode(haptic)
    assert isinstance(command, HapticCommand) and command.intensity == (0, 64, 128, 255, 255)


@pytest.mark.parametrize(
    ("mangle", "kind"),
    [
        (lambda d: d[:10], "short"),
        (lambda d: d[:-1], "short"),
        (lambda d: d + b"\0" * 600, "oversized"),
        (lambda d: b"XXXX" + d[4:], "magic"),
        (lambda d: d[:4] + bytes([9]) + d[5:], "version"),
        (lambda d: d[:5] + bytes([7]) + d[6:], "type"),
        (lambda d: d[:30] + bytes([d[30] ^ 1]) + d[31:], "crc"),
    ],
)
def test_malformed_datagrams_are_refused_by_kind(mangle, kind):
    with pytest.raises(GloveProtocolError) as refused:
        decode(mangle(encode_sample(_sample())))
    assert refused.value.kind == kind


def test_non_finite_values_are_refused_even_with_a_good_crc():
    joints = np.zeros(N_JOINTS)
    joints[3] = np.nan
    with pytest.raises(GloveProtocolError) as refused:
        decode(encode_sample(_sample(joints=joints)))
    assert refused.value.kind == "value"


def test_sequence_arithmetic_wraps():
    assert seq_after(5, 6) == 1 and seq_after(5, 9) == 4 and seq_after(5, 5) == 0 and seq_after(6, 5) == -1
    assert seq_after(0xFFFFFFFF, 0) == 1 and seq_after(0, 0xFFFFFFFF) == -1


def test_the_receiver_counts_refusals_reordering_and_loss_and_keeps_the_newest():
    with GloveReceiver() as receiver:
        for seq in (1, 2, 3, 6, 5, 6, 7):  # 4 and 5 late: 5 arrives after 6, 6 repeated
            receiver.take(encode_sample(_sample(seq)))
        receiver.take(b"garbage")
        receiver.take(encode_sample(_sample(8))[:-2] + b"\0\0")
        stats = receiver.stats()
        assert stats.received == 9 and stats.accepted == 5
        assert stats.reordered == 2 and stats.lost == 2
        assert stats.refused == {"short": 1, "crc": 1}
        assert receiver.latest[0].seq == 7 and stats.battery == 64 and stats.connected


def test_a_simulated_glove_streams_over_udp_with_loss_reordering_and_corruption():
    glove = SimulatedGlove(seed=1)
    with GloveReceiver() as receiver:
        sent = glove.stream(("127.0.0.1", receiver.port), "grasp", 1.0, 200.0, drop=0.05, reorder=0.05, corrupt=0.05)
        deadline = time.monotonic() + 10
        while receiver.stats().received < sent and time.monotonic() < deadline:
            time.sleep(0.02)
        stats = receiver.stats()
    assert stats.received == sent > 50
    assert stats.refused.get("crc", 0) > 0 and stats.reordered > 0 and stats.lost > 0
    assert stats.accepted + stats.reordered + sum(stats.refused.values()) == stats.received


def _calibrate(glove, settle=1.5, capture=1.0, hz=100):
    # The simulated user holds each pose 3 s; the defaults settle 1.5 s and capture 1 s of each.
    run = CalibrationRun("g1", "alice", "right", settle_s=settle, capture_s=capture)
    t = 0.0
    while run.status().state in ("settling", "capturing") and t < 4 * CALIBRATE_HOLD_S:
        run.take(glove.sample("calibrate", t).joints, t)
        t += 1 / hz
    return run


def test_calibration_walks_through_three_poses_and_undoes_the_users_sensor_gains():
    glove = SimulatedGlove(seed=3, noise_rad=0.002)
    run = _calibrate(glove)
    status = run.status()
    assert status.state == "done", status.detail
    calibration = status.calibration
    for pose in (human_hand.OPEN_POSE, human_hand.FIST_POSE, human_hand.PINCH_POSE, 0.5 * human_hand.FIST_POSE):
        np.testing.assert_allclose(calibration.apply(glove.raw(pose)), pose, atol=0.05)


def test_a_fist_that_bends_nothing_fails_calibration_with_a_reason():
    glove = SimulatedGlove(seed=3)
    glove.gain[:] = 0.0  # a glove whose sensors are dead: every pose reads the same
    status = _calibrate(glove).status()
    assert status.state == "failed" and "fist" in status.detail


@pytest.fixture(scope="module")
def retargeter(humanoid):
    return HandRetargeter(humanoid, "right")


def _settle(retargeter, pose, frames=10):
    for _ in range(frames):
        q = retargeter.retarget(pose)
    return q


def test_retargeting_follows_open_fist_and_pinch(retargeter, humanoid):
    open_q = _settle(retargeter, human_hand.OPEN_POSE)
    fist_q = _settle(retargeter, human_hand.FIST_POSE)
    assert open_q[2:].max() < 0.2 and fist_q[2:].min() > 1.4  # fingers straight, then curled
    assert retargeter.error(human_hand.OPEN_POSE, open_q).mean < 0.03
    tips = lambda q: retargeter._tips(q, jacobian=False)[0]  # noqa: E731
    pinch_q = _settle(retargeter, human_hand.PINCH_POSE)
    pinch_gap = np.linalg.norm(tips(pinch_q)[0] - tips(pinch_q)[1])
    assert pinch_gap < 0.5 * np.linalg.norm(tips(open_q)[0] - tips(open_q)[1])
    lo, hi = humanoid.q_min[humanoid.group_indices("hand_right")], humanoid.q_max[humanoid.group_indices("hand_right")]
    assert (pinch_q >= lo - 1e-9).all() and (pinch_q <= hi + 1e-9).all()
