"""The fleet's policy: a frozen base shared by every robot and a small trainable skill expert.

``base`` maps a normalized observation to 256 features; it is trained once, centrally, on the
platform's seed demonstrations (``pretrain``) and then frozen: every robot holds the same bytes
(``base_digest``). The ``expert`` (a two-layer head, ≤ 1 M parameters) maps those features to the
normalized action; it is what robots fine-tune and what the fleet averages. Its width is chosen so
that its flat parameter vector plus the count slot nearly fills whole BFV ciphertexts (8192 slots
each): padding would be paid for in bytes on every update.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from dynamical.fleet.bfv import POLY_DEGREE
from dynamical.fleet.demonstrations import Demonstrations
from dynamical.fleet.threads import single_thread

FEATURES = 256
MAX_EXPERT_PARAMS = 1_000_000


class ModelSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    obs_dim: int = Field(gt=0, le=4096)
    act_dim: int = Field(gt=0, le=1024)
    expert_hidden: int = Field(gt=0, le=2048)


def expert_params(features: int, hidden: int, act_dim: int) -> int:
    return features * hidden + hidden + hidden * act_dim + act_dim


def choose_hidden(act_dim: int, low: int = 64, high: int = 512) -> int:
    """The expert width whose parameters (+ 1 count slot) fill BFV ciphertexts best, widest on ties."""
    best, best_fill = low, 0.0
    for hidden in range(low, high + 1):
        d = expert_params(FEATURES, hidden, act_dim) + 1
        if d - 1 > MAX_EXPERT_PARAMS:
            break
        fill = d / (-(-d // POLY_DEGREE) * POLY_DEGREE)
        if fill >= best_fill - 1e-9:
            best, best_fill = hidden, fill
    return best


class FleetPolicy(nn.Module):
    """obs (B, obs_dim) float32 → action (B, act_dim) float32, normalization inside."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        self.register_buffer("obs_mean", torch.zeros(spec.obs_dim))
        self.register_buffer("obs_std", torch.ones(spec.obs_dim))
        self.register_buffer("act_mean", torch.zeros(spec.act_dim))
        self.register_buffer("act_std", torch.ones(spec.act_dim))
        self.base = nn.Sequential(
            nn.Linear(spec.obs_dim, FEATURES), nn.Tanh(), nn.Linear(FEATURES, FEATURES), nn.Tanh()
        )
        self.expert = nn.Sequential(
            nn.Linear(FEATURES, spec.expert_hidden), nn.Tanh(), nn.Linear(spec.expert_hidden, spec.act_dim)
        )

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        return self.base((obs - self.obs_mean) / self.obs_std)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.expert(self.features(obs)) * self.act_std + self.act_mean

    def freeze_base(self) -> None:
        for p in self.base.parameters():
            p.requires_grad_(False)

    def base_digest(self) -> str:
        h = hashlib.sha256()
        for name, tensor in sorted(
            {
                **dict(self.base.state_dict()),
                "obs_mean": self.obs_mean,
                "obs_std": self.obs_std,
                "act_mean": self.act_mean,
                "act_std": self.act_std,
            }.items()
        ):
            h.update(name.encode())
            h.update(tensor.detach().cpu().numpy().astype(np.float32).tobytes())
        return h.hexdigest()[:16]

    def expert_vector(self) -> np.ndarray:
        """(d,) float32: the expert's parameters, flat, in ``named_parameters`` order."""
        return torch.nn.utils.parameters_to_vector(self.expert.parameters()).detach().cpu().numpy().copy()

    def set_expert_vector(self, vec: np.ndarray) -> None:
        v = torch.as_tensor(np.asarray(vec, dtype=np.float32))
        if v.numel() != self.expert_size:
            raise ValueError(f"expert vector of {v.numel()} values, the expert has {self.expert_size}")
        torch.nn.utils.vector_to_parameters(v, self.expert.parameters())

    @property
    def expert_size(self) -> int:
        return sum(p.numel() for p in self.expert.parameters())

    def predict(self, obs: np.ndarray) -> np.ndarray:
        """obs: (N, obs_dim) → (N, act_dim) float32."""
        with torch.no_grad():
            return self(torch.as_tensor(obs, dtype=torch.float32)).numpy()


def new_policy(demos: Demonstrations, seed: int) -> FleetPolicy:
    torch.manual_seed(seed)
    spec = ModelSpec(obs_dim=demos.obs_dim, act_dim=demos.act_dim, expert_hidden=choose_hidden(demos.act_dim))
    policy = FleetPolicy(spec)
    policy.obs_mean.copy_(torch.as_tensor(demos.obs.mean(0)))
    policy.obs_std.copy_(torch.as_tensor(np.maximum(demos.obs.std(0), 1e-3)))
    policy.act_mean.copy_(torch.as_tensor(demos.action.mean(0)))
    policy.act_std.copy_(torch.as_tensor(np.maximum(demos.action.std(0), 1e-3)))
    return policy


def pretrain(demos: Demonstrations, seed: int = 0, epochs: int = 30, batch: int = 64, lr: float = 1e-3) -> FleetPolicy:
    """The base (and a first expert) trained centrally on the platform's seed data, base frozen after."""
    policy = new_policy(demos, seed)
    fit(policy, demos, epochs=epochs, batch=batch, lr=lr, seed=seed, params=list(policy.parameters()))
    policy.freeze_base()
    return policy


def fit(
    policy: FleetPolicy,
    demos: Demonstrations,
    epochs: int,
    batch: int,
    lr: float,
    seed: int,
    params: list[nn.Parameter] | None = None,
) -> None:
    """Plain (non-private) Adam on the normalized-action MSE: centralized baselines and pretraining."""
    with single_thread():
        _fit(policy, demos, epochs, batch, lr, seed, params)


def _fit(
    policy: FleetPolicy,
    demos: Demonstrations,
    epochs: int,
    batch: int,
    lr: float,
    seed: int,
    params: list[nn.Parameter] | None,
) -> None:
    gen = torch.Generator().manual_seed(seed)
    obs = torch.as_tensor(demos.obs)
    target = (torch.as_tensor(demos.action) - policy.act_mean) / policy.act_std
    opt = torch.optim.Adam(params if params is not None else list(policy.expert.parameters()), lr=lr)
    for _ in range(epochs):
        order = torch.randperm(len(demos), generator=gen)
        for start in range(0, len(demos), batch):
            idx = order[start : start + batch]
            loss = torch.mean((policy.expert(policy.features(obs[idx])) - target[idx]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()


class Evaluation(BaseModel):
    model_config = ConfigDict(frozen=True)

    frames: int
    mse: float
    """Mean squared action error (rad²) on held-out frames."""
    accuracy: float
    """Fraction of held-out frames whose every joint target is within ``tolerance`` rad."""
    tolerance: float


def evaluate(policy: FleetPolicy, demos: Demonstrations, tolerance: float = 0.05) -> Evaluation:
    err = policy.predict(demos.obs) - demos.action
    ok = np.all(np.abs(err) <= tolerance, axis=1)
    return Evaluation(frames=len(demos), mse=float(np.mean(err**2)), accuracy=float(ok.mean()), tolerance=tolerance)
