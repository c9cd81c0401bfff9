"""A simulated fleet on one machine: N robots, each with its own site's demonstrations, R rounds.

Everything a real fleet does happens here in one process, with the same objects: keys sealed to
each robot's X25519 pair and opened by it, local DP-SGD, quantization, seeded BFV ciphertexts, the
server's ``RoundCollector`` summing what it cannot read, every robot decrypting the sum. Used by
``dynamical fl run`` and ``dynamical bench fleet``; baselines (centralized on the union without DP,
FedAvg without DP) come from ``baselines``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from dynamical.fleet.aggregator import RoundCollector
from dynamical.fleet.bfv import BfvPublic, BfvSecret
from dynamical.fleet.config import FleetConfig
from dynamical.fleet.demonstrations import Demonstrations
from dynamical.fleet.keys import RobotKeyPair, seal_for
from dynamical.fleet.model import Evaluation, FleetPolicy, evaluate, fit
from dynamical.fleet.robot import Declined, FleetRobot


class RoundReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    round: int
    participants: list[str]
    declined: dict[str, str]
    bytes_up: int
    """Sum over participants of the bytes each sent."""
    bytes_up_per_robot: int
    bytes_down: int
    float32_bytes: int
    """What one plaintext float32 update would be: the yardstick for the ratios."""
    aggregation_s: float
    local_loss: float
    epsilon: dict[str, float]
    evaluation: Evaluation


class FleetReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    robots: int
    aggregation: str
    expert_params: int
    rounds: list[RoundReport]
    initial: Evaluation
    final: Evaluation
    epsilon: dict[str, float]
    budget: float
    delta: float


def make_fleet(
    policy: FleetPolicy, sites: list[Demonstrations], config: FleetConfig, workdir: Path, seed: int = 0
) -> list[FleetRobot]:
    """Robots with their own key pairs; the fleet key is sealed to each and opened on the robot."""
    admin = BfvSecret() if config.aggregation == "bfv" else None
    robots = []
    for i, demos in enumerate(sites):
        robot_id = f"robot-{i}"
        secret = None
        if admin is not None:
            pair = RobotKeyPair.load_or_create(workdir / robot_id / "identity.key")
            sealed = seal_for(robot_id, pair.public_text, admin.secret_key_bytes(), admin.key_id, 1)
            secret = BfvSecret(pair.open(sealed, robot_id))
        robots.append(
            FleetRobot(
                robot_id,
                copy.deepcopy(policy),
                demos,
                config,
                secret,
                workdir / robot_id / "privacy.json",
                seed=seed + i,
            )
        )
    return robots


def run_fleet(
    policy: FleetPolicy,
    sites: list[Demonstrations],
    holdout: Demonstrations,
    config: FleetConfig,
    rounds: int,
    workdir: Path,
    seed: int = 0,
    drop: Callable[[int, str], bool] | None = None,
    on_round: Callable[[RoundReport], None] | None = None,
) -> FleetReport:
    """R rounds of federated fine-tuning of ``policy``'s expert; ``drop(round, robot)`` simulates dropouts."""
    robots = make_fleet(policy, sites, config, workdir, seed)
    public = BfvPublic() if config.aggregation == "bfv" else None
    registered = {r.robot_id for r in robots}
    global_expert = policy.expert_vector()
    evaluator = copy.deepcopy(policy)
    initial = evaluate(evaluator, holdout)
    reports: list[RoundReport] = []
    for round_ in range(1, rounds + 1):
        key_id = robots[0].key_id
        collector = RoundCollector(
            round_,
            key_id,
            global_expert.size + 1,
            config,
            registered,
            min_participants=min(2, len(robots)),
            public=public,
        )
        declined: dict[str, str] = {}
        losses = []
        for robot in robots:
            if drop is not None and drop(round_, robot.robot_id):
                declined[robot.robot_id] = "dropped out"
                continue
            sent = robot.train(global_expert, round_)
            if isinstance(sent, Declined):
                declined[robot.robot_id] = sent.reason
                continue
            collector.submit(sent.robot_id, sent.round, sent.key_id, sent.values, sent.payload)
            losses.append(sent.result.loss)
        if len(collector.received) < collector.min_participants:
            break  # every robot declined (budgets spent): the fleet stops learning, and says why per robot
        aggregate = collector.close()
        global_expert = robots[0].apply_round(global_expert, aggregate.payload, len(aggregate.contributors))
        evaluator.set_expert_vector(global_expert)
        report = RoundReport(
            round=round_,
            participants=aggregate.contributors,
            declined=declined,
            bytes_up=aggregate.bytes_up,
            bytes_up_per_robot=aggregate.bytes_up // len(aggregate.contributors),
            bytes_down=aggregate.bytes_down,
            float32_bytes=4 * global_expert.size,
            aggregation_s=aggregate.aggregation_s,
            local_loss=float(np.mean(losses)),
            epsilon={r.robot_id: r.ledger.epsilon for r in robots},
            evaluation=evaluate(evaluator, holdout),
        )
        reports.append(report)
        if on_round is not None:
            on_round(report)
    return FleetReport(
        robots=len(robots),
        aggregation=config.aggregation,
        expert_params=int(global_expert.size),
        rounds=reports,
        initial=initial,
        final=evaluate(evaluator, holdout),
        epsilon={r.robot_id: r.ledger.epsilon for r in robots},
        budget=config.epsilon_budget,
        delta=config.delta,
    )


def centralized(
    policy: FleetPolicy, sites: list[Demonstrations], holdout: Demonstrations, epochs: int, seed: int = 0
) -> Evaluation:
    """The same expert trained on the union of the sites' data, no DP, no federation (the yardstick)."""
    central = copy.deepcopy(policy)
    fit(central, Demonstrations.concat(sites), epochs=epochs, batch=64, lr=1e-3, seed=seed)
    return evaluate(central, holdout)


def timed_sum(robots: int, values: int, seed: int = 0) -> tuple[float, int, int]:
    """(seconds to sum, bytes one robot sends, bytes of the sum) for ``robots`` random encoded updates."""
    rng = np.random.default_rng(seed)
    secret = BfvSecret()
    one = secret.encrypt(rng.integers(-1000, 1000, values))
    payloads = [one] * robots  # the server's work does not depend on the values; encrypting 100 would dominate
    start = time.perf_counter()
    total = BfvPublic().sum(payloads, values)
    return time.perf_counter() - start, len(one), len(total)
