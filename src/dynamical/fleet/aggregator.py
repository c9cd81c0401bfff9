"""The server side of a round: collect updates it cannot read, refuse bad ones, sum the rest.

The aggregator holds ``BfvPublic`` (parameters, no secret key). An update is checked before it is
kept — the round number, the key id the round was opened with, a registered robot, one update per
robot, at most ``max_clients`` (the quantization headroom), and ciphertexts that load under the
fleet's parameters — so a malformed or wrong-key update is refused with a message and the round
goes on with the others. A robot that never sends is simply not in the sum (dropout): the round
closes with whoever arrived, if at least ``min_participants`` did.
"""

from __future__ import annotations

import time

import numpy as np
from pydantic import BaseModel, ConfigDict

from dynamical.fleet.bfv import BfvPublic
from dynamical.fleet.config import FleetConfig
from dynamical.fleet.errors import FleetError, UpdateRejectedError


class Aggregate(BaseModel):
    model_config = ConfigDict(frozen=True)

    round: int
    key_id: str
    values: int
    contributors: list[str]
    payload: bytes
    bytes_up: int
    bytes_down: int
    aggregation_s: float


class RoundCollector:
    def __init__(
        self,
        round_: int,
        key_id: str,
        values: int,
        config: FleetConfig,
        registered: set[str],
        min_participants: int = 2,
        public: BfvPublic | None = None,
    ) -> None:
        self.round = round_
        self.key_id = key_id
        self.values = values
        self.config = config
        self.registered = registered
        self.min_participants = min_participants
        self._public = public if public is not None else (BfvPublic() if config.aggregation == "bfv" else None)
        self._updates: dict[str, bytes] = {}
        self.rejected: dict[str, str] = {}

    @property
    def received(self) -> list[str]:
        return sorted(self._updates)

    def submit(self, robot_id: str, round_: int, key_id: str, values: int, payload: bytes) -> None:
        try:
            self._check(robot_id, round_, key_id, values, payload)
        except UpdateRejectedError as exc:
            self.rejected[robot_id] = str(exc)
            raise
        self._updates[robot_id] = payload

    def _check(self, robot_id: str, round_: int, key_id: str, values: int, payload: bytes) -> None:
        if robot_id not in self.registered:
            raise UpdateRejectedError(f"robot {robot_id!r} is not registered with the fleet")
        if round_ != self.round:
            raise UpdateRejectedError(f"update for round {round_}, the open round is {self.round}")
        if key_id != self.key_id:
            raise UpdateRejectedError(f"update made with key {key_id!r}, the round uses {self.key_id!r}")
        if values != self.values:
            raise UpdateRejectedError(f"update of {values} values, the expert needs {self.values}")
        if robot_id in self._updates:
            raise UpdateRejectedError(f"robot {robot_id!r} already sent its update for round {self.round}")
        if len(self._updates) >= self.config.quant.max_clients:
            raise UpdateRejectedError(
                f"round {self.round} already holds {self.config.quant.max_clients} updates, the most the "
                "encoding's headroom allows without wrapping"
            )
        if self._public is not None:
            self._public.validate(payload, values)
        elif len(payload) != 8 * values:
            raise UpdateRejectedError(
                f"a plaintext update of {values} values is {8 * values} bytes, got {len(payload)}"
            )
        else:
            ints = np.frombuffer(payload, dtype="<i8")
            if (
                np.abs(ints[:-1]).max(initial=0) > self.config.quant.levels
                or not 0 < ints[-1] <= self.config.quant.weight_cap
            ):
                raise UpdateRejectedError("a plaintext update outside the quantization range")

    def close(self) -> Aggregate:
        if len(self._updates) < self.min_participants:
            raise FleetError(
                f"round {self.round} has {len(self._updates)} updates, fewer than the {self.min_participants} "
                "needed to hide any one robot's update in the sum"
            )
        payloads = [self._updates[r] for r in self.received]
        start = time.perf_counter()
        if self._public is not None:
            total = self._public.sum(payloads, self.values)
        else:
            total = np.sum([np.frombuffer(p, dtype="<i8") for p in payloads], axis=0).astype("<i8").tobytes()
        elapsed = time.perf_counter() - start
        return Aggregate(
            round=self.round,
            key_id=self.key_id,
            values=self.values,
            contributors=self.received,
            payload=total,
            bytes_up=sum(len(p) for p in payloads),
            bytes_down=len(total),
            aggregation_s=elapsed,
        )
