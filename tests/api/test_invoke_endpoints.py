"""The endpoints that need the agent link, without a robot connected: keys, scopes, malformed
bodies, unknown robots (404) and no robot connected (409); plan-only requests plan for real."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dynamical.api.models import Robot, utcnow
from dynamical.api.server import build_server
from dynamical.api.settings import ApiSettings
from tests.api.conftest import auth

SEED_TASK = "pick up the red cube and place it on the shelf"


@pytest.fixture
def app(api_settings: ApiSettings) -> FastAPI:  # overrides the plain app of conftest
    return build_server(api_settings, prepare_database=False, warm_up=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def offline_robot(db) -> str:  # type: ignore[no-untyped-def]
    """A registered robot whose agent is not connected."""
    with db.session() as session:
        session.add(Robot(id="thor_009", name="thor_009", profile="humanoid", kind="simulated", registered_at=utcnow()))
    return "thor_009"


POSTS = [
    ("/api/v1/robot/invoke_skill", {"task_description": SEED_TASK}, "operate"),
    ("/api/v1/robot/execute_skill", {"task_description": SEED_TASK}, "operate"),
    ("/api/safety/estop", {}, "operate"),
    ("/api/safety/reset", {}, "operate"),
    ("/api/v1/robots/thor_001/sim/reset", {"seed": 3}, "operate"),
    ("/api/v1/skills/deploy", {"skill_id": "wave"}, "admin"),
]


@pytest.mark.parametrize(("path", "body", "scope"), POSTS)
def test_posts_need_a_key_and_the_scope(client: TestClient, keys: dict[str, str], path: str, body, scope: str) -> None:
    assert client.post(path, json=body).status_code == 401
    assert client.post(path, json=body, headers=auth("dyn_0000000000_" + "x" * 43)).status_code == 401
    weaker = "read" if scope == "operate" else "operate"
    answer = client.post(path, json=body, headers=auth(keys[weaker]))
    assert answer.status_code == 403
    assert scope in answer.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/robot/invoker/stats",
        "/api/safety/hazards",
        "/api/v1/robots/thor_001/state",
        "/api/v1/traces/abc",
        "/api/v1/robot/executions/abc",
    ],
)
def test_reads_need_a_key(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "task_description or a goal"),
        ({"mode": "direct"}, "needs skill_ids"),
        ({"task_description": SEED_TASK, "mode": "teleport"}, "mode"),
        ({"task_description": SEED_TASK, "max_skills": 0}, "max_skills"),
        ({"task_description": SEED_TASK, "timeout_s": -1}, "timeout_s"),
        ({"task_description": SEED_TASK, "role": "leader"}, "coordination_id"),
        ({"task_description": SEED_TASK, "robot_id": "bad id!"}, "robot_id"),
        ({"task_description": "\x00"}, "task_description"),
        ({"task_description": SEED_TASK, "surprise": 1}, "surprise"),
    ],
)
def test_invoke_refuses_malformed_bodies(client: TestClient, keys: dict[str, str], body, fragment: str) -> None:
    answer = client.post("/api/v1/robot/invoke_skill", json=body, headers=auth(keys["operate"]))
    assert answer.status_code == 422
    assert fragment in answer.json()["detail"]


def test_invoke_unknown_robot_is_404_and_offline_or_absent_robots_409(
    client: TestClient, keys: dict[str, str], offline_robot: str
) -> None:
    key = auth(keys["operate"])
    answer = client.post(
        "/api/v1/robot/invoke_skill", json={"task_description": SEED_TASK, "robot_id": "nope"}, headers=key
    )
    assert answer.status_code == 404
    answer = client.post(
        "/api/v1/robot/invoke_skill", json={"task_description": SEED_TASK, "robot_id": offline_robot}, headers=key
    )
    assert answer.status_code == 409
    assert "no agent connected" in answer.json()["detail"]
    answer = client.post("/api/v1/robot/invoke_skill", json={"task_description": SEED_TASK}, headers=key)
    assert answer.status_code == 409
    assert "no robot agent is connected" in answer.json()["detail"]


def test_safety_commands_without_robots(client: TestClient, keys: dict[str, str], offline_robot: str) -> None:
    key = auth(keys["operate"])
    assert client.post("/api/safety/estop", json={}, headers=key).status_code == 409
    assert client.post("/api/safety/estop", json={"robot_id": "nope"}, headers=key).status_code == 404
    assert client.post("/api/safety/estop", json={"robot_id": offline_robot}, headers=key).status_code == 409
    assert client.post("/api/safety/estop", json={"category": 3}, headers=key).status_code == 422
    assert client.post("/api/safety/reset", json={"robot_id": "nope"}, headers=key).status_code == 404
    assert client.post("/api/v1/robots/nope/sim/reset", json={"seed": 1}, headers=key).status_code == 404
    assert client.post(f"/api/v1/robots/{offline_robot}/sim/reset", json={"seed": 1}, headers=key).status_code == 409
    assert client.post(f"/api/v1/robots/{offline_robot}/sim/reset", json={"seed": -1}, headers=key).status_code == 422
    assert client.get("/api/safety/hazards", headers=key).json() == []


def test_state_trace_execution_lookups(client: TestClient, keys: dict[str, str], offline_robot: str) -> None:
    key = auth(keys["read"])
    assert client.get("/api/v1/robots/nope/state", headers=key).status_code == 404
    assert client.get(f"/api/v1/robots/{offline_robot}/state", headers=key).status_code == 409
    assert client.get("/api/v1/traces/0123abcd", headers=key).status_code == 404
    assert client.get("/api/v1/robot/executions/0123abcd", headers=key).status_code == 404
    assert client.get("/api/v1/robot/executions/NOT_AN_ID", headers=key).status_code == 422
    stats = client.get("/api/v1/robot/invoker/stats", headers=key).json()
    assert stats["in_flight"] == 0
    assert stats["connected_robots"] == []


def test_plan_only_request_plans_the_seed_task(client: TestClient, keys: dict[str, str]) -> None:
    key = auth(keys["read"])
    answer = client.post("/api/v1/skills/request", json={"task_description": SEED_TASK}, headers=key)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [s["skill_id"] for s in body["plan"]["steps"]] == ["grasp", "lift", "place"]
    assert body["planning_time_ms"] > 0
    sequential = client.post(
        "/api/v1/skills/request", json={"task_description": SEED_TASK, "mode": "sequential"}, headers=key
    ).json()
    assert [s["depends_on"] for s in sequential["plan"]["steps"]] == [[], ["s1"], ["s2"]]
    limited = client.post("/api/v1/skills/request", json={"task_description": SEED_TASK, "max_skills": 2}, headers=key)
    assert limited.status_code == 422
    assert "max_skills" in limited.json()["detail"]
    narrowed = client.post(
        "/api/v1/skills/request", json={"task_description": SEED_TASK, "skill_ids": ["grasp"]}, headers=key
    )
    assert narrowed.status_code == 422
    assert "skill_ids" in narrowed.json()["detail"]
    unknown = client.post("/api/v1/skills/request", json={"task_description": "pick up the purple dragon"}, headers=key)
    assert unknown.status_code == 422
    direct = client.post("/api/v1/skills/request", json={"mode": "direct", "skill_ids": ["wave"]}, headers=key)
    assert direct.status_code == 200, direct.text
    assert [s["skill_id"] for s in direct.json()["plan"]["steps"]] == ["wave"]
    assert (
        client.post(
            "/api/v1/skills/request", json={"task_description": SEED_TASK, "robot_id": "nope"}, headers=key
        ).status_code
        == 404
    )


def test_deploy_without_robots(client: TestClient, keys: dict[str, str]) -> None:
    key = auth(keys["admin"])
    assert client.post("/api/v1/skills/deploy", json={"skill_id": "no_such_skill"}, headers=key).status_code == 404
    assert client.post("/api/v1/skills/deploy", json={"skill_id": "wave"}, headers=key).status_code == 409
    answer = client.post("/api/v1/skills/deploy", json={"skill_id": "wave", "robot_ids": ["nope"]}, headers=key)
    assert answer.status_code == 404


def test_sockets_refuse_bad_keys(client: TestClient, keys: dict[str, str]) -> None:
    agent = "/ws/agent?api_key=" + keys["read"]
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(agent) as ws:
        ws.receive_bytes()
    assert refused.value.code == 1008
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws/telemetry") as ws:
        ws.send_json({"api_key": "dyn_bad"})
        ws.receive_json()
    assert refused.value.code == 1008 and refused.value.reason == "invalid API key"
    # A key in the URL is refused even when valid: URLs end up in logs and browser history.
    in_url = "/ws/telemetry?api_key=" + keys["read"]
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(in_url) as ws:
        ws.receive_json()
    assert refused.value.code == 1008 and "never in the URL" in refused.value.reason
    with client.websocket_connect("/ws/telemetry", headers=auth(keys["read"])) as ws:
        assert ws.receive_json()["type"] == "hello"
        assert ws.receive_json()["type"] == "heartbeat"
    with client.websocket_connect("/ws/telemetry") as ws:
        ws.send_json({"api_key": keys["read"]})
        assert ws.receive_json()["type"] == "hello"
