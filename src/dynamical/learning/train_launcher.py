"""Run a training job: the learn-side worker at idle priority, its progress kept in the run record.

``TrainingJob.create`` starts a new run, ``TrainingJob.resume`` continues one from its last
checkpoint (LeRobot's resume: weights, optimizer, scheduler, RNG and data order). ``run()`` blocks
until the worker ends; ``stop()`` (any thread) ends it early. Every change of the record is written
to ``run.json`` and handed to the listener (the CLI's progress bar, the database row): progress at
most once per ``update_interval_s``, every status change and checkpoint at once.

How a run ends: ``succeeded`` (the worker said done), ``failed`` (it reported an error or exited
with one), ``interrupted`` (stopped, killed by a signal, or the launcher itself was interrupted):
an interrupted run resumes from ``checkpoint_step``.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dynamical.learning.env import LearnEnvError, LearnWorkerError, Priority, Worker
from dynamical.learning.runs import (
    ACTIVE,
    RunError,
    RunRecord,
    TrainConfig,
    check_dataset,
    load_record,
    new_run_id,
    pid_alive,
)

WORKER_MODULE = "train"
Listener = Callable[[RunRecord], None]


class TrainingJob:
    """One attempt at a run (a new run, or a resume of an interrupted one)."""

    def __init__(
        self,
        record: RunRecord,
        *,
        resume: bool,
        priority: Priority = "idle",
        listener: Listener | None = None,
        update_interval_s: float = 1.0,
    ) -> None:
        self.record = record
        self.resume_from_checkpoint = resume
        self.priority: Priority = priority
        self._listener = listener
        self._interval = update_interval_s
        self._last_update = 0.0
        self._stop = threading.Event()
        self._worker: Worker | None = None
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls, dataset: Path, config: TrainConfig, out_dir: Path | None, runs_dir: Path, **kwargs: Any
    ) -> TrainingJob:
        """A new run of ``config`` on ``dataset`` into ``out_dir`` (default ``runs_dir/<run id>``)."""
        root = check_dataset(dataset)
        run_id = new_run_id(config.policy)
        out = (out_dir if out_dir is not None else runs_dir / run_id).expanduser().resolve()
        if out.exists() and any(out.iterdir()):
            raise RunError(f"{out} is not empty: choose another --out, or --resume the run it holds")
        record = RunRecord(id=run_id, dataset=str(root), out_dir=str(out), config=config)
        record.save()
        return cls(record, resume=False, **kwargs)

    @classmethod
    def resume(cls, out_dir: Path, steps: int | None = None, device: str | None = None, **kwargs: Any) -> TrainingJob:
        """Continue the run in ``out_dir`` from its last checkpoint, to ``steps`` (default: its own total)."""
        out = out_dir.expanduser().resolve()
        record = load_record(out)
        if record.status in ACTIVE and record.host == _host() and pid_alive(record.pid) and record.pid != os.getpid():
            raise RunError(f"run {record.id} is being trained now by process {record.pid}")
        if record.status == "succeeded" and (steps is None or steps <= record.step):
            raise RunError(f"run {record.id} finished its {record.step} steps: pass a larger --steps to train on")
        if not (out / "checkpoints" / "last").exists():
            raise RunError(f"run {record.id} has no checkpoint to resume from: start it again without --resume")
        check_dataset(Path(record.dataset))
        update: dict[str, Any] = {}
        if steps is not None:
            update["steps"] = steps
        if device is not None:
            update["device"] = device
        record.config = record.config.model_copy(update=update)
        return cls(record, resume=True, **kwargs)

    def run(self) -> RunRecord:
        """Train until the worker ends; the record as it ended (also in ``run.json``)."""
        record = self.record
        record.status = "running"
        record.attempts += 1
        record.pid = os.getpid()
        record.host = _host()
        record.error = None
        record.finished_at = None
        record.started_at = record.started_at or datetime.now(UTC)
        base_seconds = record.seconds
        self._publish(force=True)
        try:
            with self._lock:
                if self._stop.is_set():
                    raise _StoppedBeforeStartError
                self._worker = Worker(
                    WORKER_MODULE,
                    record.config.worker_args(Path(record.dataset), Path(record.out_dir), self.resume_from_checkpoint),
                    priority=self.priority,
                )
            record.priority = self._worker.applied_priority
            record.worker_pid = self._worker.pid
            self._publish(force=True)
            for message in self._worker.messages():
                self._handle(message, base_seconds)
            record.status = "succeeded"
        except _StoppedBeforeStartError:
            self._end("interrupted", f"stopped at step {record.step}")
        except LearnEnvError as exc:
            self._end("failed", str(exc))
            raise RunError(str(exc)) from None
        except LearnWorkerError as exc:
            self._end(*self._classify(exc))
        except KeyboardInterrupt:
            self._end("interrupted", f"interrupted at step {record.step}")
            raise
        finally:
            if self._worker is not None:
                self._worker.stop()
            record.finished_at = datetime.now(UTC)
            self._publish(force=True)
        return record

    def stop(self) -> None:
        """End the run early (it becomes ``interrupted``, resumable from its last checkpoint)."""
        self._stop.set()
        with self._lock:
            worker = self._worker
        if worker is not None:
            worker.stop()

    @property
    def worker_pid(self) -> int | None:
        return self._worker.pid if self._worker is not None else None

    def _handle(self, message: dict[str, Any], base_seconds: float) -> None:
        record = self.record
        event = message.get("event")
        if event == "log" and message.get("phase") == "started":
            record.step = int(message["start_step"])
            record.loss_curve = [p for p in record.loss_curve if p.step <= record.step]
            record.parameters = message.get("parameters")
            self._publish(force=True)
        elif event == "progress":
            record.step = int(message["step"])
            if message.get("loss") is not None:
                record.add_loss(record.step, float(message["loss"]))
            record.seconds = base_seconds + float(message.get("seconds") or 0.0)
            if message.get("checkpoint"):
                record.checkpoint_step = record.step
            self._publish(force=bool(message.get("checkpoint")))
        elif event == "done":
            record.step = int(message.get("step", record.step))
            record.checkpoint_step = record.step

    def _classify(self, exc: LearnWorkerError) -> tuple[str, str]:
        step = self.record.step
        if self._stop.is_set():
            return "interrupted", f"stopped at step {step}"
        code = self._worker.proc.poll() if self._worker is not None else None
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
            return "interrupted", f"the training process was killed ({name}) at step {step}"
        return "failed", str(exc)

    def _end(self, status: str, error: str) -> None:
        self.record.status = status  # type: ignore[assignment]
        self.record.error = error

    def _publish(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_update < self._interval:
            return
        self._last_update = now
        self.record.save()
        if self._listener is not None:
            self._listener(self.record)


class _StoppedBeforeStartError(Exception):
    """stop() came before the worker started."""


def _host() -> str:
    return socket.gethostname()
