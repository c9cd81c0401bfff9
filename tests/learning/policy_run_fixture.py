"""A tiny training run in the run layout, for the policy export and packaging tests.

Run in the learning environment (it imports lerobot)::

    .venv-learn/bin/python tests/learning/policy_run_fixture.py SPEC.json DATASET RUN

SPEC.json (written by the runtime-side test from the robot and world it runs): ``robot``,
``joint_names`` (n), ``home`` (n,) rad, ``object_names`` (k), ``object_poses`` (k, 7). The
dataset is a LeRobotDataset v3 written with LeRobot's own writer (state + environment state +
action, the recorder's features and sidecar): the robot near its rest pose with small motions,
so a policy whose action statistics come from it commands targets near rest. The run is an ACT
(dim 32, one layer, chunk 10) with LeRobot's processors built from the dataset's statistics,
saved as ``dynamical train`` saves one: ``RUN/checkpoints/000001/pretrained_model`` (config,
weights, processors, train_config.json naming the dataset), ``checkpoints/last`` and ``run.json``.
Its weights are the initial ones: the tests check export and execution, not what was learned.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[2] / "src"
sys.path.insert(0, str(SRC))

from dynamical.learning import protocol  # noqa: E402

FPS = 30
CHUNK = 10


def write_dataset(spec: dict, out: Path, episodes: int, frames: int, seed: int) -> None:
    from lerobot.datasets import LeRobotDataset

    joints = list(spec["joint_names"])
    objects = list(spec["object_names"])
    home = np.asarray(spec["home"], dtype=float)
    poses = np.asarray(spec["object_poses"], dtype=float).reshape(len(objects), 7)
    n = len(joints)
    features = {
        protocol.STATE: {
            "dtype": "float32",
            "shape": (2 * n,),
            "names": [f"{j}.pos" for j in joints] + [f"{j}.vel" for j in joints],
        },
        protocol.ENVIRONMENT_STATE: {
            "dtype": "float32",
            "shape": (7 * len(objects),),
            "names": [f"{o}.{c}" for o in objects for c in ("x", "y", "z", "qw", "qx", "qy", "qz")],
        },
        protocol.ACTION: {"dtype": "float32", "shape": (n,), "names": joints},
    }
    dataset = LeRobotDataset.create("local/policy_fixture", FPS, features=features, root=out, use_videos=False)
    rng = np.random.default_rng(seed)
    for _ in range(episodes):
        q = home + rng.normal(0.0, 0.01, n)
        env = poses.copy()
        env[:, :2] += rng.uniform(-0.03, 0.03, (len(objects), 2))
        for _ in range(frames):
            target = home + rng.normal(0.0, 0.01, n)
            dq = (target - q) * FPS * 0.2
            dataset.add_frame(
                {
                    protocol.STATE: np.concatenate([q, dq]).astype(np.float32),
                    protocol.ENVIRONMENT_STATE: env.reshape(-1).astype(np.float32),
                    protocol.ACTION: target.astype(np.float32),
                    protocol.TASK: "hold still",
                }
            )
            q = q + 0.2 * (target - q)
        dataset.save_episode()
    dataset.finalize()
    sidecar = {
        "format": protocol.SIDECAR_FORMAT,
        "robot": spec["robot"],
        "skill": "go_home",
        "params": {},
        "fps": FPS,
        "joint_names": joints,
        "object_names": objects,
        "cameras": [],
        "randomization": {},
        "episodes": [{"index": i, "seed": seed + i, "success": True, "frames": frames} for i in range(episodes)],
    }
    (out / protocol.DATASET_SIDECAR).write_text(json.dumps(sidecar, indent=2))


def write_run(dataset_root: Path, run: Path, size: str = "tiny") -> None:
    """``size``: tiny (the tests'), cpu (``dynamical train``'s default ACT) or lerobot (LeRobot's
    own ACT defaults: dim 512, 4 + 1 layers, chunk 100), the last two for measurements."""
    import torch
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.datasets import LeRobotDataset
    from lerobot.policies.act.configuration_act import ACTConfig
    from lerobot.policies.act.modeling_act import ACTPolicy
    from lerobot.policies.factory import make_pre_post_processors

    torch.manual_seed(0)
    meta = LeRobotDataset(f"local/{dataset_root.name}", root=dataset_root).meta
    features = meta.features
    config = ACTConfig(
        input_features={
            protocol.STATE: PolicyFeature(type=FeatureType.STATE, shape=tuple(features[protocol.STATE]["shape"])),
            protocol.ENVIRONMENT_STATE: PolicyFeature(
                type=FeatureType.ENV, shape=tuple(features[protocol.ENVIRONMENT_STATE]["shape"])
            ),
        },
        output_features={
            protocol.ACTION: PolicyFeature(type=FeatureType.ACTION, shape=tuple(features[protocol.ACTION]["shape"]))
        },
        pretrained_backbone_weights=None,
        device="cpu",
        push_to_hub=False,
    )
    if size == "tiny":
        config.dim_model, config.dim_feedforward, config.n_heads = 32, 64, 2
        config.n_encoder_layers = config.n_decoder_layers = config.n_vae_encoder_layers = 1
        config.latent_dim, config.chunk_size, config.n_action_steps = 8, CHUNK, CHUNK
    elif size == "cpu":
        from dynamical.learning.lerobot_side.train import ACT_CPU_DIM_MODEL, ACT_CPU_LAYERS

        config.dim_model, config.dim_feedforward = ACT_CPU_DIM_MODEL, 4 * ACT_CPU_DIM_MODEL
        config.n_heads = max(1, min(8, ACT_CPU_DIM_MODEL // 16))
        config.n_encoder_layers = config.n_vae_encoder_layers = ACT_CPU_LAYERS
    policy = ACTPolicy(config)
    pre, post = make_pre_post_processors(config, dataset_stats=meta.stats)
    model_dir = run / "checkpoints" / "000001" / "pretrained_model"
    model_dir.mkdir(parents=True)
    policy.save_pretrained(model_dir)
    pre.save_pretrained(model_dir)
    post.save_pretrained(model_dir)
    (model_dir / "train_config.json").write_text(json.dumps({"dataset": {"root": str(dataset_root)}}))
    (run / "checkpoints" / "last").symlink_to("000001")
    run_json = {"id": "fixture-run", "dataset": str(dataset_root), "policy": "act", "status": "completed"}
    (run / protocol.RUN_JSON).write_text(json.dumps(run_json))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("spec", type=Path)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("run", type=Path)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", choices=("tiny", "cpu", "lerobot"), default="tiny", help="the ACT's size")
    args = parser.parse_args()
    write_dataset(json.loads(args.spec.read_text()), args.dataset, args.episodes, args.frames, args.seed)
    write_run(args.dataset, args.run, args.size)
