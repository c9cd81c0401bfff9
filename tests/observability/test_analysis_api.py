"""Root-cause analysis and export over a stored execution: the kernel's events decide the cause
before a postcondition is blamed, the Pareto counts causes over a time range, and the exported
files read back with Rerun's and the MCAP library's own readers."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from mcap.reader import make_reader
from rerun.chunk import RrdReader
from typer.testing import CliRunner

from dynamical.api.app import create_app
from dynamical.api.auth import Scope, create_api_key
from dynamical.api.models import Execution, Robot, SafetyEvent
from dynamical.api.settings import ApiSettings
from dynamical.bench.observability import synthetic_recording
from dynamical.cli import app as cli
from dynamical.observability.rca import RULES
from dynamical.observability.recording import save_recording
from dynamical.safety.rules import Rule

FAILED = "11111111-1111-4111-8111-111111111111"
CLEAN = "22222222-2222-4222-8222-222222222222"
GRIP = "33333333-3333-4333-8333-333333333333"


@pytest.fixture
def settings(tmp_path: Path) -> ApiSettings:
    data_dir = tmp_path / "data"
    return ApiSettings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'dynamical.db'}")


@pytest.fixture
def app(settings: ApiSettings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def reader(app: FastAPI, client: TestClient) -> dict[str, str]:
    with app.state.db.session() as session:
        return {"X-API-Key": create_api_key(session, Scope.READ, "reader").key}


def _outcome(success: bool, failure: str | None, cause: str | None, holds: bool) -> dict:
    return {
        "skill": "place",
        "params": {"obj": "red_cube", "surface": "shelf", "side": "right"},
        "success": success,
        "failure": failure,
        "cause": cause,
        "duration_s": 6.0,
        "interventions": 40,
        "postconditions": [
            {
                "predicate": "at(obj=red_cube, surface=shelf)",
                "holds": holds,
                "detail": "red_cube is 0.2 m from the shelf",
            }
        ],
    }


def _store(app: FastAPI, request_id: str, status: str, steps: list[dict], events: list[tuple[float, Rule]]) -> None:
    with app.state.db.session() as session:
        if session.get(Robot, "r1") is None:
            session.add(Robot(id="r1", name="r1", profile="humanoid", kind="simulated"))
            session.flush()
        session.add(
            Execution(
                request_id=request_id,
                robot_id="r1",
                role="independent",
                mode="task",
                task_description="pick up the red cube and place it on the shelf",
                status=status,
                request={},
                plan={"steps": [{"step_id": f"s{i + 1}", "skill_ids": [s["skill"]]} for i, s in enumerate(steps)]},
                result={"outcome": {"steps": steps, "success": status == "succeeded"}},
                error=next((s["failure"] for s in steps if not s["success"]), None),
            )
        )
        session.flush()
        for k, (t, rule) in enumerate(events):
            session.add(
                SafetyEvent(
                    robot_id="r1", request_id=request_id, t=t, tick=k, rule=int(rule), rule_name=rule.name,
                    joint=3, value=-0.01, limit=0.0,
                )
            )  # fmt: skip


def test_kernel_events_decide_the_cause_before_the_postcondition(
    app: FastAPI, client: TestClient, reader: dict[str, str], settings: ApiSettings
) -> None:
    failure = "postcondition at(obj=red_cube, surface=shelf) does not hold: red_cube is 0.2 m from the shelf"
    steps = [_outcome(True, None, None, True), _outcome(False, failure, "postcondition", False)]
    recording = synthetic_recording(FAILED, 20.0)  # its steps s1..s3 carry robot-clock windows
    _store(app, FAILED, "failed", steps, [(e.t, Rule.KEEP_OUT_ZONE) for e in recording.events[:5]])
    save_recording(settings.data_dir, recording)

    answer = client.get(f"/api/v1/robot/executions/{FAILED}/analysis", headers=reader)
    assert answer.status_code == 200, answer.text
    analysis = answer.json()
    top = analysis["causes"][0]
    assert top["cause"] == "keep_out_zone"
    # The zone's and the monitored point's names, from the recorded telemetry, not a joint name.
    assert "'shelf_keepout'" in top["explanation"] and "r_hand" in top["explanation"]
    assert top["events"] and all(e["joint"] is None for e in top["events"])
    assert "postcondition" in [c["cause"] for c in analysis["causes"][1:]]
    assert analysis["failed_step"] == "s2" and analysis["events_by_rule"] == {"KEEP_OUT_ZONE": 5}


def test_a_clean_success_has_no_cause_and_unknown_ids_are_404(
    app: FastAPI, client: TestClient, reader: dict[str, str]
) -> None:
    _store(app, CLEAN, "succeeded", [_outcome(True, None, None, True)], [])
    assert client.get(f"/api/v1/robot/executions/{CLEAN}/analysis", headers=reader).json()["causes"] == []
    missing = client.get("/api/v1/robot/executions/99999999-9999-4999-8999-999999999999/analysis", headers=reader)
    assert missing.status_code == 404 and "no execution" in missing.json()["detail"]
    bad = client.get("/api/v1/robot/executions/not%20an%20id!/analysis", headers=reader)
    assert bad.status_code == 422


def test_pareto_of_causes_over_a_time_range(app: FastAPI, client: TestClient, reader: dict[str, str]) -> None:
    failure = "postcondition holding(obj=red_cube, side=right) does not hold"
    grip = _outcome(False, failure, "postcondition", False)
    grip["postconditions"] = [{"predicate": "holding(obj=red_cube, side=right)", "holds": False, "detail": "[]"}]
    _store(app, GRIP, "failed", [grip], [])
    _store(app, FAILED, "failed", [_outcome(False, "ESTOP (category 1)", "skill", False)], [(1.0, Rule.ESTOP)])
    _store(app, CLEAN, "succeeded", [_outcome(True, None, None, True)], [])
    now = datetime.now(UTC)
    params = {"since": (now - timedelta(hours=1)).isoformat(), "until": (now + timedelta(minutes=1)).isoformat()}
    pareto = client.get("/api/v1/analysis/causes", params=params, headers=reader).json()
    assert pareto["executions"] == 2
    assert Counter({c["cause"]: c["count"] for c in pareto["causes"]}) == Counter({"estop": 1, "grasp_missed": 1})
    assert pareto["causes"][-1]["cumulative_share"] == 1.0
    wrong = client.get(
        "/api/v1/analysis/causes", params={"since": params["until"], "until": params["since"]}, headers=reader
    )
    assert wrong.status_code == 422 and "before" in wrong.json()["detail"]
    rules = client.get("/api/v1/analysis/rules", headers=reader).json()
    assert [r["cause"] for r in rules] == [r.cause for r in RULES]
    assert all(r["evidence"] and r["remedy"] for r in rules)


def test_export_reads_back_with_rerun_and_mcap_readers(
    app: FastAPI, client: TestClient, reader: dict[str, str], settings: ApiSettings, tmp_path: Path
) -> None:
    recording = synthetic_recording(FAILED, 20.0)
    steps = [_outcome(False, "postcondition at(obj=red_cube, surface=shelf) does not hold", "postcondition", False)]
    _store(app, FAILED, "failed", steps, [(e.t, Rule.KEEP_OUT_ZONE) for e in recording.events])
    save_recording(settings.data_dir, recording)
    samples, joints, events = len(recording.samples), len(recording.joint_names), len(recording.events)

    rrd = tmp_path / "run.rrd"
    result = CliRunner().invoke(
        cli, ["export", FAILED, "--format", "rrd", "--out", str(rrd), "--data-dir", str(settings.data_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["joint_samples"] == samples
    store = RrdReader(rrd).store()
    rows = {str(c.entity_path): c.num_rows for c in store.stream().to_chunks()}
    joint_rows = [n for path, n in rows.items() if path.startswith("/robot/joints/")]
    assert len(joint_rows) == joints and set(joint_rows) == {samples}
    assert rows["/world/objects/red_cube"] == samples
    assert rows["/safety/events"] == events
    assert rows["/plan/steps"] == len(recording.steps)

    answer = client.get(f"/api/v1/robot/executions/{FAILED}/export", params={"format": "mcap"}, headers=reader)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/x-mcap"
    mcap = tmp_path / "run.mcap"
    mcap.write_bytes(answer.content)
    with open(mcap, "rb") as stream:
        mcap_reader = make_reader(stream)
        summary = mcap_reader.get_summary()
        assert summary is not None
        topics = {c.topic: summary.schemas[c.schema_id].name for c in summary.channels.values()}
        counts = Counter(channel.topic for _, channel, _ in mcap_reader.iter_messages())
    assert topics == {
        "/joint_states": "sensor_msgs/msg/JointState",
        "/tf": "foxglove.FrameTransforms",
        "/safety_events": "foxglove.Log",
        "/plan": "foxglove.Log",
    }
    assert counts == {"/joint_states": samples, "/tf": samples, "/safety_events": events, "/plan": len(recording.steps)}
    with open(mcap, "rb") as stream:
        first = next(
            json.loads(m.data) for _, c, m in make_reader(stream).iter_messages() if c.topic == "/safety_events"
        )
    assert "zone 'shelf_keepout' at r_hand" in first["message"]

    assert (
        client.get(f"/api/v1/robot/executions/{FAILED}/export", params={"format": "bag"}, headers=reader).status_code
        == 422
    )
    unknown = CliRunner().invoke(
        cli, ["export", CLEAN, "--out", str(tmp_path / "x.rrd"), "--data-dir", str(settings.data_dir)]
    )
    assert unknown.exit_code == 2 and "no execution" in unknown.output


def test_stored_zone_events_keep_the_zone_and_point_names(
    app: FastAPI, client: TestClient, reader: dict[str, str]
) -> None:
    """As the agent link stores them (the write-behind queue's record), with no recording to
    borrow names from: the analysis and the events API name the zone and the monitored point."""
    from dynamical.agent.messages import SafetyEventWire
    from dynamical.api.event_queue import apply, events_write
    from dynamical.api.models import utcnow

    failure = "postcondition holding(obj=red_cube, side=right) does not hold"
    _store(app, FAILED, "failed", [_outcome(False, failure, "postcondition", False)], [])
    zone = int(Rule.KEEP_OUT_ZONE)
    wires = [
        SafetyEventWire(seq=k, t=1.0 + k * 0.01, tick=1000 + k, rule=zone, joint=-1, value=-0.02, limit=0.0,
                        request_id=FAILED, zone="shelf_keepout", point="r_palm")
        for k in range(3)
    ]  # fmt: skip
    apply(app.state.db, events_write("r1", wires, utcnow()))

    analysis = client.get(f"/api/v1/robot/executions/{FAILED}/analysis", headers=reader).json()
    top = analysis["causes"][0]
    assert top["cause"] == "keep_out_zone"
    assert "keep-out zone 'shelf_keepout' stopped the r_palm" in top["explanation"]
    events = client.get("/api/safety/events", params={"request_id": FAILED}, headers=reader).json()
    assert [(e["rule_name"], e["zone"], e["point"], e["joint"]) for e in events] == [
        ("KEEP_OUT_ZONE", "shelf_keepout", "r_palm", -1)
    ] * 3
