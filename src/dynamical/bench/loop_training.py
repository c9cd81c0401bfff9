"""`dynamical bench loop --train DATASET`: the 1 kHz and 200 Hz tiers without, then with, a training
job running beside them.

The training job is the real one (``dynamical train``'s worker: LeRobot's ACT at its default size on
the given dataset, in the learning environment) at the priority it always gets beside a robot:
SCHED_IDLE (or nice 19) and one thread. The loops run first alone, then again once the job is past
its start-up and taking optimizer steps; the job is stopped after. Same seconds, same CPU hogs.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

from dynamical.bench.loop import LoopBenchResult, bench_loop
from dynamical.config import Settings
from dynamical.learning.runs import RunError, TrainConfig
from dynamical.learning.train_launcher import TrainingJob

START_TIMEOUT_S = 600.0
"""s for the job to take its first steps (LeRobot's import and the dataset load on a busy machine)."""
BESIDE_STEPS = 10_000_000
"""More steps than any bench runs: the job never ends by itself during the measurement."""


class TrainingBeside(BaseModel):
    policy: str
    parameters: int | None
    priority: str
    """What the OS granted the worker: SCHED_IDLE, nice 19 or normal."""
    steps: int
    """Optimizer steps the job took while the loops ran."""
    step_s: float
    """Mean wall time of one of those steps, s (idle priority: what the loops left over)."""


class LoopTrainingResult(BaseModel):
    seconds: float
    hogs: int
    without: LoopBenchResult
    """Both tiers with no training job."""
    with_training: LoopBenchResult
    """Both tiers with the training job beside them."""
    training: TrainingBeside


@contextmanager
def training_beside(dataset: Path, config: TrainConfig | None = None) -> Iterator[TrainingJob]:
    """A training job on ``dataset`` at idle priority, already taking steps when the block starts."""
    config = config or TrainConfig(steps=BESIDE_STEPS, save_every=BESIDE_STEPS, log_every=1)
    with tempfile.TemporaryDirectory(prefix="bench-train-") as scratch:
        job = TrainingJob.create(dataset, config, Path(scratch) / "run", Path(scratch), priority="idle")
        errors: list[BaseException] = []

        def run() -> None:
            try:
                job.run()
            except BaseException as exc:  # reported in the caller's thread
                errors.append(exc)

        thread = threading.Thread(target=run, name="bench-training", daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while job.record.step < 1:
                if not thread.is_alive() or time.monotonic() > deadline:
                    reason = errors[0] if errors else job.record.error or "it did not start in time"
                    raise RunError(f"the training job beside the loops did not start: {reason}")
                time.sleep(0.2)
            yield job
        finally:
            job.stop()
            thread.join(30.0)


def bench_loop_training(settings: Settings, seconds: float, dataset: Path, hogs: int = 0) -> LoopTrainingResult:
    """``bench_loop`` alone, then beside a training job on ``dataset``."""
    without = bench_loop(settings, seconds, hogs)
    with training_beside(dataset) as job:
        step0, t0 = job.record.step, job.record.seconds
        with_training = bench_loop(settings, seconds, hogs)
        steps, spent = job.record.step - step0, job.record.seconds - t0
        record = job.record
        training = TrainingBeside(
            policy=record.config.policy,
            parameters=record.parameters,
            priority=record.priority or "unknown",
            steps=steps,
            step_s=spent / steps if steps else float("nan"),
        )
    return LoopTrainingResult(
        seconds=seconds, hogs=hogs, without=without, with_training=with_training, training=training
    )
