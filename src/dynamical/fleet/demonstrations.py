"""A robot's local demonstrations as (observation, action) pairs for fine-tuning the expert.

Read from LeRobot v3 datasets written by ``learning.recorder`` (``learning.datasets.frames``, no
LeRobot import): the observation is ``observation.state`` then ``observation.environment_state``
(``learning.features`` defines both), the target is ``action``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dynamical.fleet.errors import FleetError
from dynamical.learning import datasets, protocol


@dataclass(frozen=True)
class Demonstrations:
    """obs: (N, d_obs) float32; action: (N, d_act) float32; episode: (N,) int64 episode index."""

    obs: np.ndarray
    action: np.ndarray
    episode: np.ndarray

    def __post_init__(self) -> None:
        if self.obs.ndim != 2 or self.action.ndim != 2 or self.episode.ndim != 1:
            raise FleetError("demonstrations are (N, d_obs), (N, d_act), (N,) arrays")
        if not self.obs.shape[0] == self.action.shape[0] == self.episode.shape[0]:
            raise FleetError("observation, action and episode arrays differ in length")
        if not (np.all(np.isfinite(self.obs)) and np.all(np.isfinite(self.action))):
            raise FleetError("demonstrations hold NaN or infinite values")

    def __len__(self) -> int:
        return int(self.obs.shape[0])

    @property
    def obs_dim(self) -> int:
        return int(self.obs.shape[1])

    @property
    def act_dim(self) -> int:
        return int(self.action.shape[1])

    def split(self, holdout: float, seed: int) -> tuple[Demonstrations, Demonstrations]:
        """Split by whole episodes (frames of one episode are correlated): (train, held out)."""
        ids = np.unique(self.episode)
        rng = np.random.default_rng(seed)
        rng.shuffle(ids)
        n_out = max(1, round(holdout * ids.size)) if ids.size > 1 else 0
        out = np.isin(self.episode, ids[:n_out])
        return self.take(~out), self.take(out)

    def take(self, mask: np.ndarray) -> Demonstrations:
        return Demonstrations(self.obs[mask], self.action[mask], self.episode[mask])

    @staticmethod
    def concat(parts: list[Demonstrations]) -> Demonstrations:
        offset = 0
        episodes = []
        for part in parts:
            episodes.append(part.episode + offset)
            offset += int(part.episode.max(initial=-1)) + 1
        return Demonstrations(
            np.concatenate([p.obs for p in parts]),
            np.concatenate([p.action for p in parts]),
            np.concatenate(episodes),
        )


def load_dataset(path: Path) -> Demonstrations:
    """All episodes of one recorded LeRobot v3 dataset directory."""
    try:
        episodes = datasets.episodes(path)
    except (datasets.DatasetError, OSError) as exc:
        raise FleetError(f"cannot read demonstrations from {path}: {exc}") from exc
    obs, act, ep = [], [], []
    for summary in episodes:
        frames = datasets.frames(path, summary.episode_index)
        if protocol.ACTION not in frames or protocol.STATE not in frames:
            raise FleetError(f"{path} has no {protocol.STATE!r} and {protocol.ACTION!r} features")
        parts = [frames[protocol.STATE]]
        if protocol.ENVIRONMENT_STATE in frames:
            parts.append(frames[protocol.ENVIRONMENT_STATE])
        obs.append(np.concatenate(parts, axis=1))
        act.append(frames[protocol.ACTION])
        ep.append(np.full(frames[protocol.ACTION].shape[0], summary.episode_index, dtype=np.int64))
    if not obs:
        raise FleetError(f"{path} has no episodes")
    return Demonstrations(
        np.concatenate(obs).astype(np.float32), np.concatenate(act).astype(np.float32), np.concatenate(ep)
    )
