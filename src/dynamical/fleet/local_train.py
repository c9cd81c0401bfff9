"""One robot's local round: DP-SGD (Opacus, RDP accountant) on the expert, base frozen.

The base's features are computed once (the base is fixed and data-independent, so this is
post-processing of nothing private); Opacus then clips each example's gradient to C, adds
N(0, (z·C)²) noise per batch (Poisson sampling at rate q = batch / n) and accounts the steps in
the robot's ledger. The update sent is the expert's parameter change.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
from opacus import PrivacyEngine
from pydantic import BaseModel, ConfigDict
from torch.utils.data import DataLoader, TensorDataset

from dynamical.fleet.config import FleetConfig
from dynamical.fleet.demonstrations import Demonstrations
from dynamical.fleet.model import FleetPolicy
from dynamical.fleet.privacy import PrivacyLedger, Spend
from dynamical.fleet.threads import single_thread


class LocalResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    examples: int
    steps: int
    loss: float
    epsilon: float
    """The robot's ε at the ledger's δ after this round (0 without DP)."""


def planned_spend(examples: int, config: FleetConfig) -> Spend:
    q = min(1.0, config.batch_size / examples)
    return Spend(noise_multiplier=config.noise_multiplier, sample_rate=q, steps=max(1, round(config.local_epochs / q)))


def train_round(
    policy: FleetPolicy, demos: Demonstrations, config: FleetConfig, ledger: PrivacyLedger | None, seed: int
) -> tuple[np.ndarray, LocalResult]:
    """Fine-tune ``policy.expert`` in place; returns ((d,) float32 update, result)."""
    with single_thread(), warnings.catch_warnings():
        # Opacus warns that its RNG is not the secure one (see README's threat model) and that the
        # expert's inputs need no gradient (the base is frozen): both expected here.
        warnings.simplefilter("ignore", UserWarning)
        return _train_round(policy, demos, config, ledger, seed)


def _train_round(
    policy: FleetPolicy, demos: Demonstrations, config: FleetConfig, ledger: PrivacyLedger | None, seed: int
) -> tuple[np.ndarray, LocalResult]:
    torch.manual_seed(seed)
    before = policy.expert_vector()
    with torch.no_grad():
        feats = policy.features(torch.as_tensor(demos.obs))
        target = (torch.as_tensor(demos.action) - policy.act_mean) / policy.act_std
    data = TensorDataset(feats, target)
    expert = copy.deepcopy(policy.expert)
    optimizer = torch.optim.SGD(expert.parameters(), lr=config.lr, momentum=0.9)
    loader = DataLoader(data, batch_size=config.batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))
    epsilon = 0.0
    if config.private:
        if ledger is None:
            raise ValueError("a private round needs the robot's ledger")
        ledger.check_round(planned_spend(len(demos), config))
        engine = PrivacyEngine(accountant="rdp", secure_mode=False)
        engine.accountant.history = [(s.noise_multiplier, s.sample_rate, s.steps) for s in ledger.state.history]
        expert, optimizer, loader = engine.make_private(
            module=expert,
            optimizer=optimizer,
            data_loader=loader,
            noise_multiplier=config.noise_multiplier,
            max_grad_norm=config.clip_norm,
            poisson_sampling=True,
        )
    steps, total = 0, 0.0
    for _ in range(config.local_epochs):
        for x, y in loader:
            if x.shape[0] == 0:
                continue  # Poisson sampling can draw an empty batch
            loss = torch.mean((expert(x) - y) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps += 1
            total += float(loss)
    if config.private:
        assert ledger is not None
        ledger.record(list(engine.accountant.history))
        epsilon = ledger.epsilon
        state = {k.removeprefix("_module."): v for k, v in expert.state_dict().items()}
    else:
        state = expert.state_dict()
    policy.expert.load_state_dict(state)
    update = policy.expert_vector() - before
    return update, LocalResult(examples=len(demos), steps=steps, loss=total / max(steps, 1), epsilon=epsilon)
