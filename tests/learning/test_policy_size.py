"""The ACT that ``dynamical train`` builds unless told otherwise is a CPU control policy: its
exported graph fits the server's default skill upload, with room to spare.

The policy is built in the learning environment with the worker's own configuration
(``lerobot_side/train.py``) on the default humanoid's features; what the ONNX export carries is
its inference path (the VAE encoder only trains), 4 bytes a parameter.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from dynamical.api.settings import DEFAULT_MAX_ARTIFACT_BYTES
from dynamical.learning.env import worker_env
from dynamical.learning.features import layout_for
from dynamical.robot import RobotDescription, WorldSpec
from tests.learning.train_support import require_learn_env

pytestmark = pytest.mark.slow

BUILD = """
import json, sys
from lerobot.configs.types import FeatureType, PolicyFeature
from lerobot.policies.act.modeling_act import ACTPolicy
from dynamical.learning.lerobot_side.train import _policy_config, parse_args

state, env, action = json.loads(sys.argv[1])
config = _policy_config(parse_args(["--dataset", "unused", "--out", "unused"]))
config.input_features = {
    "observation.state": PolicyFeature(type=FeatureType.STATE, shape=(state,)),
    "observation.environment_state": PolicyFeature(type=FeatureType.ENV, shape=(env,)),
}
config.output_features = {"action": PolicyFeature(type=FeatureType.ACTION, shape=(action,))}
policy = ACTPolicy(config)
inference = sum(p.numel() for name, p in policy.named_parameters() if "vae_encoder" not in name)
print(json.dumps({"dim_model": config.dim_model, "layers": config.n_encoder_layers, "inference_parameters": inference}))
"""


def test_the_default_act_fits_the_upload_limit() -> None:
    python = require_learn_env()
    description = RobotDescription.load("humanoid")
    layout = layout_for(description, list(WorldSpec.load("tabletop").objects))
    n, k = len(layout.joint_names), len(layout.object_names)
    done = subprocess.run(
        [str(python), "-c", BUILD, json.dumps([2 * n, 7 * k, n])],
        env=worker_env("normal"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    built = json.loads(done.stdout.strip().splitlines()[-1])
    assert (built["dim_model"], built["layers"]) == (256, 2)
    graph_bytes = 4 * built["inference_parameters"]
    # Half the limit: the artifact adds its policy.json and encryption, and a few more inputs
    # (another robot, more objects) must not push a default policy over.
    assert 1_000_000 < graph_bytes < DEFAULT_MAX_ARTIFACT_BYTES / 2, built
