"""The learning tier's launcher (``learning/env.py``): priority, protocol, errors, process group.

The worker here is a small module of the tests run with this interpreter: what is tested is the
launcher, not LeRobot (the recording tests run the real writer in .venv-learn)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from dynamical.learning import protocol
from dynamical.learning.env import LearnEnvError, LearnWorkerError, Worker, learn_python

REPO = Path(__file__).resolve().parents[2]
PYTHON = Path(sys.executable)


def _worker(mode: str, **kwargs) -> Worker:
    return Worker("tests.learning.protocol_worker", [mode], python=PYTHON, cwd=REPO, **kwargs)


def test_idle_worker_gets_idle_priority_one_thread_and_a_clean_protocol() -> None:
    with _worker("report", priority="idle", stdin=True) as worker:
        assert worker.applied_priority in ("SCHED_IDLE", "nice 19")
        worker.send({"command": "finish"})
        worker.close_stdin()
        messages = list(worker.messages())
        assert worker.wait(timeout=30) == 0
    assert [m["event"] for m in messages] == ["progress", "done"]
    done = messages[-1]
    assert done["idle"] or done["nice"] == 19
    assert done["omp"] == "1" and done["torch_threads"] == "1"
    assert done["echo"] == [{"command": "finish"}]
    assert "a library printing to stdout" in worker.stderr_tail()


def test_low_worker_is_niced_but_not_idle() -> None:
    with _worker("report", priority="low") as worker:
        done = worker.next_message("done")
    assert worker.applied_priority == f"nice {max(10, os.nice(0))}"
    assert not done["idle"] and done["nice"] == max(10, os.nice(0)) and done["omp"] == "1"


def test_normal_worker_keeps_its_priority() -> None:
    with _worker("report", priority="normal") as worker:
        done = worker.next_message("done")
    assert worker.applied_priority == "normal"
    assert not done["idle"] and done["nice"] == os.nice(0)


def test_worker_errors_are_one_clear_message() -> None:
    with _worker("error") as worker, pytest.raises(LearnWorkerError, match="has no action feature"):
        worker.next_message("done")
    with _worker("crash") as worker, pytest.raises(LearnWorkerError, match="status 3") as caught:
        worker.next_message("done")
    assert "something broke" in str(caught.value)


def test_stop_kills_the_whole_process_group() -> None:
    worker = _worker("child")
    grandchild = int(worker.next_message("log")["message"])
    os.kill(grandchild, 0)  # alive
    worker.stop(grace_s=2.0)
    assert worker.proc.returncode is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the worker's child {grandchild} outlived it")


def test_missing_learn_environment_names_make_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(protocol.ENV_LEARN_PYTHON, str(tmp_path / "nope" / "python"))
    with pytest.raises(LearnEnvError, match="make setup"):
        learn_python()


def test_messages_are_strict_json() -> None:
    line = protocol.encode({"event": "progress", "loss": float("nan"), "step": 1})
    assert protocol.decode(line) == {"event": "progress", "loss": None, "step": 1}
    for bad in ("not json", "[1, 2]", '{"x": 1}'):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode(bad)
