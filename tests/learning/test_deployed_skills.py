"""A robot's side of deployment, without a server: its skill keys open artifacts but cannot sign
them, and its skill cache takes only artifacts it verified and can run.

(The whole path — package, upload, deploy over the agent link, invoke by id and by words on a
lock-step agent — is ``test_package_policy.py::test_deployed_policy_runs_on_the_robot``.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dynamical.agent.learned_catalog import DeployedSkills, DeployRefusedError
from dynamical.agent.skill_keys import SkillKeys
from dynamical.skills.artifact import build_artifact, open_artifact
from dynamical.skills.builtin.catalog import EMBODIMENT
from dynamical.skills.errors import KeyringError, KeyringPermissionError
from dynamical.skills.keyring import Keyring
from dynamical.skills.manifest import ActionSpace, SkillManifest
from dynamical.skills.policy_spec import ONNX_PATH, SPEC_PATH
from dynamical.skills.runner import builtin_catalog
from tests.learning.test_policy_runtime import _spec


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return Keyring.create(tmp_path / "keyring.json")


def _policy(**changes) -> SkillManifest:
    fields = {
        "id": "learned_wave",
        "version": "1.0.0",
        "name": "Learned wave",
        "kind": "policy",
        "embodiment": EMBODIMENT,
        "action_space": ActionSpace(type="joint_positions", groups=["arm_right"]),
        "nominal_duration_s": 2.0,
        "policy_format": "onnx",
    }
    return SkillManifest(**{**fields, **changes})


def _policy_files() -> dict[str, bytes]:
    # policy.json is valid; the graph is not one onnxruntime loads.
    return {ONNX_PATH: b"not an onnx graph", SPEC_PATH: json.dumps(_spec()).encode()}


def test_skill_keys_open_artifacts_and_hold_no_signing_key(keyring: Keyring, tmp_path: Path) -> None:
    keyring.rotate()  # artifacts made with the rotated-out keys still open
    old_blob = build_artifact(builtin_catalog()["wave"], {}, keyring)
    path = SkillKeys.from_keyring(keyring).save(tmp_path / "robot" / "skill-keys.json")
    assert os.stat(path).st_mode & 0o777 == 0o600
    keys = SkillKeys.load(path)
    assert open_artifact(old_blob, keys).manifest.id == "wave"  # type: ignore[arg-type]
    assert [len(ids) for ids in keys.key_ids] == [2, 2]
    stored = json.loads(keyring.path.read_text())
    robot_file = path.read_text()
    for record in stored["signing_keys"]:
        assert record["secret"] not in robot_file  # the private seeds never leave the server
    os.chmod(path, 0o644)
    with pytest.raises(KeyringPermissionError, match="chmod 600"):
        SkillKeys.load(path)
    with pytest.raises(KeyringError, match="no skill keys"):
        SkillKeys.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text('{"format": 1}')
    os.chmod(tmp_path / "bad.json", 0o600)
    with pytest.raises(KeyringError, match="not a skill keys file"):
        SkillKeys.load(tmp_path / "bad.json")


def test_the_cache_takes_only_what_it_verified_and_can_run(keyring: Keyring, tmp_path: Path) -> None:
    skills = DeployedSkills(tmp_path / "cache", SkillKeys.from_keyring(keyring), EMBODIMENT)
    wave = build_artifact(builtin_catalog()["wave"], {}, keyring)
    # A built-in skill's artifact is verified and kept; its code is the runtime's own.
    assert "built-in" in skills.install("wave", builtin_catalog()["wave"].version, wave)
    assert skills.learned == [] and skills.catalog["wave"] == builtin_catalog()["wave"]

    def refused(skill_id: str, version: str, blob: bytes, why: str) -> None:
        with pytest.raises(DeployRefusedError, match=why):
            skills.install(skill_id, version, blob)
        assert skill_id not in [m.id for m in skills.learned]
        assert not (tmp_path / "cache" / "skills" / skill_id / f"{version}.dskill").exists()

    refused("learned_wave", "1.0.0", wave, "the artifact is wave@")
    other = Keyring.create(tmp_path / "other.json")
    refused("learned_wave", "1.0.0", build_artifact(_policy(), _policy_files(), other), "does not hold")
    foreign = build_artifact(_policy(embodiment="another-robot"), _policy_files(), keyring)
    refused("learned_wave", "1.0.0", foreign, "made for 'another-robot'")
    shadow = build_artifact(_policy(id="wave", version="9.0.0"), _policy_files(), keyring)
    refused("wave", "9.0.0", shadow, "built-in skill's id")
    weights_only = build_artifact(
        _policy(policy_format=None, weights=["w"]),
        {"weights/w.safetensors": _safetensors()},
        keyring,
    )
    refused("learned_wave", "1.0.0", weights_only, "runs ONNX policies")
    refused("learned_wave", "1.0.0", build_artifact(_policy(), _policy_files(), keyring), "does not load")
    refused("../etc", "1.0.0", wave, "not a skill id")


def _safetensors() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    return len(header).to_bytes(8, "little") + header + b"\x00\x00\x80\x3f"
