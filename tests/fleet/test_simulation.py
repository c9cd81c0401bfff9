"""A whole simulated fleet: 3 robots, their own sites, DP + BFV, keys sealed per robot."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynamical.fleet.config import FleetConfig
from dynamical.fleet.demonstrations import Demonstrations
from dynamical.fleet.model import pretrain
from dynamical.fleet.simulation import run_fleet
from tests.fleet.sites import site


@pytest.mark.slow
def test_three_robots_learn_their_sites_privately(tmp_path: Path) -> None:
    base = site(100, 12, 0.0)
    sites = [site(i, 10, 0.15 * (i + 1)) for i in range(3)]
    holdout = Demonstrations.concat([site(50 + i, 3, 0.15 * (i + 1)) for i in range(3)])
    policy = pretrain(base, epochs=8)
    config = FleetConfig(batch_size=50, epsilon_budget=8)
    report = run_fleet(
        policy, sites, holdout, config, rounds=3, workdir=tmp_path, drop=lambda r, robot: r == 2 and robot == "robot-1"
    )
    assert [r.round for r in report.rounds] == [1, 2, 3]
    assert report.rounds[1].participants == ["robot-0", "robot-2"]
    assert report.rounds[1].declined == {"robot-1": "dropped out"}
    # The robots' own sites are new to the base: fine-tuning lowers the held-out action error.
    assert report.final.mse < report.initial.mse
    # Every robot's ε is its ledger's, within budget; the one that dropped out spent less.
    assert all(0 < eps <= 8 for eps in report.epsilon.values())
    assert report.epsilon["robot-1"] < report.epsilon["robot-0"]
    assert (tmp_path / "robot-0" / "privacy.json").exists()
    for r in report.rounds:
        assert r.bytes_up_per_robot <= 2.5 * r.float32_bytes
        assert r.bytes_down <= 4.5 * r.float32_bytes
