"""Safety zones (validated by the kernel's models, stored, announced) and safety events from the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from dynamical.api.app import create_app
from dynamical.api.db import Database
from dynamical.api.hub import ZonesChanged
from dynamical.api.models import Execution, utcnow
from dynamical.api.records import RobotRecord, SafetyEventRecord, record_safety_events, upsert_robot
from dynamical.api.settings import ApiSettings
from dynamical.safety.config import BoxZone, HalfSpaceZone
from dynamical.safety.rules import Rule

from .conftest import ZoneRecorder, auth

BOX = {"kind": "box", "name": "bin", "center": [0.5, -0.2, 0.8], "half_size": [0.1, 0.1, 0.1]}
WALL = {"kind": "halfspace", "name": "wall", "normal": [0.0, 3.0, 0.0], "offset": -0.5}


@pytest.fixture
def robots(db: Database) -> list[str]:
    with db.session() as session:
        for rid in ("thor_001", "thor_002"):
            upsert_robot(session, RobotRecord(id=rid, name=rid, profile="humanoid", kind="simulated"))
    return ["thor_001", "thor_002"]


def test_create_list_delete_zones_and_announce_them(
    client: TestClient, keys: dict[str, str], robots: list[str], zone_events: ZoneRecorder
):
    admin, read = auth(keys["admin"]), auth(keys["read"])
    box = client.post("/api/safety/zones", json={"zone": BOX}, headers=admin)
    assert box.status_code == 201, box.text
    assert box.json()["robot_id"] is None and BoxZone.model_validate(box.json()["zone"]) == BoxZone.model_validate(BOX)
    wall = client.post("/api/safety/zones", json={"robot_id": "thor_001", "zone": WALL}, headers=admin)
    assert wall.status_code == 201
    assert wall.json()["zone"]["normal"] == [0.0, 1.0, 0.0], "normalised by the kernel's own HalfSpaceZone"

    assert [e.change for e in zone_events.events] == ["created", "created"]
    last = zone_events.events[-1]
    assert isinstance(last.zones[1].zone, HalfSpaceZone) and len(last.zones) == 2
    assert [z.zone.name for z in last.zones_for("thor_001")] == ["bin", "wall"]
    assert [z.zone.name for z in last.zones_for("thor_002")] == ["bin"]

    listed = client.get("/api/safety/zones", params={"robot_id": "thor_002"}, headers=read).json()
    assert [z["zone"]["name"] for z in listed] == ["bin"]
    assert len(client.get("/api/safety/zones", headers=read).json()) == 2

    deleted = client.delete(f"/api/safety/zones/{box.json()['id']}", headers=admin)
    assert deleted.status_code == 200 and deleted.json()["zone"]["name"] == "bin"
    last = zone_events.events[-1]
    assert last.change == "deleted" and [z.zone.name for z in last.zones] == ["wall"]
    assert client.delete(f"/api/safety/zones/{box.json()['id']}", headers=admin).status_code == 404
    assert [z["zone"]["name"] for z in client.get("/api/safety/zones", headers=read).json()] == ["wall"]


def test_zone_names_are_unique_per_robot(client: TestClient, keys: dict[str, str], robots: list[str]):
    admin = auth(keys["admin"])
    assert client.post("/api/safety/zones", json={"zone": BOX}, headers=admin).status_code == 201
    again = client.post("/api/safety/zones", json={"zone": BOX}, headers=admin)
    assert again.status_code == 409 and "every robot" in again.json()["detail"]
    for robot in robots:
        assert client.post("/api/safety/zones", json={"robot_id": robot, "zone": BOX}, headers=admin).status_code == 201
    clash = client.post("/api/safety/zones", json={"robot_id": "thor_001", "zone": BOX}, headers=admin)
    assert clash.status_code == 409 and "thor_001" in clash.json()["detail"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"zone": {**BOX, "half_size": [0.1, -0.1, 0.1]}}, "half size must be positive"),
        ({"zone": {**WALL, "normal": [0, 0, 0]}}, "normal must not be zero"),
        ({"zone": {**BOX, "kind": "sphere"}}, "zone"),
        ({"zone": {**BOX, "center": [0, 0]}}, "center"),
        ({"zone": {**BOX, "radius": 1}}, "radius"),
        ({"zone": {**BOX, "center": [1e9, 0, 0]}}, "within"),
        ({"zone": {**WALL, "normal": [1e-12, 0, 0]}}, "normal must not be zero"),
        ({"zone": {**BOX, "name": ""}}, "printable"),
        ({"zone": {**BOX, "name": "a\x00b"}}, "printable"),
        ({"robot_id": "ghost", "zone": BOX}, "no robot 'ghost'"),
        ({}, "zone"),
    ],
)
def test_invalid_zones_are_422(client: TestClient, keys: dict[str, str], body, problem: str, zone_events: ZoneRecorder):
    answer = client.post("/api/safety/zones", json=body, headers=auth(keys["admin"]))
    assert answer.status_code == 422, answer.text
    assert problem in answer.json()["detail"]
    assert zone_events.events == [], "a refused zone is not announced"


def test_a_huge_normal_is_a_direction_like_any_other(client: TestClient, keys: dict[str, str]):
    answer = client.post(
        "/api/safety/zones", json={"zone": {**WALL, "normal": [1e308, 1e308, 0]}}, headers=auth(keys["admin"])
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["zone"]["normal"] == pytest.approx([0.5**0.5, 0.5**0.5, 0.0])


def test_non_finite_zone_from_raw_json_is_422(client: TestClient, keys: dict[str, str]):
    raw = b'{"zone": {"kind": "box", "name": "b", "center": [NaN, 0, 0], "half_size": [1, 1, 1]}}'
    headers = {**auth(keys["admin"]), "content-type": "application/json"}
    answer = client.post("/api/safety/zones", content=raw, headers=headers)
    assert answer.status_code == 422 and "finite" in answer.json()["detail"]


def test_a_failing_or_async_listener_keeps_the_zone(api_settings: ApiSettings, tmp_path):
    told: list[ZonesChanged] = []

    async def pushes(event: ZonesChanged) -> None:
        await asyncio.sleep(0)
        told.append(event)

    def broken(event: ZonesChanged) -> None:
        raise ConnectionError("agent link down")

    app = create_app(api_settings, on_zones_changed=broken)
    app.state.zone_listeners.append(pushes)
    with TestClient(app) as client:
        from dynamical.api.auth import create_api_key

        with app.state.db.session() as session:
            key = create_api_key(session, "admin").key
        answer = client.post("/api/safety/zones", json={"zone": BOX}, headers=auth(key))
        assert answer.status_code == 201
        assert len(client.get("/api/safety/zones", headers=auth(key)).json()) == 1
    assert [e.zone.zone.name for e in told] == ["bin"], "listeners after a broken one still run"


def test_safety_events_from_the_database(client: TestClient, keys: dict[str, str], robots: list[str], db: Database):
    read = auth(keys["read"])
    assert client.get("/api/safety/events", headers=read).json() == []
    events = [
        SafetyEventRecord(t=0.5, tick=500, rule=int(Rule.KEEP_OUT_ZONE), joint=3, value=0.02, limit=0.0),
        SafetyEventRecord(
            t=0.6, tick=600, rule=int(Rule.VELOCITY_LIMIT), cmd_before=[1.0, float("nan")], request_id="0a1b-2c"
        ),
    ]
    with db.session() as session:
        session.add(
            Execution(
                request_id="0a1b-2c", robot_id="thor_001", role="solo", mode="auto", status="running", request={},
                created_at=utcnow(),
            )
        )  # fmt: skip
        session.flush()
        record_safety_events(session, "thor_001", events)
        record_safety_events(session, "thor_002", [SafetyEventRecord(t=1.0, tick=1000, rule=99)])
    everything = client.get("/api/safety/events", headers=read).json()
    assert len(everything) == 3
    thor = client.get("/api/safety/events", params={"robot_id": "thor_001"}, headers=read).json()
    assert {e["rule_name"] for e in thor} == {"KEEP_OUT_ZONE", "VELOCITY_LIMIT"}
    velocity = next(e for e in thor if e["rule_name"] == "VELOCITY_LIMIT")
    assert velocity["cmd_before"] == [1.0, None]
    other = client.get("/api/safety/events", params={"robot_id": "thor_002"}, headers=read).json()
    assert other[0]["rule_name"] == "UNKNOWN_99"
    assert len(client.get("/api/safety/events", params={"limit": 1}, headers=read).json()) == 1
    future = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert client.get("/api/safety/events", params={"since": future}, headers=read).json() == []
    past = (datetime.now(UTC) - timedelta(minutes=1)).replace(tzinfo=None).isoformat()
    assert len(client.get("/api/safety/events", params={"since": past}, headers=read).json()) == 3
    during = client.get("/api/safety/events", params={"request_id": "0a1b-2c"}, headers=read).json()
    assert [e["rule_name"] for e in during] == ["VELOCITY_LIMIT"]
    for bad in ({"limit": 0}, {"limit": 5000}, {"since": "yesterday"}, {"robot_id": "bad id"}, {"request_id": "x y"}):
        assert client.get("/api/safety/events", params=bad, headers=read).status_code == 422


def test_zone_ids_out_of_range_are_4xx(client: TestClient, keys: dict[str, str]):
    admin = auth(keys["admin"])
    for zone_id in ("0", "-1", "99999999999999999999", "abc"):
        answer = client.delete(f"/api/safety/zones/{zone_id}", headers=admin)
        assert answer.status_code == 422, (zone_id, answer.text)


def test_update_a_zone_keeps_its_id_and_announces_it(
    client: TestClient, keys: dict[str, str], robots: list[str], zone_events: ZoneRecorder
):
    admin = auth(keys["admin"])
    box = client.post("/api/safety/zones", json={"zone": BOX}, headers=admin).json()
    wall = client.post("/api/safety/zones", json={"robot_id": "thor_001", "zone": WALL}, headers=admin).json()
    moved = {**BOX, "center": [0.3, 0.4, 1.2], "name": "bin2"}
    answer = client.put(f"/api/safety/zones/{box['id']}", json={"robot_id": "thor_002", "zone": moved}, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == box["id"] and answer.json()["robot_id"] == "thor_002"
    assert answer.json()["zone"]["center"] == [0.3, 0.4, 1.2]
    last = zone_events.events[-1]
    assert last.change == "updated" and last.zone.zone.name == "bin2"
    assert [z.zone.name for z in last.zones_for("thor_001")] == ["wall"]
    assert [z.zone.name for z in last.zones_for("thor_002")] == ["bin2"]
    # Keeping its own name is no clash; taking another zone's name for the same robot is.
    assert (
        client.put(
            f"/api/safety/zones/{box['id']}", json={"robot_id": "thor_002", "zone": moved}, headers=admin
        ).status_code
        == 200
    )
    clash = client.put(
        f"/api/safety/zones/{box['id']}", json={"robot_id": "thor_001", "zone": {**BOX, "name": "wall"}}, headers=admin
    )
    assert clash.status_code == 409
    announced = len(zone_events.events)
    bad = client.put(f"/api/safety/zones/{box['id']}", json={"zone": {**BOX, "half_size": [0, 1, 1]}}, headers=admin)
    assert bad.status_code == 422
    assert client.put("/api/safety/zones/999999", json={"zone": BOX}, headers=admin).status_code == 404
    assert (
        client.put(f"/api/safety/zones/{wall['id']}", json={"zone": BOX}, headers=auth(keys["operate"])).status_code
        == 403
    )
    assert len(zone_events.events) == announced, "refused edits are not announced"
    stored = {z["id"]: z for z in client.get("/api/safety/zones", headers=admin).json()}
    assert stored[box["id"]]["zone"]["name"] == "bin2" and stored[wall["id"]]["zone"]["name"] == "wall"
