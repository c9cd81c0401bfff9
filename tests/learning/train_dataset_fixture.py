"""A tiny LeRobotDataset v3 written with LeRobot's own writer, for the training tests.

Run in the learning environment (it imports lerobot)::

    .venv-learn/bin/python tests/learning/train_dataset_fixture.py OUT [--episodes 3] [--frames 40]

The features are the recorder's (``dynamical.learning.protocol``): ``observation.state`` (joint
positions then velocities), ``observation.environment_state`` (one object's position + quaternion),
``action`` (joint targets). A reaching motion: each episode moves the joints from a random start
towards a random object, so the action is a function of the observation a policy can learn.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[2] / "src"
sys.path.insert(0, str(SRC))

from dynamical.learning import protocol  # noqa: E402

JOINTS = ("shoulder", "elbow", "wrist", "gripper")


def write(out: Path, episodes: int, frames: int, fps: int, seed: int) -> None:
    from lerobot.datasets import LeRobotDataset

    n = len(JOINTS)
    features = {
        protocol.STATE: {
            "dtype": "float32",
            "shape": (2 * n,),
            "names": [f"{j}.pos" for j in JOINTS] + [f"{j}.vel" for j in JOINTS],
        },
        protocol.ENVIRONMENT_STATE: {
            "dtype": "float32",
            "shape": (7,),
            "names": ["cube.x", "cube.y", "cube.z", "cube.qw", "cube.qx", "cube.qy", "cube.qz"],
        },
        protocol.ACTION: {"dtype": "float32", "shape": (n,), "names": list(JOINTS)},
    }
    dataset = LeRobotDataset.create("local/tiny", fps, features=features, root=out, use_videos=False)
    rng = np.random.default_rng(seed)
    for _ in range(episodes):
        q = rng.uniform(-0.5, 0.5, n)
        cube = np.array([rng.uniform(0.3, 0.5), rng.uniform(-0.2, 0.2), 0.8, 1.0, 0.0, 0.0, 0.0])
        goal = np.concatenate([cube[:2], [cube[2] - 0.8, 0.0]])
        dq = np.zeros(n)
        for _ in range(frames):
            target = q + 0.2 * (goal - q)
            dq = (target - q) * fps
            dataset.add_frame(
                {
                    protocol.STATE: np.concatenate([q, dq]).astype(np.float32),
                    protocol.ENVIRONMENT_STATE: cube.astype(np.float32),
                    protocol.ACTION: target.astype(np.float32),
                    protocol.TASK: "reach the cube",
                }
            )
            q = target
        dataset.save_episode()
    dataset.finalize()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--fps", type=int, default=protocol.DEFAULT_FPS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write(args.out, args.episodes, args.frames, args.fps, args.seed)
