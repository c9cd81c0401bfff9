"""``dynamical bench fleet``: what fleet learning costs and what it reaches.

Bytes per update against a float32 update (uplink: seeded BFV ciphertexts; downlink: the sum),
the server's aggregation time for 10 and 100 robots, each robot's ε after the rounds, and the
held-out accuracy of the fleet's expert (BFV + DP) against FedAvg without DP and against the same
expert trained centrally on the union of the robots' data.
"""

from __future__ import annotations

import copy
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from dynamical.fleet.config import FleetConfig
from dynamical.fleet.demonstrations import Demonstrations
from dynamical.fleet.model import pretrain
from dynamical.fleet.simulation import FleetReport, centralized, run_fleet, timed_sum


class FleetBench(BaseModel):
    model_config = ConfigDict(frozen=True)

    robots: int
    rounds: int
    expert_params: int
    uplink_bytes: int
    uplink_ratio: float
    """Bytes one robot sends a round / bytes of its update as float32."""
    downlink_bytes: int
    downlink_ratio: float
    aggregation_ms_10: float
    aggregation_ms_100: float
    epsilon_max: float
    delta: float
    budget: float
    accuracy_initial: float
    accuracy_fleet_dp_bfv: float
    accuracy_fedavg_no_dp: float
    accuracy_centralized: float
    mse_fleet_dp_bfv: float
    mse_fedavg_no_dp: float
    mse_centralized: float
    tolerance_rad: float


def bench_fleet(
    base: Demonstrations,
    sites: list[Demonstrations],
    holdout: Demonstrations,
    config: FleetConfig,
    rounds: int,
    workdir: Path,
    seed: int = 0,
) -> tuple[FleetBench, FleetReport]:
    policy = pretrain(base, seed=seed)
    fleet = run_fleet(copy.deepcopy(policy), sites, holdout, config, rounds, workdir / "dp-bfv", seed)
    plain = config.model_copy(update={"noise_multiplier": 0.0})
    fedavg = run_fleet(copy.deepcopy(policy), sites, holdout, plain, rounds, workdir / "fedavg", seed)
    central = centralized(policy, sites, holdout, epochs=rounds * config.local_epochs, seed=seed)
    values = fleet.expert_params + 1
    t10, up, down = timed_sum(10, values, seed)
    t100, _, _ = timed_sum(100, values, seed)
    last = fleet.rounds[-1] if fleet.rounds else None
    float32 = 4 * fleet.expert_params
    return FleetBench(
        robots=len(sites),
        rounds=len(fleet.rounds),
        expert_params=fleet.expert_params,
        uplink_bytes=last.bytes_up_per_robot if last else up,
        uplink_ratio=(last.bytes_up_per_robot if last else up) / float32,
        downlink_bytes=last.bytes_down if last else down,
        downlink_ratio=(last.bytes_down if last else down) / float32,
        aggregation_ms_10=1e3 * t10,
        aggregation_ms_100=1e3 * t100,
        epsilon_max=max(fleet.epsilon.values(), default=0.0),
        delta=config.delta,
        budget=config.epsilon_budget,
        accuracy_initial=fleet.initial.accuracy,
        accuracy_fleet_dp_bfv=fleet.final.accuracy,
        accuracy_fedavg_no_dp=fedavg.final.accuracy,
        accuracy_centralized=central.accuracy,
        mse_fleet_dp_bfv=fleet.final.mse,
        mse_fedavg_no_dp=fedavg.final.mse,
        mse_centralized=central.mse,
        tolerance_rad=central.tolerance,
    ), fleet
