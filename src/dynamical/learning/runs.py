"""A training run as the runtime sees it: its settings, its record (``run.json``) and its metrics.

A run directory holds LeRobot's own output (``checkpoints/<step>/pretrained_model/``,
``checkpoints/last``), ``metrics.jsonl`` (written by the learn-side worker as it trains) and
``run.json``: this module's ``RunRecord``, rewritten atomically as the run goes. The database row
(``training_runs``) mirrors the record; the directory is the truth a resume starts from.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from dynamical.learning import protocol

RunStatus = Literal["pending", "running", "succeeded", "failed", "interrupted"]
ACTIVE: tuple[RunStatus, ...] = ("pending", "running")
Policy = Literal["act", "diffusion"]
InputGroup = Literal["state", "environment_state", "images"]
RUN_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
RunId = Annotated[str, StringConstraints(pattern=RUN_ID_PATTERN)]
MAX_CURVE_POINTS = 2000
"""Loss points a record keeps; past it every other point goes (the curve keeps its shape)."""


class TrainConfig(BaseModel):
    """What a run trains and how: the worker's settings (``lerobot_side/train.py``'s flags).

    ``None`` keeps LeRobot's default for the policy (ACT: chunk 100, dim_model 512, 4 encoder
    layers, lr 1e-5; diffusion: horizon 64, down_dims 512/1024/2048, lr 1e-4)."""

    model_config = ConfigDict(extra="forbid")

    policy: Policy = "act"
    steps: int = Field(2000, ge=1, le=10_000_000, description="Total optimizer steps of the run")
    batch_size: int = Field(8, ge=1, le=4096)
    chunk_size: int | None = Field(None, ge=1, le=1000, description="ACT action chunk / diffusion horizon, frames")
    n_action_steps: int | None = Field(None, ge=1, le=1000, description="Actions executed per predicted chunk")
    dim_model: int | None = Field(None, ge=8, le=4096, description="ACT transformer width / diffusion U-Net width")
    layers: int | None = Field(None, ge=1, le=32, description="ACT encoder layers")
    lr: float | None = Field(None, gt=0, le=1.0, description="Learning rate (default: the policy's preset)")
    inputs: list[InputGroup] | None = Field(
        None, min_length=1, description="Observation groups the policy sees (default: all the dataset has)"
    )
    device: Literal["cpu", "cuda"] = "cpu"
    save_every: int = Field(1000, ge=1, description="Checkpoint every N steps (and at the end)")
    log_every: int = Field(10, ge=1, description="Progress (loss, lr) every N steps")
    seed: int = Field(1000, ge=0, le=2**32 - 1)

    def worker_args(self, dataset: Path, out: Path, resume: bool) -> list[str]:
        """The flags of ``python -m dynamical.learning.lerobot_side.train``."""
        args = ["--dataset", str(dataset), "--out", str(out), "--policy", self.policy, "--steps", str(self.steps)]
        args += ["--batch-size", str(self.batch_size), "--device", self.device, "--seed", str(self.seed)]
        args += ["--save-every", str(self.save_every), "--log-every", str(self.log_every)]
        for flag, value in (
            ("--chunk-size", self.chunk_size),
            ("--n-action-steps", self.n_action_steps),
            ("--dim-model", self.dim_model),
            ("--layers", self.layers),
            ("--lr", self.lr),
        ):
            if value is not None:
                args += [flag, str(value)]
        if self.inputs is not None:
            args += ["--inputs", ",".join(self.inputs)]
        if resume:
            args.append("--resume")
        return args


class LossPoint(BaseModel):
    step: int
    loss: float
    """Mean training loss over the steps since the previous point."""


class RunRecord(BaseModel):
    """``run.json``: one training run (the database row mirrors it)."""

    model_config = ConfigDict(extra="forbid")

    id: RunId
    status: RunStatus = "pending"
    dataset: str
    """Absolute path of the LeRobot dataset it trains on."""
    out_dir: str
    """Absolute path of the run directory."""
    config: TrainConfig
    step: int = 0
    """Optimizer steps done (a resumed run continues from its last checkpoint's step)."""
    checkpoint_step: int | None = None
    """Step of ``checkpoints/last``, None before the first checkpoint."""
    loss_curve: list[LossPoint] = []
    parameters: int | None = None
    priority: str | None = None
    """What the OS granted the worker: SCHED_IDLE, nice 19 or normal."""
    seconds: float = 0.0
    """Training wall time over every attempt, s."""
    attempts: int = 0
    host: str = Field(default_factory=socket.gethostname)
    pid: int | None = Field(default_factory=os.getpid)
    """The process that runs the worker and keeps this record (the CLI or the server)."""
    worker_pid: int | None = None
    """The learn-side worker training it (the leader of its process group)."""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None

    @property
    def policy(self) -> str:
        return self.config.policy

    @property
    def loss(self) -> float | None:
        return self.loss_curve[-1].loss if self.loss_curve else None

    def add_loss(self, step: int, loss: float) -> None:
        """Append a point; past a checkpoint-less restart the curve continues at ``step``."""
        while self.loss_curve and self.loss_curve[-1].step >= step:
            self.loss_curve.pop()
        self.loss_curve.append(LossPoint(step=step, loss=loss))
        if len(self.loss_curve) > MAX_CURVE_POINTS:
            kept = self.loss_curve[::2]
            if kept[-1] is not self.loss_curve[-1]:
                kept.append(self.loss_curve[-1])
            self.loss_curve = kept

    def save(self) -> None:
        """Write ``run.json`` atomically (a kill mid-write leaves the previous one)."""
        directory = Path(self.out_dir)
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{protocol.RUN_JSON}.{os.getpid()}.tmp"
        tmp.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(directory / protocol.RUN_JSON)


class RunError(ValueError):
    """A run directory or dataset that cannot be used; the message says why."""


def new_run_id(policy: str) -> str:
    """``act-20261207-120501-3f2a``: sortable by start, unique without a database round trip."""
    return f"{policy}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def load_record(out_dir: Path) -> RunRecord:
    path = out_dir / protocol.RUN_JSON
    if not path.is_file():
        raise RunError(f"{out_dir} is not a training run (no {protocol.RUN_JSON})")
    try:
        return RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError) as exc:
        raise RunError(f"{path} is unreadable: {str(exc).splitlines()[0]}") from None


def read_metrics(out_dir: Path) -> list[dict[str, float]]:
    """``metrics.jsonl``'s points, in order (a line torn by a kill is skipped)."""
    path = out_dir / protocol.METRICS_JSONL
    if not path.is_file():
        return []
    points = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "step" in value:
            points.append(value)
    return points


def check_dataset(path: Path) -> Path:
    """The dataset directory, resolved, if it is a LeRobot dataset with an action to learn."""
    root = path.expanduser().resolve()
    info = root / "meta" / "info.json"
    if not info.is_file():
        raise RunError(f"{path} is not a LeRobot dataset (no meta/info.json)")
    try:
        features = json.loads(info.read_text(encoding="utf-8"))["features"]
    except (ValueError, KeyError, TypeError):
        raise RunError(f"{info} is not a LeRobot dataset description") from None
    if protocol.ACTION not in features:
        raise RunError(f"{path} has no {protocol.ACTION!r} feature to learn")
    return root


def pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
