"""A fleet's learning configuration: one object every robot and the server agree on."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dynamical.fleet.quantize import QuantSpec

Aggregation = Literal["bfv", "none"]


class FleetConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    aggregation: Aggregation = "bfv"
    allow_plaintext: bool = False
    """``none`` sends updates in the clear: refused unless this is set explicitly."""
    clip_norm: float = Field(1.0, gt=0, allow_inf_nan=False)
    """DP-SGD per-example gradient clip C."""
    noise_multiplier: float = Field(1.0, ge=0, allow_inf_nan=False)
    """DP-SGD noise z (σ = z·C); 0 disables DP (baselines only)."""
    epsilon_budget: float = Field(8.0, gt=0, allow_inf_nan=False)
    delta: float = Field(1e-5, gt=0, lt=1)
    batch_size: int = Field(64, ge=1, le=4096)
    local_epochs: int = Field(1, ge=1, le=100)
    lr: float = Field(0.05, gt=0, le=10, allow_inf_nan=False)
    quant: QuantSpec = QuantSpec()

    @model_validator(mode="after")
    def _plaintext_is_explicit(self) -> FleetConfig:
        if self.aggregation == "none" and not self.allow_plaintext:
            raise ValueError("aggregation 'none' sends readable updates: set allow_plaintext to use it")
        return self

    @property
    def private(self) -> bool:
        return self.noise_multiplier > 0
