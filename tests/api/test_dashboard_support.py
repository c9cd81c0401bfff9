"""What the dashboard needs of the server beside the agent link: the static build at ``/`` with
its client-side routes, the list of recent executions, the robot model lookup, and the planned
hand path in progress telemetry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dynamical.agent.plan_runner import StepProgress
from dynamical.api.agent_link import planned_hands
from dynamical.api.models import Execution, Robot, utcnow
from dynamical.api.server import build_server
from dynamical.api.settings import ApiSettings
from dynamical.skills.runner import PhaseSummary, SkillOutcome, TrajectorySummary
from tests.api.conftest import auth

INDEX = "<!doctype html><title>dashboard</title>"


@pytest.fixture
def ui_dir(tmp_path: Path) -> Path:
    build = tmp_path / "dist"
    (build / "assets").mkdir(parents=True)
    (build / "index.html").write_text(INDEX)
    (build / "assets" / "index-3f2a.js").write_text("console.log('app')")
    (build / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not for the web")
    return build


@pytest.fixture
def app(api_settings: ApiSettings, ui_dir: Path) -> FastAPI:
    return build_server(api_settings.model_copy(update={"ui_dir": ui_dir}), prepare_database=False, warm_up=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def test_the_build_is_served_with_client_routes(client: TestClient) -> None:
    for path in ("/", "/dashboard", "/safety", "/observability/abc"):
        page = client.get(path)
        assert page.status_code == 200 and page.text == INDEX, path
        assert page.headers["cache-control"] == "no-cache"
    asset = client.get("/assets/index-3f2a.js")
    assert asset.text == "console.log('app')" and "immutable" in asset.headers["cache-control"]
    assert client.get("/favicon.svg").text == "<svg/>"
    # Outside the build: the app's page, never the file.
    assert "not for the web" not in client.get("/../secret.txt").text
    assert "not for the web" not in client.get("/assets/%2e%2e/%2e%2e/secret.txt").text


def test_api_paths_never_fall_through_to_the_page(client: TestClient, keys: dict[str, str]) -> None:
    for path in ("/api/v1/nope", "/api/safety/nothing", "/ws/nothing"):
        answer = client.get(path, headers=auth(keys["read"]))
        assert answer.status_code == 404 and answer.headers["content-type"] == "application/json", path
    assert client.get("/health").json()["status"] in ("ok", "degraded")
    assert client.get("/openapi.json").json()["info"]["title"]
    assert "/{path}" not in client.get("/openapi.json").json()["paths"]


def test_an_unbuilt_dashboard_says_how_to_build_it(api_settings: ApiSettings, tmp_path: Path) -> None:
    settings = api_settings.model_copy(update={"ui_dir": tmp_path / "nothing"})
    with TestClient(build_server(settings, prepare_database=False, warm_up=False)) as client:
        page = client.get("/dashboard")
        assert page.status_code == 503 and "make up" in page.text


def _execution(request_id: str, robot_id: str, status: str, minutes_ago: int) -> Execution:
    return Execution(
        request_id=request_id,
        robot_id=robot_id,
        role="solo",
        mode="auto",
        task_description=f"task {request_id}",
        status=status,
        request={},
        created_at=utcnow() - timedelta(minutes=minutes_ago),
    )


def test_recent_executions_newest_first_and_filtered(app: FastAPI, client: TestClient, keys: dict[str, str]) -> None:
    with app.state.db.session() as session:
        for rid in ("thor_001", "thor_002"):
            session.add(Robot(id=rid, name=rid, profile="humanoid", kind="simulated", registered_at=utcnow()))
        session.flush()
        session.add_all(
            [
                _execution("0000000a", "thor_001", "succeeded", 30),
                _execution("0000000b", "thor_002", "failed", 20),
                _execution("0000000c", "thor_001", "running", 10),
            ]
        )
    read = auth(keys["read"])
    listed = client.get("/api/v1/robot/executions", headers=read)
    assert listed.status_code == 200, listed.text
    assert [e["request_id"] for e in listed.json()] == ["0000000c", "0000000b", "0000000a"]
    mine = client.get("/api/v1/robot/executions", params={"robot_id": "thor_001"}, headers=read).json()
    assert [e["request_id"] for e in mine] == ["0000000c", "0000000a"]
    failed = client.get("/api/v1/robot/executions", params={"status": "failed"}, headers=read).json()
    assert [e["request_id"] for e in failed] == ["0000000b"]
    assert len(client.get("/api/v1/robot/executions", params={"limit": 1}, headers=read).json()) == 1
    for bad in ({"limit": 0}, {"limit": 501}, {"status": "exploded"}, {"robot_id": "bad id!"}):
        assert client.get("/api/v1/robot/executions", params=bad, headers=read).status_code == 422, bad
    assert client.get("/api/v1/robot/executions").status_code == 401


def test_a_robot_model_is_404_until_its_agent_sends_one(client: TestClient, keys: dict[str, str]) -> None:
    answer = client.get("/api/v1/robots/thor_001/model", headers=auth(keys["read"]))
    assert answer.status_code == 404 and "model" in answer.json()["detail"]
    assert client.get("/api/v1/robots/thor_001/model").status_code == 401


def _summary(hands: list[dict[str, list[float]]]) -> TrajectorySummary:
    return TrajectorySummary(
        groups=["arm_right"],
        duration_s=1.0,
        joint_travel_rad=1.0,
        peak_joint_speed_rad_s=1.0,
        hand_path_m={"right": 0.2},
        phases=[PhaseSummary(name=f"p{i}", duration_s=0.5, hands=h) for i, h in enumerate(hands)],
    )


def test_progress_carries_the_planned_hand_path() -> None:
    plan = _summary([{"right": [0.4, -0.2, 0.9]}, {"right": [0.45, -0.2, 0.8]}])
    base = {"step_id": "s1", "index": 0, "total": 2, "skill_id": "reach"}
    assert planned_hands(StepProgress(**base, status="running")) == {}
    assert planned_hands(StepProgress(**base, status="running", planned=plan)) == {
        "planned_hands": {"right": [[0.4, -0.2, 0.9], [0.45, -0.2, 0.8]]}
    }
    outcome = SkillOutcome(skill="reach", params={}, success=True, trajectory=plan)
    ended = planned_hands(StepProgress(**base, status="succeeded", outcome=outcome))
    assert ended["planned_hands"]["right"][-1] == [0.45, -0.2, 0.8]
    refused = SkillOutcome(skill="reach", params={}, success=False, failure="no plan", cause="plan")
    assert planned_hands(StepProgress(**base, status="failed", outcome=refused)) == {}
