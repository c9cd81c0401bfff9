"""The learning environment seen from the runtime: find its Python, launch a worker in it, talk to it.

The learning tier runs in its own environment (``.venv-learn``: Python 3.12, LeRobot, torch) as its
own process, at the lowest priority when it shares the robot's computer. A worker is a module of
``dynamical.learning.lerobot_side`` run with that interpreter; it answers with JSON lines on stdout
(``protocol``) and may read commands on stdin. Its stderr is kept (the tail) for error messages.
It leads its own process group, so stopping it stops whatever it started (data loaders, encoders).
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from dynamical.learning import protocol

Priority = Literal["idle", "low", "normal"]
"""``idle``: SCHED_IDLE (else nice 19), for training: it runs only on time nobody else wants.
``low``: nice 10, for work that must finish even on a busy machine (writing a recording), yet
yields to the robot. Both get one thread per math library."""
LOW_NICE = 10
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_LEARN_PYTHON = REPO_ROOT / ".venv-learn" / "bin" / "python"
WORKER_PACKAGE = "dynamical.learning.lerobot_side"
STDERR_TAIL_LINES = 200
STOP_GRACE_S = 5.0
"""s a worker has to exit after SIGTERM before its group gets SIGKILL."""


class LearnEnvError(RuntimeError):
    """The learning environment is missing or unusable; the message says how to fix it."""


class LearnWorkerError(RuntimeError):
    """A worker reported an error or died; the message is its error or the end of its stderr."""


def learn_python() -> Path:
    """The learning environment's interpreter: ``$DYNAMICAL_LEARN_PYTHON``, else
    ``<repo>/.venv-learn/bin/python``. Raises LearnEnvError naming ``make setup`` when missing."""
    configured = os.environ.get(protocol.ENV_LEARN_PYTHON)
    path = Path(configured) if configured else DEFAULT_LEARN_PYTHON
    if not path.is_file() or not os.access(path, os.X_OK):
        where = f"{protocol.ENV_LEARN_PYTHON}={configured}" if configured else str(path)
        raise LearnEnvError(
            f"the learning environment's Python is missing ({where}): run `make setup` to build .venv-learn"
        )
    return path


def worker_env(priority: Priority, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The worker's environment: the project's source importable, offline hubs, and one thread
    per math library at idle priority (a training job beside a robot must not take both cores)."""
    env = dict(os.environ)
    src = str(REPO_ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("HF_DATASETS_OFFLINE", "1")
    env.setdefault("WANDB_MODE", "disabled")
    env["PYTHONUNBUFFERED"] = "1"
    if priority in ("idle", "low"):
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", protocol.ENV_TORCH_THREADS):
            env[name] = "1"
    env.update(extra or {})
    return env


def _lower_priority() -> None:
    """In the child before exec: SCHED_IDLE where the kernel allows it, else nice 19."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, PermissionError, OSError):
        os.nice(19 - os.nice(0))


def _nice_low() -> None:
    """In the child before exec: nice 10 (never less nice than the parent)."""
    os.nice(max(0, LOW_NICE - os.nice(0)))


class Worker:
    """A running learn-side worker. Iterate ``messages()``; ``send()`` commands; ``stop()`` it.

    A context manager: leaving the block stops the worker's whole process group if still alive."""

    def __init__(
        self,
        module: str,
        args: Sequence[str] = (),
        *,
        priority: Priority = "normal",
        stdin: bool = False,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        python: Path | None = None,
    ) -> None:
        """``module``: a worker under ``dynamical.learning.lerobot_side`` (``"record_writer"``) or
        a full module name. ``stdin``: whether the worker reads commands (``send``)."""
        interpreter = python or learn_python()
        name = module if "." in module else f"{WORKER_PACKAGE}.{module}"
        self.module = name
        self.priority = priority
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self.proc = subprocess.Popen(
            [str(interpreter), "-m", name, *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            env=worker_env(priority, env),
            cwd=cwd,
            start_new_session=True,
            # Runs between fork and exec, before the child has threads of its own.
            preexec_fn={"idle": _lower_priority, "low": _nice_low}.get(priority),
        )
        self.applied_priority = self._applied_priority()
        """What the OS granted: "SCHED_IDLE", "nice 19" (SCHED_IDLE refused) or "normal"."""
        self._stderr_reader = threading.Thread(target=self._read_stderr, name=f"{name}-stderr", daemon=True)
        self._stderr_reader.start()
        self.result: dict[str, Any] | None = None
        """The worker's ``done`` message, once it came."""

    def _applied_priority(self) -> str:
        if self.priority == "normal":
            return "normal"
        if self.priority == "low":
            try:
                return f"nice {os.getpriority(os.PRIO_PROCESS, self.proc.pid)}"
            except OSError:  # already gone
                return f"nice {LOW_NICE}"
        try:
            if os.sched_getscheduler(self.proc.pid) == os.SCHED_IDLE:
                return "SCHED_IDLE"
        except (AttributeError, OSError):
            pass
        try:
            return f"nice {os.getpriority(os.PRIO_PROCESS, self.proc.pid)}"
        except OSError:  # already gone
            return "nice 19"

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stderr_tail(self, lines: int = 20) -> str:
        return "\n".join(list(self._stderr)[-lines:])

    def send(self, command: dict[str, Any]) -> None:
        """One command on the worker's stdin; raises LearnWorkerError if it is gone."""
        if self.proc.stdin is None:
            raise RuntimeError(f"{self.module} was started without stdin")
        try:
            self.proc.stdin.write(protocol.encode(command))
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise LearnWorkerError(self._death_message()) from None

    def close_stdin(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()

    def messages(self) -> Iterator[dict[str, Any]]:
        """The worker's messages as they come, until ``done`` (yielded, then the iteration ends).

        A line that is not a message (a library printing to stdout) is kept with stderr. Raises
        LearnWorkerError on an ``error`` message, or when the worker exits without ``done``."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.strip():
                continue
            try:
                message = protocol.decode(line)
            except protocol.ProtocolError:
                self._stderr.append(line.rstrip("\n"))
                continue
            event = message.get("event")
            if event == "error":
                raise LearnWorkerError(f"{self.module}: {message.get('message', 'unknown error')}")
            yield message
            if event == "done":
                self.result = message
                return
        raise LearnWorkerError(self._death_message())

    def next_message(self, event: str) -> dict[str, Any]:
        """Read messages until one with ``event`` (progress and log messages in between are dropped)."""
        for message in self.messages():
            if message.get("event") == event:
                return message
        raise LearnWorkerError(f"{self.module} ended before sending {event!r}")

    def _death_message(self) -> str:
        code = self.proc.wait(timeout=STOP_GRACE_S)
        self._stderr_reader.join(timeout=1.0)
        tail = self.stderr_tail(12) or "(no output on stderr)"
        return f"{self.module} exited with status {code} before it was done:\n{tail}"

    def wait(self, timeout: float | None = None) -> int:
        code = self.proc.wait(timeout=timeout)
        self._stderr_reader.join(timeout=1.0)
        return code

    def stop(self, grace_s: float = STOP_GRACE_S) -> int:
        """SIGTERM to the worker's process group, SIGKILL after ``grace_s``; its exit status."""
        self.close_stdin()
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait()
        # Its children may outlive it in the group (a data loader): the group goes with it.
        self._signal_group(signal.SIGKILL)
        self._stderr_reader.join(timeout=1.0)
        return self.proc.returncode

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_worker(module: str, args: Sequence[str] = (), **kwargs: Any) -> dict[str, Any]:
    """Run a worker to its end and return its ``done`` message (progress is dropped)."""
    with Worker(module, args, **kwargs) as worker:
        result = worker.next_message("done")
        worker.wait(timeout=STOP_GRACE_S * 6)
        return result
