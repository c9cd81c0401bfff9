"""/health, the agent hub protocol, and how the app starts on a database that is or is not ready."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from fastapi.testclient import TestClient

from dynamical.api.app import create_app
from dynamical.api.auth import create_api_key
from dynamical.api.db import DatabaseError
from dynamical.api.hub import AgentHub, ComponentHealth, RobotLink
from dynamical.api.migrate import alembic_config
from dynamical.api.records import RobotRecord, upsert_robot
from dynamical.api.settings import ApiSettings

from .conftest import auth

SINCE = datetime(2026, 1, 1, tzinfo=UTC)


class Hub:
    """An agent hub with one robot connected (the real one lives in the agent link)."""

    def connected_robots(self) -> list[RobotLink]:
        return [RobotLink(robot_id="thor_001", connected_since=SINCE, protocol_version=1)]


def test_health_reports_agents_and_pluggable_checks(api_settings: ApiSettings):
    def link_ok() -> ComponentHealth:
        return ComponentHealth(name="agent link", ok=True, detail="1 robot")

    async def broken() -> ComponentHealth:
        raise TimeoutError("no answer")

    assert isinstance(Hub(), AgentHub)
    app = create_app(api_settings, agent_hub=Hub(), health_checks=[link_ok], prepare_database=False)
    with TestClient(app) as client:
        with app.state.db.session() as session:
            key = create_api_key(session, "read").key
        health = client.get("/health", headers=auth(key)).json()
        assert health["status"] == "ok" and health["agents"][0]["robot_id"] == "thor_001"
        assert health["detailed"] is True and health["agents_connected"] == 1
        assert health["components"] == [{"name": "agent link", "ok": True, "detail": "1 robot"}]

        # Without a key: whether each part is ok and how many robots, never which robots or peers.
        anonymous = client.get("/health").json()
        assert anonymous["status"] == "ok" and anonymous["detailed"] is False
        assert anonymous["agents"] == [] and anonymous["agents_connected"] == 1
        assert anonymous["components"] == [{"name": "agent link", "ok": True, "detail": ""}]
        assert "thor_001" not in client.get("/health").text
        wrong = client.get("/health", headers=auth("dyn_0123456789_" + "A" * 43))
        assert wrong.status_code == 401, "a key sent but wrong is refused, not ignored"

        app.state.health_checks.append(broken)
        degraded = client.get("/health", headers=auth(key))
        assert degraded.status_code == 200 and degraded.json()["status"] == "degraded"
        assert degraded.json()["components"][1] == {"name": "broken", "ok": False, "detail": "TimeoutError: no answer"}

        with app.state.db.session() as session:
            upsert_robot(session, RobotRecord(id="thor_001", name="Thor", profile="humanoid", kind="simulated"))
            upsert_robot(session, RobotRecord(id="thor_002", name="Thor 2", profile="humanoid", kind="simulated"))
        robots = {r["id"]: r for r in client.get("/api/v1/robots", headers=auth(key)).json()}
        assert robots["thor_001"]["connected"] and robots["thor_001"]["connected_since"] == "2026-01-01T00:00:00Z"
        assert not robots["thor_002"]["connected"]


def test_health_is_503_when_the_schema_is_gone(database_url: str, tmp_path):
    # A database of its own: the shared test database must keep its schema.
    app = create_app(ApiSettings(data_dir=tmp_path / "own", database_url=database_url))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        config = alembic_config()
        with app.state.db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        answer = client.get("/health")
        assert answer.status_code == 503
        database = answer.json()["database"]
        assert database["ok"] is False and "dynamical db upgrade" in database["detail"]


def test_start_prepares_an_empty_database_or_refuses_it(database_url: str, tmp_path):
    settings = ApiSettings(data_dir=tmp_path / "fresh", database_url=database_url)
    unprepared = create_app(settings, prepare_database=False)
    with pytest.raises(DatabaseError, match="dynamical db init"), TestClient(unprepared):
        pass
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json()["database"]["ok"] is True
    assert settings.keyring_path.stat().st_mode & 0o777 == 0o600
