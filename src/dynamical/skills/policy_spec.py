"""What an exported policy says about itself (``policy.json``) and the artifact check of its files.

A learned skill packaged as ONNX carries ``policy.onnx`` (the graph: raw observation features in,
one action chunk out, normalisation inside) and ``policy.json`` (this module's ``PolicySpec``),
written by the learn side's exporter (``dynamical.learning.lerobot_side.export``). The artifact
refuses a policy skill whose ``policy.json`` does not describe a graph the executor can feed.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dynamical.skills.errors import ArtifactContentError

ONNX_PATH = "policy.onnx"
SPEC_PATH = "policy.json"
POLICY_FILES = (ONNX_PATH, SPEC_PATH)
MAX_CHUNK = 1000
"""Rows of one predicted chunk: ACT's are 100; anything far above is not a control policy."""


class TensorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=128)
    shape: list[int] = Field(min_length=1, max_length=5)
    """Batch first (always 1)."""
    dtype: Literal["float32"] = "float32"

    @model_validator(mode="after")
    def _positive(self) -> Self:
        if any(d < 1 for d in self.shape) or self.shape[0] != 1:
            raise ValueError(f"{self.name}: shape {self.shape} must be positive with a batch of 1 first")
        return self


class PolicyLayout(BaseModel):
    """The feature layout the policy was trained on (``learning.features.FeatureLayout.to_json``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    robot: str = ""
    joint_names: list[str] = Field(min_length=1)
    object_names: list[str] = []
    cameras: list[str] = []
    image_height: int = Field(gt=0, le=4096)
    image_width: int = Field(gt=0, le=4096)


class PolicySource(BaseModel):
    """Where the policy came from: the training run and the dataset (for people, not the executor)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    run_id: str | None = None
    checkpoint: str | None = None
    step: int | None = None
    dataset: str | None = None
    skill: str | None = None
    """The built-in skill the demonstrations were recorded with."""
    params: dict[str, Any] = {}
    episodes: int | None = None
    mean_episode_s: float | None = None
    """s, the demonstrations' mean length: the learned skill's nominal duration by default."""


class PolicyValidation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    samples: int = Field(ge=1)
    max_abs_error: float = Field(ge=0, allow_inf_nan=False)
    """max |ONNX − PyTorch| over the dataset frames checked at export, rad."""
    tolerance: float = Field(gt=0)


class PolicySpec(BaseModel):
    """``policy.json``: how to feed the ONNX graph and play what it predicts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1]
    policy_type: str
    fps: int = Field(gt=0, le=1000)
    """Hz of the dataset: rows of a chunk are 1/fps s apart."""
    chunk_size: int = Field(gt=0, le=MAX_CHUNK)
    n_action_steps: int = Field(gt=0, le=MAX_CHUNK)
    temporal_ensemble_coeff: float = Field(ge=-1.0, le=1.0)
    """ACT's exponential ensembling weight wᵢ = exp(−m·i), i = 0 for the oldest prediction."""
    normalization: Literal["in_graph"]
    inputs: list[TensorSpec] = Field(min_length=1)
    output: TensorSpec
    layout: PolicyLayout
    task: str = ""
    source: PolicySource = PolicySource()
    validation: PolicyValidation

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        n = len(self.layout.joint_names)
        if self.output.shape != [1, self.chunk_size, n]:
            raise ValueError(f"output shape {self.output.shape} must be [1, chunk_size={self.chunk_size}, joints={n}]")
        if self.validation.max_abs_error > self.validation.tolerance:
            raise ValueError(
                f"the export was off by {self.validation.max_abs_error:g} > its tolerance {self.validation.tolerance:g}"
            )
        names = [t.name for t in self.inputs]
        if len(set(names)) != len(names):
            raise ValueError(f"inputs must be named once each, got {names}")
        return self

    @property
    def dt(self) -> float:
        """s between two rows of a chunk."""
        return 1.0 / self.fps

    @property
    def image_inputs(self) -> list[TensorSpec]:
        return [t for t in self.inputs if t.name.startswith("observation.images.")]


def check_policy_files(policy_format: str | None, files: dict[str, bytes]) -> PolicySpec | None:
    """The ``policy.json`` of an artifact's files, checked; raises ArtifactContentError.

    ``policy_format`` is the manifest's: with ``"onnx"`` both files must be there and the spec
    valid; with None neither may be (a graph nobody declared is never run)."""
    present = [p for p in POLICY_FILES if p in files]
    if policy_format is None:
        if present:
            raise ArtifactContentError(
                f"files {present} are a policy package but the manifest declares no policy_format"
            )
        return None
    missing = [p for p in POLICY_FILES if p not in files]
    if missing:
        raise ArtifactContentError(f"a {policy_format} policy needs {list(POLICY_FILES)}; missing {missing}")
    if not files[ONNX_PATH]:
        raise ArtifactContentError(f"{ONNX_PATH} is empty")
    try:
        return PolicySpec.model_validate_json(files[SPEC_PATH])
    except ValidationError as exc:
        raise ArtifactContentError(f"{SPEC_PATH} is invalid: {exc}") from None
