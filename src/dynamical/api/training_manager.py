"""Training runs the server starts on its own machine (``POST /api/v1/training/runs``).

One run at a time: training shares the robot's computer at idle priority, and two jobs would only
split the idle time between them. Each run trains in a thread of the server that follows its
worker process and writes the database row as it goes. When the server stops, a run still going
is stopped and left ``interrupted`` (resumable with ``dynamical train --out DIR --resume``).
"""

from __future__ import annotations

import atexit
import logging
import threading
from pathlib import Path

from dynamical.api.db import Database
from dynamical.api.errors import ConflictError
from dynamical.api.training_store import save_run
from dynamical.learning.env import learn_python
from dynamical.learning.runs import RunRecord, TrainConfig, check_dataset
from dynamical.learning.train_launcher import TrainingJob

log = logging.getLogger(__name__)


class TrainingManager:
    def __init__(self, db: Database, runs_dir: Path) -> None:
        self.db = db
        self.runs_dir = runs_dir
        self._lock = threading.Lock()
        self._job: TrainingJob | None = None
        self._thread: threading.Thread | None = None
        atexit.register(self.shutdown)

    def start(self, dataset: Path, config: TrainConfig) -> RunRecord:
        """Start a run (its row exists when this returns). ConflictError while another one trains,
        LearnEnvError without a learning environment, RunError for a dataset it cannot train on."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                assert self._job is not None
                raise ConflictError(f"run {self._job.record.id} is training: one run at a time on this machine")
            check_dataset(dataset)  # the request's own fault (422) before the machine's (503)
            learn_python()  # a missing learning environment is the caller's answer, not a failed row
            job = TrainingJob.create(
                dataset, config, None, self.runs_dir, listener=lambda record: save_run(self.db, record)
            )
            save_run(self.db, job.record)
            self._job = job
            name = f"training-{job.record.id}"
            self._thread = threading.Thread(target=self._run, args=(job,), name=name, daemon=True)
            self._thread.start()
            return job.record.model_copy(deep=True)

    def _run(self, job: TrainingJob) -> None:
        try:
            job.run()
        except Exception:  # a thread has nobody to raise to: the row says failed, the log says why
            log.exception("training run %s failed", job.record.id)
            job.record.status = "failed"
            save_run(self.db, job.record)

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop a run still training and wait for its row to say so."""
        with self._lock:
            job, thread = self._job, self._thread
        if job is None or thread is None or not thread.is_alive():
            return
        job.stop()
        thread.join(timeout_s)
