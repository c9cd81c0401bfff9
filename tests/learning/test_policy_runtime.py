"""The runtime side of learned policies, without the learning environment: policy.json and the
artifact checks, ACT's temporal ensembling, the chunk source's timing and its deadline."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from dynamical.learning.features import FeatureLayout
from dynamical.learning.onnx_policy import LearnedPolicySkill, OnnxChunkSource, TemporalEnsembler
from dynamical.learning.policy_package import PackageError, parse_predicate, recorded_conditions
from dynamical.robot import RobotDescription
from dynamical.runtime.channels.state import StateSample
from dynamical.skills.artifact import build_artifact, open_artifact
from dynamical.skills.errors import ArtifactContentError
from dynamical.skills.executor import SkillContext
from dynamical.skills.keyring import Keyring
from dynamical.skills.manifest import ActionSpace, SkillManifest
from dynamical.skills.policy_spec import ONNX_PATH, SPEC_PATH, PolicySpec

JOINTS = ("a", "b")


def _spec(**changes) -> dict:
    spec = {
        "format": 1,
        "policy_type": "act",
        "fps": 10,
        "chunk_size": 4,
        "n_action_steps": 4,
        "temporal_ensemble_coeff": 0.01,
        "normalization": "in_graph",
        "inputs": [{"name": "observation.state", "shape": [1, 4], "dtype": "float32"}],
        "output": {"name": "action", "shape": [1, 4, 2], "dtype": "float32"},
        "layout": {"robot": "r", "joint_names": list(JOINTS), "image_height": 96, "image_width": 128},
        "validation": {"samples": 8, "max_abs_error": 3e-8, "tolerance": 1e-4},
    }
    spec.update(changes)
    return spec


def _manifest(**changes) -> SkillManifest:
    fields = {
        "id": "learned_pick",
        "version": "1.0.0",
        "name": "Learned pick",
        "kind": "policy",
        "embodiment": "dynamical-humanoid",
        "action_space": ActionSpace(type="joint_positions", groups=["arm_right"]),
        "nominal_duration_s": 2.0,
        "policy_format": "onnx",
    }
    fields.update(changes)
    return SkillManifest(**fields)


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return Keyring.create(tmp_path / "keyring.json")


def test_policy_artifact_round_trip_and_its_checks(keyring: Keyring) -> None:
    files = {ONNX_PATH: b"\x08\x07graph", SPEC_PATH: json.dumps(_spec()).encode()}
    opened = open_artifact(build_artifact(_manifest(), files, keyring), keyring)
    assert opened.files == files and opened.manifest.policy_format == "onnx"
    assert PolicySpec.model_validate_json(opened.files[SPEC_PATH]).dt == pytest.approx(0.1)

    with pytest.raises(ArtifactContentError, match="missing"):
        build_artifact(_manifest(), {ONNX_PATH: b"g"}, keyring)
    with pytest.raises(ArtifactContentError, match="empty"):
        build_artifact(_manifest(), {**files, ONNX_PATH: b""}, keyring)
    off = _spec(validation={"samples": 8, "max_abs_error": 0.01, "tolerance": 1e-4})
    with pytest.raises(ArtifactContentError, match="tolerance"):
        build_artifact(_manifest(), {**files, SPEC_PATH: json.dumps(off).encode()}, keyring)
    wrong_shape = _spec(output={"name": "action", "shape": [1, 4, 3], "dtype": "float32"})
    with pytest.raises(ArtifactContentError, match="output shape"):
        build_artifact(_manifest(), {**files, SPEC_PATH: json.dumps(wrong_shape).encode()}, keyring)
    with pytest.raises(ArtifactContentError, match="not JSON|Invalid JSON|invalid"):
        build_artifact(_manifest(), {**files, SPEC_PATH: b"{nope"}, keyring)
    # A graph nobody declared is never carried.
    header = json.dumps({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    weights = {"weights/w.safetensors": len(header).to_bytes(8, "little") + header + bytes(4)}
    build_artifact(_manifest(policy_format=None, weights=["w"]), weights, keyring)
    with pytest.raises(ArtifactContentError, match="declares no policy_format"):
        build_artifact(_manifest(policy_format=None, weights=["w"]), {**files, **weights}, keyring)


def test_manifest_kinds_and_policy_format() -> None:
    assert _manifest().weights == []
    with pytest.raises(ValueError, match="weights' or a policy_format"):
        _manifest(policy_format=None)
    with pytest.raises(ValueError, match="no policy graph"):
        _manifest(kind="scripted", entry_point="a.b:C")


def test_temporal_ensembling_weights_older_predictions_more() -> None:
    m = 0.5
    ensembler = TemporalEnsembler(coeff=m, dt=0.1)
    first = np.zeros((4, 1))
    out = ensembler.add(0.0, first)
    np.testing.assert_allclose(out, first)
    second = np.ones((4, 1))
    out = ensembler.add(0.2, second)  # overlaps the first's last two rows (t = 0.2, 0.3)
    w0, w1 = 1.0, np.exp(-m)
    blended = (w0 * 0.0 + w1 * 1.0) / (w0 + w1)
    np.testing.assert_allclose(out[:, 0], [blended, blended, 1.0, 1.0])
    # Off the grid: the earlier chunk interpolated between its rows.
    ramp = TemporalEnsembler(coeff=0.0, dt=0.1)
    ramp.add(0.0, np.arange(4.0)[:, None])
    out = ramp.add(0.05, np.zeros((2, 1)))
    np.testing.assert_allclose(out[:, 0], [0.25, 0.75])
    # A prediction ending before the next one starts no longer counts.
    out = ramp.add(1.0, np.full((2, 1), 7.0))
    np.testing.assert_allclose(out[:, 0], [7.0, 7.0])


class _LinearPolicy:
    """A policy (the ``OnnxPolicy`` interface): the chunk steps each joint towards 1 rad.

    ``gate`` (when given) holds every prediction until set: a test decides when inference ends."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.spec = PolicySpec.model_validate(_spec(temporal_ensemble_coeff=0.0))
        self.gate = gate
        self.calls = 0

    def predict(self, features: dict[str, np.ndarray]) -> np.ndarray:
        self.calls += 1
        if self.gate is not None:
            assert self.gate.wait(10.0)
        q = features["observation.state"][0, :2].astype(float)
        steps = np.arange(1, 5)[:, None] * 0.1
        return q[None, :] + steps * (1.0 - q[None, :])


def _layout() -> FeatureLayout:
    return FeatureLayout(robot="r", joint_names=JOINTS, joint_indices=(1, 2), object_names=())


def _state(q: np.ndarray) -> StateSample:
    zeros = np.zeros_like(q)
    return StateSample(t=0.0, tick=0, q=q, dq=zeros, tau=zeros)


def _observe(layout: FeatureLayout):
    return lambda state: {"observation.state": layout.state_from_sample(state)[None, :]}


def test_lockstep_source_gives_ensembled_full_commands_on_the_next_poll() -> None:
    layout = _layout()
    policy = _LinearPolicy()
    source = OnnxChunkSource(policy, _observe(layout), layout, lockstep=True, play_s=0.2)  # type: ignore[arg-type]
    hold = np.array([5.0, 0.0, 0.0, 6.0])  # joints 0 and 3 are not the policy's: they keep the hold
    source.begin(hold)
    source.request(1.0, _state(np.array([5.0, 0.0, 0.5, 6.0])))
    chunk = source.poll()
    assert chunk is not None and source.poll() is None
    assert chunk.t0 == 1.0 and chunk.dt == pytest.approx(0.1) and chunk.q.shape == (3, 4)  # 0.2 s at 10 Hz + 1
    np.testing.assert_allclose(chunk.q[:, 0], 5.0)
    np.testing.assert_allclose(chunk.q[:, 3], 6.0)
    np.testing.assert_allclose(chunk.q[:, 1], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(chunk.q[:, 2], [0.55, 0.6, 0.65])
    assert len(source.latencies_s) == 1


def test_threaded_source_runs_off_the_caller_and_a_late_chunk_fails_the_skill() -> None:
    layout = _layout()
    gate = threading.Event()
    policy = _LinearPolicy(gate)
    source = OnnxChunkSource(policy, _observe(layout), layout, lockstep=False)  # type: ignore[arg-type]
    skill = LearnedPolicySkill(source, name="learned", groups=("arm_right",), duration_s=5.0, params={})
    description = RobotDescription.load("humanoid")
    q = np.zeros(4)
    skill.start(SkillContext(description, 0.0, q, None, 0.005))
    try:
        source.request(0.0, _state(q))  # returns at once: inference waits for the gate
        assert source.poll() is None and source.waiting_since() == 0.0
        assert skill.step(0.5, _state(q)).failed is None
        failed = skill.step(1.2, _state(q)).failed
        assert failed is not None and "no action chunk within 1 s" in failed
        gate.set()
        for _ in range(1000):
            chunk = source.poll()
            if chunk is not None:
                break
            threading.Event().wait(0.01)
        assert chunk is not None and source.waiting_since() is None
        assert skill.step(1.3, _state(q)).failed is None
    finally:
        gate.set()
        skill.close()


def test_conditions_from_text_and_from_the_recorded_skill() -> None:
    assert str(parse_predicate("holding(obj=red_cube, side=right)")) == "holding(obj=red_cube, side=right)"
    assert parse_predicate("not hand_empty(side=left)").negate
    for bad in ("holding", "holding(obj)", "juggling(obj=a)"):
        with pytest.raises(PackageError):
            parse_predicate(bad)
    pre, post, dropped = recorded_conditions("grasp", {"obj": "red_cube", "side": "right"})
    assert [str(p) for p in post] == ["holding(obj=red_cube, side=right)"] and len(pre) == 2 and not dropped
    pre, post, dropped = recorded_conditions("grasp", {"obj": "red_cube"})  # the hand was the skill's choice
    assert [str(p) for p in post] == ["holding(obj=red_cube, side=either)"] and not dropped
    # A lift's episode is a grasp, then the lift: the learned pick starts with an empty hand near the cube.
    pre, post, dropped = recorded_conditions("lift", {"obj": "red_cube", "height": 0.1})
    assert [str(p) for p in pre] == ["hand_empty(side=either)", "reachable(obj=red_cube, side=either)"]
    assert [str(p) for p in post] == ["holding(obj=red_cube, side=either)"] and not dropped


def test_a_learned_skill_without_a_postcondition_is_refused(humanoid: RobotDescription) -> None:
    """Nothing could fail such a skill: every run would count as a success."""
    from dynamical.learning.policy_package import build_manifest

    joints = list(humanoid.joint_names[:2])
    layout = {"robot": humanoid.name, "joint_names": joints, "image_height": 96, "image_width": 128}
    spec = PolicySpec.model_validate(_spec(layout=layout))
    kwargs = dict(skill_id="learned_thing", version="1.0.0", text=None, name=None, pre=None, duration_s=2.0)
    with pytest.raises(PackageError, match="at least one postcondition"):
        build_manifest(spec, humanoid, post=None, **kwargs)  # no recorded skill: no conditions to inherit
    manifest, _ = build_manifest(spec, humanoid, post=[parse_predicate("at_home()")], **kwargs)
    assert [str(p) for p in manifest.postconditions] == ["at_home()"]
