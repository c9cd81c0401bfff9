"""The robot side of fleet learning: local DP fine-tuning, quantization, encryption, decryption.

A robot holds the fleet's HE secret key (opened from its sealed bundle), its privacy ledger and its
own demonstrations; the server only ever sees its ciphertext. The global expert is the platform's
initial expert plus the decrypted mean update of every round, which each key holder computes
identically from the integer sums (``apply_round``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from dynamical.fleet import quantize
from dynamical.fleet.bfv import BfvSecret
from dynamical.fleet.config import FleetConfig
from dynamical.fleet.demonstrations import Demonstrations
from dynamical.fleet.errors import BudgetExhaustedError, UpdateRejectedError
from dynamical.fleet.local_train import LocalResult, train_round
from dynamical.fleet.model import FleetPolicy
from dynamical.fleet.privacy import PrivacyLedger


class RobotUpdate(BaseModel):
    """What a robot sends for one round (the payload is opaque to the server)."""

    model_config = ConfigDict(frozen=True)

    robot_id: str
    round: int
    key_id: str
    values: int
    """Integers encoded (expert parameters + the count slot)."""
    payload: bytes
    result: LocalResult


class Declined(BaseModel):
    model_config = ConfigDict(frozen=True)

    robot_id: str
    round: int
    reason: str
    epsilon: float


def encode_update(
    update: np.ndarray, examples: int, config: FleetConfig, secret: BfvSecret | None, rng: np.random.Generator
) -> bytes:
    encoded = quantize.encode(update, examples, config.quant, rng)
    if config.aggregation == "bfv":
        assert secret is not None
        return secret.encrypt(encoded)
    return encoded.astype("<i8").tobytes()


def decode_aggregate(
    payload: bytes, values: int, contributors: int, config: FleetConfig, secret: BfvSecret | None
) -> tuple[np.ndarray, int]:
    """The mean update (d,) float64 and the round's total examples from a summed payload."""
    if config.aggregation == "bfv":
        assert secret is not None
        total = secret.decrypt(payload, values)
    else:
        if len(payload) != 8 * values:
            raise UpdateRejectedError(f"a plaintext aggregate of {values} values is {8 * values} bytes")
        total = np.frombuffer(payload, dtype="<i8").astype(np.int64)
    return quantize.decode_mean(total, contributors, config.quant)


class FleetRobot:
    def __init__(
        self,
        robot_id: str,
        policy: FleetPolicy,
        demos: Demonstrations,
        config: FleetConfig,
        secret: BfvSecret | None,
        ledger_path: Path,
        seed: int = 0,
    ) -> None:
        self.robot_id = robot_id
        self.policy = policy
        self.demos = demos
        self.config = config
        self.secret = secret
        self.ledger = PrivacyLedger.open(ledger_path, robot_id, config.epsilon_budget, config.delta)
        self._rng = np.random.default_rng(seed)
        self._seed = seed

    @property
    def key_id(self) -> str:
        return self.secret.key_id if self.secret is not None else "plaintext"

    def train(self, global_expert: np.ndarray, round_: int) -> RobotUpdate | Declined:
        self.policy.set_expert_vector(global_expert)
        try:
            update, result = train_round(
                self.policy,
                self.demos,
                self.config,
                self.ledger if self.config.private else None,
                seed=self._seed * 100_003 + round_,
            )
        except BudgetExhaustedError as exc:
            return Declined(robot_id=self.robot_id, round=round_, reason=str(exc), epsilon=self.ledger.epsilon)
        payload = encode_update(update, result.examples, self.config, self.secret, self._rng)
        return RobotUpdate(
            robot_id=self.robot_id,
            round=round_,
            key_id=self.key_id,
            values=update.size + 1,
            payload=payload,
            result=result,
        )

    def apply_round(self, global_expert: np.ndarray, payload: bytes, contributors: int) -> np.ndarray:
        """The next global expert: the current one plus this round's decrypted mean update."""
        mean, _ = decode_aggregate(payload, global_expert.size + 1, contributors, self.config, self.secret)
        return (global_expert.astype(np.float64) + mean).astype(np.float32)
