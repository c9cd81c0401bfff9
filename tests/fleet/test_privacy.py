"""The per-robot ε ledger: Opacus's RDP accountant, persisted, and a budget that is kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from opacus.accountants import RDPAccountant

from dynamical.fleet.config import FleetConfig
from dynamical.fleet.errors import BudgetExhaustedError, FleetError
from dynamical.fleet.local_train import planned_spend, train_round
from dynamical.fleet.model import new_policy
from dynamical.fleet.privacy import PrivacyLedger, Spend, epsilon_of
from dynamical.fleet.robot import Declined, FleetRobot
from tests.fleet.sites import site


def test_ledger_matches_opacus_and_survives_a_restart(tmp_path: Path) -> None:
    config = FleetConfig(batch_size=64)
    spend = planned_spend(512, config)
    assert spend == Spend(noise_multiplier=1.0, sample_rate=0.125, steps=8)
    ledger = PrivacyLedger.open(tmp_path / "p.json", "r1", budget=100, delta=1e-5)
    for _ in range(10):
        ledger.record([(s.noise_multiplier, s.sample_rate, s.steps) for s in [*ledger.state.history, spend]])
    reference = RDPAccountant()
    for _ in range(10):
        reference.step(noise_multiplier=1.0, sample_rate=0.125)
        for _ in range(7):
            reference.step(noise_multiplier=1.0, sample_rate=0.125)
    assert ledger.epsilon == pytest.approx(reference.get_epsilon(1e-5), rel=1e-9)
    reopened = PrivacyLedger.open(tmp_path / "p.json", "r1", budget=100, delta=1e-5)
    assert reopened.epsilon == pytest.approx(ledger.epsilon) and reopened.state.rounds == 10
    # FIELD_NOTES: 512 demos, batch 64, z = 1, C = 1, one epoch a round: ε 3.79 after one, 8.90 after ten.
    assert epsilon_of([spend], 1e-5) == pytest.approx(3.79, abs=0.02)
    assert ledger.epsilon == pytest.approx(8.90, abs=0.02)
    with pytest.raises(FleetError, match="belongs to"):
        PrivacyLedger.open(tmp_path / "p.json", "r2", budget=100, delta=1e-5)
    # A budget cannot be raised by reopening with a larger one.
    lowered = PrivacyLedger.open(tmp_path / "p.json", "r1", budget=5, delta=1e-5)
    lowered.save()
    assert PrivacyLedger.open(lowered.path, "r1", budget=50, delta=1e-5).state.budget == 5


def test_a_dp_round_spends_what_it_planned(tmp_path: Path) -> None:
    demos = site(0, 8, 0.0)
    policy = new_policy(demos, seed=0)
    policy.freeze_base()
    config = FleetConfig(batch_size=40)
    ledger = PrivacyLedger.open(tmp_path / "p.json", "r1", budget=8, delta=1e-5)
    update, result = train_round(policy, demos, config, ledger, seed=0)
    assert update.shape == (policy.expert_size,) and np.all(np.isfinite(update)) and np.any(update != 0)
    assert result.epsilon == pytest.approx(epsilon_of([planned_spend(len(demos), config)], 1e-5))
    assert [k for k in policy.expert.state_dict()] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_a_robot_over_budget_declines_and_says_why(tmp_path: Path) -> None:
    demos = site(1, 4, 0.0)
    policy = new_policy(demos, seed=0)
    policy.freeze_base()
    # 120 frames, batch 60: q = 0.5, z = 1.2: ε 4.16 after one round, 5.70 after two; a budget of 5 allows one.
    config = FleetConfig(
        batch_size=60, noise_multiplier=1.2, epsilon_budget=5, aggregation="none", allow_plaintext=True
    )
    robot = FleetRobot("r1", policy, demos, config, secret=None, ledger_path=tmp_path / "p.json")
    first = robot.train(policy.expert_vector(), 1)
    assert not isinstance(first, Declined)
    spent = robot.ledger.epsilon
    second = robot.train(policy.expert_vector(), 2)
    assert isinstance(second, Declined)
    assert "over its budget 5" in second.reason and second.epsilon == pytest.approx(spent)
    assert robot.ledger.epsilon == pytest.approx(spent)  # declining spends nothing
    with pytest.raises(BudgetExhaustedError):
        robot.ledger.check_round(planned_spend(len(demos), config))
