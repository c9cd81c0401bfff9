"""Each robot's differential-privacy ledger: Opacus's RDP accountant, persisted across rounds.

The ledger is the accountant's history ((noise multiplier, sample rate, steps) per mechanism),
written atomically to the robot's data directory after every round; ε at δ comes from Opacus's
``RDPAccountant.get_epsilon`` on that history, so a restart never forgets a spent round. A round is
declined before it starts if the ε it would reach exceeds the budget (``check_round``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from opacus.accountants import RDPAccountant
from pydantic import BaseModel, ConfigDict, Field

from dynamical.fleet.errors import BudgetExhaustedError, FleetError


class Spend(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    noise_multiplier: float = Field(gt=0, allow_inf_nan=False)
    sample_rate: float = Field(gt=0, le=1, allow_inf_nan=False)
    steps: int = Field(ge=1)


class LedgerState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    robot_id: str
    delta: float = Field(1e-5, gt=0, lt=1)
    budget: float = Field(8.0, gt=0, allow_inf_nan=False)
    rounds: int = 0
    history: list[Spend] = []


def merged(history: list[Spend]) -> list[Spend]:
    """Spends with the same (z, q) as one entry: RDP composes additively in steps, so this is exact
    and keeps the accountant's work (a series per entry and order) flat as rounds accumulate."""
    steps: dict[tuple[float, float], int] = {}
    for s in history:
        key = (s.noise_multiplier, s.sample_rate)
        steps[key] = steps.get(key, 0) + s.steps
    return [Spend(noise_multiplier=z, sample_rate=q, steps=n) for (z, q), n in steps.items()]


def epsilon_of(history: list[Spend], delta: float) -> float:
    if not history:
        return 0.0
    accountant = RDPAccountant()
    accountant.history = [(s.noise_multiplier, s.sample_rate, s.steps) for s in merged(history)]
    return float(accountant.get_epsilon(delta))


class PrivacyLedger:
    def __init__(self, path: Path, state: LedgerState) -> None:
        self.path = path
        self.state = state

    @classmethod
    def open(cls, path: Path, robot_id: str, budget: float, delta: float) -> PrivacyLedger:
        if path.exists():
            try:
                state = LedgerState.model_validate_json(path.read_text())
            except ValueError as exc:
                raise FleetError(f"the privacy ledger {path} is unreadable: {exc}") from exc
            if state.robot_id != robot_id:
                raise FleetError(f"the privacy ledger {path} belongs to {state.robot_id!r}")
            if state.delta != delta:
                raise FleetError(f"the ledger was kept at δ={state.delta}; the fleet asks δ={delta}")
            # A budget may be lowered, never raised past what the ledger was opened with: spent ε stays spent.
            state.budget = min(state.budget, budget)
            return cls(path, state)
        return cls(path, LedgerState(robot_id=robot_id, delta=delta, budget=budget))

    @property
    def epsilon(self) -> float:
        return epsilon_of(self.state.history, self.state.delta)

    def epsilon_after(self, spend: Spend) -> float:
        return epsilon_of([*self.state.history, spend], self.state.delta)

    def check_round(self, spend: Spend) -> float:
        """ε after the planned round; raises BudgetExhaustedError if it would exceed the budget."""
        after = self.epsilon_after(spend)
        if after > self.state.budget:
            raise BudgetExhaustedError(
                f"robot {self.state.robot_id!r} declines: the round would take ε from {self.epsilon:.2f} "
                f"to {after:.2f} at δ={self.state.delta:g}, over its budget {self.state.budget:g}"
            )
        return after

    def record(self, history: list[tuple[float, float, int]]) -> None:
        """Replace the history with the accountant's after a round, and persist it."""
        self.state.history = merged([Spend(noise_multiplier=z, sample_rate=q, steps=n) for z, q, n in history])
        self.state.rounds += 1
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state.model_dump(), indent=1))
        os.replace(tmp, self.path)
