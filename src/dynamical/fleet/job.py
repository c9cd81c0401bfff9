"""A fleet-learning job on disk: what the launcher (runtime env) hands the Flower apps (fleet env).

Files only, no pickles: ``job.json`` (this model), ``policy.npz`` + ``policy.json`` (the pretrained
policy: frozen base + initial expert, as arrays and its ``ModelSpec``), and per robot a directory
with its demonstrations (``demos.npz``), its X25519 private key, the fleet key sealed to it, its
privacy ledger and its copy of the global expert. The Flower apps append ``rounds.jsonl``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from dynamical.fleet.bfv import BfvSecret
from dynamical.fleet.config import FleetConfig
from dynamical.fleet.demonstrations import Demonstrations
from dynamical.fleet.keys import RobotKeyPair, SealedKey
from dynamical.fleet.model import FleetPolicy, ModelSpec
from dynamical.fleet.robot import FleetRobot


class RobotSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    robot_id: str
    dir: str


class FleetJob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: Path
    config: FleetConfig
    rounds: int = Field(ge=1)
    key_id: str
    values: int
    min_participants: int = 2
    round_timeout_s: float = 3600.0
    seed: int = 0
    robots: list[RobotSpec]

    @classmethod
    def load(cls, root: Path) -> FleetJob:
        return cls.model_validate_json((root / "job.json").read_text())

    def save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "job.json").write_text(self.model_dump_json(indent=1))

    def append_round(self, entry: dict) -> None:  # type: ignore[type-arg]
        with (self.root / "rounds.jsonl").open("a") as f:
            f.write(json.dumps(entry) + "\n")

    def rounds_done(self) -> list[dict]:  # type: ignore[type-arg]
        path = self.root / "rounds.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def save_policy(policy: FleetPolicy, root: Path) -> None:
    np.savez(root / "policy.npz", **{k: v.detach().cpu().numpy() for k, v in policy.state_dict().items()})
    (root / "policy.json").write_text(policy.spec.model_dump_json())


def load_policy(root: Path) -> FleetPolicy:
    policy = FleetPolicy(ModelSpec.model_validate_json((root / "policy.json").read_text()))
    with np.load(root / "policy.npz", allow_pickle=False) as arrays:
        policy.load_state_dict({k: torch.as_tensor(arrays[k]) for k in arrays.files})
    policy.freeze_base()
    return policy


def save_demos(demos: Demonstrations, path: Path) -> None:
    np.savez(path, obs=demos.obs, action=demos.action, episode=demos.episode)


def load_demos(path: Path) -> Demonstrations:
    with np.load(path, allow_pickle=False) as arrays:
        return Demonstrations(arrays["obs"], arrays["action"], arrays["episode"])


def save_expert(path: Path, expert: np.ndarray) -> None:
    np.save(path, np.asarray(expert, dtype=np.float32), allow_pickle=False)


@dataclass
class RobotRuntime:
    fleet: FleetRobot
    expert_path: Path
    initial: np.ndarray

    def global_expert(self) -> np.ndarray:
        return np.load(self.expert_path, allow_pickle=False) if self.expert_path.exists() else self.initial


def load_robot(job: FleetJob, partition: int) -> RobotRuntime:
    """The robot of one SuperNode, from its own directory (its key opened with its own private key)."""
    spec = job.robots[partition]
    home = Path(spec.dir)
    policy = load_policy(job.root)
    secret = None
    if job.config.aggregation == "bfv":
        pair = RobotKeyPair.load_or_create(home / "identity.key")
        sealed = SealedKey.model_validate_json((home / "sealed_key.json").read_text())
        secret = BfvSecret(pair.open(sealed, spec.robot_id))
    robot = FleetRobot(
        spec.robot_id,
        policy,
        load_demos(home / "demos.npz"),
        job.config,
        secret,
        home / "privacy.json",
        seed=job.seed + partition,
    )
    return RobotRuntime(fleet=robot, expert_path=home / "global_expert.npy", initial=policy.expert_vector())
