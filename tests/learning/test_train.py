"""`dynamical train`: a tiny ACT trained by LeRobot in the learning environment, its run record and
database row, bad input, and a worker killed mid-training that resumes from its checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dynamical.api.db import Database
from dynamical.api.settings import SQLITE_FILE
from dynamical.api.training_store import LAUNCHER_GONE, get_run, list_runs, save_run
from dynamical.cli import app
from dynamical.learning import protocol
from dynamical.learning.runs import (
    MAX_CURVE_POINTS,
    RunError,
    RunRecord,
    TrainConfig,
    check_dataset,
    load_record,
)
from dynamical.learning.train_launcher import TrainingJob
from tests.learning.train_support import TINY_MODEL, tiny_dataset

runner = CliRunner()


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_dataset(tmp_path_factory.getbasetemp())


def _cli(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def _train_process(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    """`dynamical train` in its own process, as a person runs it (Ctrl+C, kill -9 apply to it alone)."""
    return subprocess.Popen(
        [sys.executable, "-m", "dynamical.cli", "train", "--data-dir", str(data_dir), "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(out: Path, predicate, what: str, proc: subprocess.Popen[str], timeout_s: float = 300.0) -> RunRecord:
    """Poll run.json until ``predicate(record)``; the CLI's stderr if it ends first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (out / protocol.RUN_JSON).is_file():
            record = load_record(out)
            if predicate(record):
                return record
        if proc.poll() is not None:
            raise AssertionError(f"`dynamical train` ended ({proc.returncode}) before {what}: {proc.stderr.read()}")
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout_s} s")


# ---- settings, records and rows (no learning environment needed) ---------------------------------


def test_worker_flags_carry_every_setting():
    config = TrainConfig(steps=50, chunk_size=4, dim_model=32, layers=1, lr=1e-4, inputs=["state", "images"])
    args = config.worker_args(Path("/d"), Path("/r"), resume=True)
    flags = dict(zip(args[::2], args[1::2], strict=False))
    assert flags["--dataset"] == "/d" and flags["--out"] == "/r" and flags["--steps"] == "50"
    assert flags["--chunk-size"] == "4" and flags["--dim-model"] == "32" and flags["--layers"] == "1"
    assert flags["--lr"] == "0.0001" and flags["--inputs"] == "state,images"
    assert args[-1] == "--resume"
    assert "--chunk-size" not in TrainConfig().worker_args(Path("/d"), Path("/r"), resume=False)


def test_loss_curve_stays_bounded_and_keeps_its_ends(tmp_path: Path):
    record = RunRecord(id="act-x", dataset="/d", out_dir=str(tmp_path), config=TrainConfig())
    for step in range(1, 3 * MAX_CURVE_POINTS):
        record.add_loss(step, 1.0 / step)
    steps = [p.step for p in record.loss_curve]
    assert len(steps) <= MAX_CURVE_POINTS + 1
    assert steps[0] == 1 and steps[-1] == 3 * MAX_CURVE_POINTS - 1 and steps == sorted(steps)
    record.add_loss(10, 0.5)  # a resumed run re-does the steps after its checkpoint
    assert record.loss_curve[-1].step == 10 and all(p.step < 10 for p in record.loss_curve[:-1])


def test_a_directory_that_is_not_a_dataset_is_refused(tmp_path: Path):
    with pytest.raises(RunError, match="not a LeRobot dataset"):
        check_dataset(tmp_path)
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "info.json").write_text('{"features": {"observation.state": {}}}')
    with pytest.raises(RunError, match="no 'action' feature"):
        check_dataset(tmp_path)


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path):
    data = str(tmp_path / "data")
    cases = [
        (["train", "--data-dir", data, "--dataset", str(tmp_path / "nowhere")], "not a LeRobot dataset"),
        (["train", "--data-dir", data], "--dataset is required"),
        (["train", "--data-dir", data, "--resume"], "--resume needs --out"),
        (["train", "--data-dir", data, "--out", str(tmp_path), "--resume"], "is not a training run"),
        (["train", "--data-dir", data, "--dataset", str(tmp_path), "--policy", "gpt"], "--policy"),
        (["train", "--data-dir", data, "--dataset", str(tmp_path), "--inputs", "smell"], "--inputs"),
        (["training", "show", "nope", "--data-dir", data], "no training run 'nope'"),
    ]
    for args, message in cases:
        result = _cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_a_missing_learning_environment_names_make_setup(tmp_path: Path):
    root = tmp_path / "ds"
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "info.json").write_text('{"features": {"action": {}}}')
    env = {protocol.ENV_LEARN_PYTHON: str(tmp_path / "no-python")}
    result = _cli("train", "--data-dir", str(tmp_path / "data"), "--dataset", str(root), env=env)
    assert result.exit_code == 2 and "make setup" in result.output
    db = Database(f"sqlite:///{tmp_path / 'data' / SQLITE_FILE}")
    try:
        [run] = list_runs(db)
    finally:
        db.dispose()
    assert run.status == "failed" and "make setup" in (run.error or "")


def test_a_running_row_whose_process_is_gone_reads_interrupted(tmp_path: Path):
    result = _cli("training", "runs", "--data-dir", str(tmp_path / "data"), "--json")
    assert result.exit_code == 0 and json.loads(result.output) == []
    db = Database(f"sqlite:///{tmp_path / 'data' / SQLITE_FILE}")
    try:
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        record = RunRecord(id="act-dead", dataset="/d", out_dir=str(tmp_path), config=TrainConfig(), status="running")
        record.pid = dead.pid
        save_run(db, record)
        alive = record.model_copy(update={"id": "act-alive", "pid": os.getpid()})
        save_run(db, alive)
        runs = {run.id: run for run in list_runs(db)}
        assert runs["act-dead"].status == "interrupted" and runs["act-dead"].error == LAUNCHER_GONE
        assert runs["act-alive"].status == "running"
        assert get_run(db, "act-dead").status == "interrupted"
    finally:
        db.dispose()


def test_a_run_directory_is_never_overwritten(tmp_path: Path):
    root = tmp_path / "ds"
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "info.json").write_text('{"features": {"action": {}}}')
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(RunError, match="not empty"):
        TrainingJob.create(root, TrainConfig(), out, tmp_path)
    assert (out / "keep.txt").read_text() == "mine"


# ---- real training in the learning environment -----------------------------------------------


@pytest.mark.slow
def test_killed_worker_leaves_the_run_interrupted_and_resume_continues_its_steps(dataset: Path, tmp_path: Path):
    data_dir, out = tmp_path / "data", tmp_path / "run"
    # So many steps that the run cannot end on its own before the kill: the race is decided.
    proc = _train_process(
        data_dir, "--dataset", str(dataset), "--out", str(out), "--steps", "1000000", "--save-every", "3",
        "--log-every", "1", *TINY_MODEL,
    )  # fmt: skip
    try:
        record = _wait_for(out, lambda r: (r.checkpoint_step or 0) >= 3, "a checkpoint", proc)
        assert record.status == "running" and record.priority in ("SCHED_IDLE", "nice 19")
        assert record.worker_pid is not None
        os.killpg(record.worker_pid, signal.SIGKILL)  # the learning process dies, its launcher lives
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "--resume" in stderr
    killed = load_record(out)
    assert killed.status == "interrupted" and "SIGKILL" in (killed.error or "")
    checkpoint = killed.checkpoint_step
    assert checkpoint is not None and checkpoint >= 3 and killed.step >= checkpoint

    # LeRobot's checkpoint layout, as L3's packaging reads it.
    pretrained = out / "checkpoints" / "last" / "pretrained_model"
    for name in ("config.json", "model.safetensors", "train_config.json", "policy_preprocessor.json"):
        assert (pretrained / name).is_file(), name
    assert json.loads((pretrained / "config.json").read_text())["type"] == "act"

    db = Database(f"sqlite:///{data_dir / SQLITE_FILE}")
    try:
        row = get_run(db, killed.id)
        assert row is not None and row.status == "interrupted" and row.checkpoint_step == checkpoint

        total = checkpoint + 4
        resumed = _cli("train", "--data-dir", str(data_dir), "--out", str(out), "--resume", "--steps", str(total))
        assert resumed.exit_code == 0, resumed.output
        record = load_record(out)
        assert record.status == "succeeded" and record.step == total and record.attempts == 2
        steps = [p.step for p in record.loss_curve]
        assert steps == sorted(set(steps)) and steps[-1] == total
        assert {checkpoint + 1, total} <= set(steps), "the resumed attempt logged from the checkpoint on"
        metrics = [json.loads(line)["step"] for line in (out / protocol.METRICS_JSONL).read_text().splitlines()]
        assert metrics == sorted(metrics) and metrics[-1] == total, "metrics.jsonl continues without a gap or repeat"

        row = get_run(db, record.id)
        assert row is not None and row.status == "succeeded" and row.step == total and row.attempts == 2
        assert [p.step for p in row.loss_curve] == steps
        finished = _cli("train", "--data-dir", str(data_dir), "--out", str(out), "--resume")
        assert finished.exit_code == 2 and "pass a larger --steps" in finished.output
    finally:
        db.dispose()

    shown = _cli("training", "show", record.id, "--data-dir", str(data_dir))
    assert shown.exit_code == 0 and "succeeded" in shown.output and str(total) in shown.output
