"""The cascade: the cheap tier on every frame, the big models asynchronously when triggered.

Triggers: an object a task names that the cheap tier cannot find, an object seen with low
confidence, a new scene. Each model has one worker thread (the executive's tier 2: never the
200 Hz or the 1 kHz loop) and at most one job queued: a trigger while its model is busy is
coalesced, not queued behind. A job still running after the model's ``timeout_s`` is abandoned:
its result, when it comes, is dropped and counted, never applied late.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

Trigger = Literal["missing_object", "low_confidence", "new_scene"]


@dataclass(frozen=True)
class CascadeResult:
    model: str
    trigger: Trigger
    subject: str
    """What triggered it: an object name, a prompt, a camera."""
    submitted_t: float
    """s, robot clock when triggered."""
    latency_s: float
    value: Any = None
    error: str | None = None


@dataclass
class _Job:
    trigger: Trigger
    subject: str
    submitted_t: float
    started: float
    future: Future[Any] = field(repr=False)


class Cascade:
    def __init__(self, timeouts_s: dict[str, float]) -> None:
        """``timeouts_s``: model key → seconds a job may run."""
        self._timeouts = dict(timeouts_s)
        self._pools = {k: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"perception-{k}") for k in timeouts_s}
        self._running: dict[str, _Job] = {}
        self._lock = threading.RLock()
        self.timed_out = 0
        self.coalesced = 0
        self.late_dropped = 0

    def trigger(self, model: str, trigger: Trigger, subject: str, now: float, job: Callable[[], Any]) -> bool:
        """Run ``job`` on ``model``'s worker; False (coalesced) while that model is busy."""
        if model not in self._pools:
            raise KeyError(f"no model {model!r} in the cascade; it has {sorted(self._pools)}")
        with self._lock:
            if model in self._running:
                self.coalesced += 1
                return False
            future = self._pools[model].submit(job)
            self._running[model] = _Job(trigger, subject, now, time.monotonic(), future)
            return True

    def busy(self, model: str) -> bool:
        with self._lock:
            return model in self._running

    def poll(self) -> list[CascadeResult]:
        """Results of the jobs that finished in time, and a result with ``error`` for each that
        failed or ran past its timeout (that job's late value is dropped)."""
        out = []
        with self._lock:
            for model, job in list(self._running.items()):
                if job.started == float("inf"):
                    continue  # abandoned: released when it returns, its value never delivered
                elapsed = time.monotonic() - job.started
                if job.future.done():
                    del self._running[model]
                    exc = job.future.exception()
                    if elapsed > self._timeouts[model] and exc is None:
                        self.late_dropped += 1
                        out.append(self._result(model, job, elapsed, error="finished after its timeout: dropped"))
                    elif exc is not None:
                        out.append(self._result(model, job, elapsed, error=f"{type(exc).__name__}: {exc}"))
                    else:
                        out.append(self._result(model, job, elapsed, value=job.future.result()))
                elif elapsed > self._timeouts[model]:
                    # A running torch call cannot be interrupted: it is abandoned, and its worker
                    # stays busy (so nothing queues behind it) until it returns.
                    self.timed_out += 1
                    self._running[model] = _Job(job.trigger, job.subject, job.submitted_t, float("inf"), job.future)
                    job.future.add_done_callback(lambda _f, m=model: self._release(m))
                    out.append(self._result(model, job, elapsed, error=f"timed out after {self._timeouts[model]:g} s"))
        return out

    def _release(self, model: str) -> None:
        with self._lock:
            job = self._running.get(model)
            if job is not None and job.started == float("inf"):
                del self._running[model]

    @staticmethod
    def _result(model: str, job: _Job, elapsed: float, value: Any = None, error: str | None = None) -> CascadeResult:
        return CascadeResult(
            model=model,
            trigger=job.trigger,
            subject=job.subject,
            submitted_t=job.submitted_t,
            latency_s=elapsed,
            value=value,
            error=error,
        )

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)


def plan_triggers(
    seen: dict[str, float], wanted: set[str], min_confidence: float, scene_changed: bool, camera: str
) -> list[tuple[str, Trigger, str]]:
    """Which big-model jobs the cheap tier's latest result calls for: (model, trigger, subject).

    ``seen``: object → confidence from the cheap tier; ``wanted``: objects the current task
    names. A named object not seen goes to SAM 3 (prompted with its name); one seen with low
    confidence to DINOv3 (re-identification); a new scene to V-JEPA 2 (risk) and DINOv3."""
    out: list[tuple[str, Trigger, str]] = []
    for name in sorted(wanted):
        if name not in seen:
            out.append(("sam3", "missing_object", name))
    for name, confidence in sorted(seen.items()):
        if confidence < min_confidence:
            out.append(("dinov3", "low_confidence", name))
    if scene_changed:
        out.append(("vjepa2", "new_scene", camera))
    return out


def prompt_for(name: str) -> str:
    """A text prompt for SAM 3 from an object's name: ``red_cup`` → ``the red cup``."""
    return "the " + name.replace("_", " ")
