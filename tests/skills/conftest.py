import json
import struct
from pathlib import Path
from typing import Any

import pytest

from dynamical.skills import Keyring, SkillManifest


def safetensors_bytes(values: list[float], name: str = "w") -> bytes:
    """A real safetensors file holding one float32 vector, written by hand."""
    data = struct.pack(f"<{len(values)}f", *values)
    header = json.dumps({name: {"dtype": "F32", "shape": [len(values)], "data_offsets": [0, len(data)]}}).encode()
    return struct.pack("<Q", len(header)) + header + data


def manifest_dict(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "pick_cube",
        "version": "1.0.0",
        "name": "Pick a cube",
        "description": "Grasp a cube on the table and lift it.",
        "tags": ["manipulation"],
        "kind": "scripted",
        "embodiment": "dynamical-humanoid",
        "action_space": {"type": "joint_positions", "groups": ["arm_right", "hand_right"]},
        "observations": ["joint_state", "head_rgb"],
        "parameters_schema": {
            "type": "object",
            "properties": {
                "object": {"type": "string"},
                "side": {"type": "string", "enum": ["left", "right"], "default": "right"},
                "lift_m": {"type": "number", "minimum": 0, "maximum": 0.3},
            },
            "required": ["object"],
        },
        "preconditions": [
            {"name": "hand_empty", "args": {"side": "$side"}},
            {"name": "reachable", "args": {"obj": "$object"}},
        ],
        "postconditions": [{"name": "holding", "args": {"obj": "$object", "side": "$side"}}],
        "nominal_duration_s": 6.0,
        "entry_point": "dynamical.skills.builtin.pick:run",
    }
    base.update(overrides)
    return base


def scripted_manifest(**overrides: Any) -> SkillManifest:
    return SkillManifest.model_validate(manifest_dict(**overrides))


def policy_manifest(**overrides: Any) -> SkillManifest:
    fields: dict[str, Any] = {"kind": "policy", "entry_point": None, "weights": ["policy"]}
    fields.update(overrides)
    return SkillManifest.model_validate(manifest_dict(**fields))


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return Keyring.create(tmp_path / "keyring.json")
