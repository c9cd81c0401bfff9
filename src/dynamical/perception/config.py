"""Perception's configuration (the ``perception:`` section of the runtime config).

Pydantic only: the runtime's settings import it, so it must not pull torch or MuJoCo in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ModelKey = Literal["dinov3", "sam3", "vjepa2"]


class ModelConfig(BaseModel):
    """Where one foundation model's weights are and how it runs."""

    model_config = ConfigDict(extra="forbid")
    path: Path | None = Field(
        None, description="Directory a `save_pretrained` wrote (config.json + weights); none: the model is off"
    )
    device: str = Field("cpu", description="torch device: cpu, cuda, cuda:1 …")
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    timeout_s: float = Field(5.0, gt=0, description="A job still running after this is abandoned")


class ModelsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dinov3: ModelConfig = ModelConfig()
    sam3: ModelConfig = ModelConfig()
    vjepa2: ModelConfig = ModelConfig()


class PerceptionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    world_source: Literal["truth", "perception"] = Field(
        "truth", description="What skills and planning read objects from: the simulator's truth or the cameras"
    )
    cameras: list[str] = Field(["head", "front", "side"], description="Cameras the cheap tier reads")
    width: int = Field(320, gt=0, le=1280)
    height: int = Field(240, gt=0, le=960)
    rate_hz: float = Field(10.0, gt=0, le=60, description="Cheap-tier cycles a second (tier 2)")
    min_confidence: float = Field(0.3, ge=0, le=1, description="Below this a seen object triggers the big tier")
    forget_after_s: float = Field(5.0, gt=0, description="An object unseen this long is unknown again")
    models: ModelsConfig = ModelsConfig()
