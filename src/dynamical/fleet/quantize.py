"""Integer encoding of model updates for additive homomorphic aggregation.

Each robot clips every coordinate of its update ``u`` to ``[-bound, bound]``, pre-weights it by its
example count ``w = min(n, weight_cap) / weight_cap`` and stochastically rounds ``w · u / bound · Q``
to an integer (unbiased: ``E[round(x)] = x``). ``Q = floor(((t - 1) / 2) / max_clients)`` leaves
headroom for the sum of ``max_clients`` robots inside BFV's centred plaintext range
``(-(t-1)/2, (t-1)/2]``: the sum can never wrap as long as at most ``max_clients`` updates are added,
which the aggregator enforces. One extra slot carries ``n`` itself (exact integer), so the decoder
divides the weighted sum by the fleet's total weight: FedAvg weighted by example count.

With BFV's t = 1032193 (FIELD_NOTES): 10 robots → Q = 51609 (≈ 15.7 bits a value), 100 robots →
Q = 5160 (≈ 12.3 bits). The rounding error of the mean is ≤ bound / Q per coordinate (≈ 2e-5 ·
bound for 10 robots).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dynamical.fleet.errors import QuantizationError

BFV_PLAIN_MODULUS = 1032193
"""Prime t ≡ 1 mod 2·8192 (batching), ≈ 2^20: 2.0× uplink for seeded ciphertexts (FIELD_NOTES)."""


class QuantSpec(BaseModel):
    """How floats become integers for one fleet: every robot and the decoder use the same spec."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bound: float = Field(0.05, gt=0, allow_inf_nan=False)
    """Per-coordinate clip of an update (model units: the expert's parameter change a round)."""
    max_clients: int = Field(16, ge=1, le=10_000)
    weight_cap: int = Field(4096, ge=1, le=1_000_000)
    """Example count at which a robot's weight stops growing (bounds the count slot too)."""

    @property
    def plain_modulus(self) -> int:
        """BFV's plaintext modulus t, fixed with the fleet's encryption parameters."""
        return BFV_PLAIN_MODULUS

    @property
    def half_range(self) -> int:
        return (self.plain_modulus - 1) // 2

    @property
    def levels(self) -> int:
        """Q: the integer a fully weighted update at ``+bound`` becomes."""
        return self.half_range // self.max_clients

    @model_validator(mode="after")
    def _fits(self) -> QuantSpec:
        if self.levels < 255:
            raise ValueError(
                f"{self.max_clients} robots leave {self.levels} levels a value under plain modulus "
                f"{self.plain_modulus}: fewer robots a round or a larger modulus"
            )
        if self.max_clients * self.weight_cap > self.half_range:
            raise ValueError(
                f"the count slot of {self.max_clients} robots × weight cap {self.weight_cap} would wrap "
                f"modulus {self.plain_modulus}: lower weight_cap"
            )
        return self


def encode(update: np.ndarray, examples: int, spec: QuantSpec, rng: np.random.Generator) -> np.ndarray:
    """One robot's update as integers, with its example count in the last slot.

    update: (d,) float, finite. Returns (d + 1,) int64, values in ``[-Q, Q]``, last slot ``n``.
    """
    u = np.asarray(update, dtype=np.float64)
    if u.ndim != 1:
        raise QuantizationError(f"an update is a flat vector, got shape {u.shape}")
    if not np.all(np.isfinite(u)):
        raise QuantizationError("the update has NaN or infinite values: refusing to encode it")
    if examples < 1:
        raise QuantizationError("a robot with no examples has no update to send")
    n = min(int(examples), spec.weight_cap)
    w = n / spec.weight_cap
    scaled = np.clip(u, -spec.bound, spec.bound) * (w * spec.levels / spec.bound)
    floor = np.floor(scaled)
    q = floor + (rng.random(u.shape) < (scaled - floor))
    out = np.empty(u.size + 1, dtype=np.int64)
    out[:-1] = q.astype(np.int64)
    out[-1] = n
    if np.abs(out[:-1]).max(initial=0) > spec.levels:
        raise QuantizationError("an encoded value left [-Q, Q]: the spec is inconsistent")
    return out


def check_sum(total: np.ndarray, contributors: int, spec: QuantSpec) -> None:
    """Refuse a sum that could have wrapped (more contributors than the headroom allows)."""
    if contributors < 1:
        raise QuantizationError("an aggregate of no updates")
    if contributors > spec.max_clients:
        raise QuantizationError(
            f"{contributors} updates summed but the encoding has headroom for {spec.max_clients}: "
            "the sum may have wrapped, refusing it"
        )
    limit = contributors * spec.levels
    if np.abs(total[:-1]).max(initial=0) > limit or not 0 < total[-1] <= contributors * spec.weight_cap:
        raise QuantizationError("the decrypted sum is outside what its contributors can produce (wrong key?)")


def decode_mean(total: np.ndarray, contributors: int, spec: QuantSpec) -> tuple[np.ndarray, int]:
    """The example-weighted mean update from a summed encoding.

    total: (d + 1,) int64 (the decrypted sum). Returns ((d,) float64 mean update, total examples).
    """
    total = np.asarray(total, dtype=np.int64)
    check_sum(total, contributors, spec)
    examples = int(total[-1])
    weight = examples / spec.weight_cap
    mean = total[:-1].astype(np.float64) * (spec.bound / spec.levels) / weight
    return mean, examples
