"""``/api/v1/training/runs``: listing, one run with its loss curve, unknown ids, bad bodies, scopes,
and a run started on the server's machine (one at a time) that stops with the server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dynamical.api.db import Database
from dynamical.api.training_store import save_run
from dynamical.learning.runs import RunRecord, TrainConfig
from tests.api.conftest import auth
from tests.learning.train_support import tiny_dataset

RUNS = "/api/v1/training/runs"


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_dataset(tmp_path_factory.getbasetemp())


def _record(run_id: str, status: str = "succeeded") -> RunRecord:
    record = RunRecord(
        id=run_id,
        dataset="/data/datasets/pick",
        out_dir=f"/data/training/runs/{run_id}",
        config=TrainConfig(steps=30, chunk_size=10),
        status=status,  # type: ignore[arg-type]
        step=30,
        checkpoint_step=30,
        parameters=1234,
        priority="SCHED_IDLE",
        attempts=1,
    )
    for step in (10, 20, 30):
        record.add_loss(step, 1.0 / step)
    return record


def test_list_and_show_runs_with_their_loss_curves(client: TestClient, db: Database, keys: dict[str, str]):
    assert client.get(RUNS, headers=auth(keys["read"])).json() == []
    save_run(db, _record("act-older"))
    save_run(db, _record("act-newer", status="failed"))
    listed = client.get(RUNS, headers=auth(keys["read"])).json()
    assert [run["id"] for run in listed] == ["act-newer", "act-older"]
    assert listed[0]["status"] == "failed" and listed[1]["loss"] == pytest.approx(1 / 30)
    assert "loss_curve" not in listed[0]

    run = client.get(f"{RUNS}/act-older", headers=auth(keys["read"])).json()
    assert run["status"] == "succeeded" and run["policy"] == "act" and run["total_steps"] == 30
    assert run["config"]["chunk_size"] == 10 and run["parameters"] == 1234
    assert [p["step"] for p in run["loss_curve"]] == [10, 20, 30]
    assert client.get(RUNS, params={"limit": 1}, headers=auth(keys["read"])).json()[0]["id"] == "act-newer"


def test_unknown_and_malformed_ids_and_bodies_are_refused(client: TestClient, keys: dict[str, str], tmp_path: Path):
    read, operate = auth(keys["read"]), auth(keys["operate"])
    missing = client.get(f"{RUNS}/act-nope", headers=read)
    assert missing.status_code == 404 and "act-nope" in missing.json()["detail"]
    assert client.get(f"{RUNS}/bad%20id", headers=read).status_code == 422
    assert client.get(RUNS, params={"limit": 0}, headers=read).status_code == 422
    assert client.post(RUNS, json={"dataset": str(tmp_path)}, headers=read).status_code == 403
    bodies = [
        ({"dataset": str(tmp_path)}, "not a LeRobot dataset"),
        ({"dataset": "no-such-dataset"}, "not a LeRobot dataset"),
        ({"dataset": "../etc"}, "no slashes"),
        ({"dataset": "x", "policy": "gpt"}, None),
        ({"dataset": "x", "steps": 0}, None),
        ({"dataset": "x", "lr": -1.0}, None),
        ({"dataset": "x", "inputs": ["smell"]}, None),
        ({"dataset": "x", "unknown": 1}, None),
        ({}, None),
    ]
    for body, message in bodies:
        response = client.post(RUNS, json=body, headers=operate)
        assert response.status_code == 422, (body, response.text)
        if message:
            assert message in response.json()["detail"], (body, response.text)
    json_type = {**operate, "content-type": "application/json"}
    for raw in (b"{not json", b'{"dataset": "x", "lr": NaN}', b'{"dataset": "x", "steps": Infinity}'):
        assert client.post(RUNS, content=raw, headers=json_type).status_code == 422, raw
    assert client.get(RUNS, headers=read).json() == [], "nothing refused left a row"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])  # the rows are tested on both; one real run is enough
def test_a_started_run_trains_on_the_server_one_at_a_time_and_stops_with_it(
    app: FastAPI, client: TestClient, keys: dict[str, str], dataset: Path
):
    operate = auth(keys["operate"])
    body = {"dataset": str(dataset), "steps": 1_000_000, "chunk_size": 4, "dim_model": 32, "layers": 1}
    body |= {"batch_size": 4, "log_every": 1, "save_every": 1000}
    started = client.post(RUNS, json=body, headers=operate)
    assert started.status_code == 201, started.text
    run_id = started.json()["id"]
    assert started.json()["status"] in ("pending", "running")
    # The run cannot end by itself (a million steps), so it is still training for the second start.
    second = client.post(RUNS, json=body, headers=operate)
    assert second.status_code == 409 and run_id in second.json()["detail"]

    deadline = time.monotonic() + 300
    run = started.json()
    while time.monotonic() < deadline and not (run["status"] == "running" and run["step"] >= 2):
        assert run["status"] in ("pending", "running"), run
        time.sleep(0.5)
        run = client.get(f"{RUNS}/{run_id}", headers=auth(keys["read"])).json()
    assert run["status"] == "running" and run["step"] >= 2, run
    assert run["priority"] in ("SCHED_IDLE", "nice 19") and run["loss_curve"]
    assert Path(run["out_dir"]).parent == app.state.settings.data_dir / "training" / "runs"

    app.state.training.shutdown()  # what the server does when it stops
    run = client.get(f"{RUNS}/{run_id}", headers=auth(keys["read"])).json()
    assert run["status"] == "interrupted" and run["finished_at"] is not None
