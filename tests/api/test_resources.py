"""Edge devices, peripherals and robots: create, list, get, and every kind of bad input as a 4xx."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dynamical.api.db import Database
from dynamical.api.models import Peripheral
from dynamical.api.records import RobotRecord, upsert_robot

from .conftest import auth

DEVICE = {"id": "jetson_1", "name": "Jetson on thor", "kind": "jetson_agx_orin", "capabilities": {"tops": 275}}
DEEP: dict = {}
for _ in range(20):
    DEEP = {"x": DEEP}
CAMERA = {"id": "head_cam", "name": "Head camera", "kind": "depth_camera", "interface": "usb", "config": {"fps": 30}}


@pytest.fixture
def robot(db: Database) -> str:
    with db.session() as session:
        upsert_robot(session, RobotRecord(id="thor_001", name="Thor", profile="humanoid", kind="simulated"))
    return "thor_001"


def test_edge_devices(client: TestClient, keys: dict[str, str], robot: str):
    op, read = auth(keys["operate"]), auth(keys["read"])
    created = client.post("/api/v1/edge-devices", json={**DEVICE, "robot_id": robot}, headers=op)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["robot_id"] == robot and body["capabilities"] == {"tops": 275} and body["registered_at"].endswith("Z")
    client.post("/api/v1/edge-devices", json={**DEVICE, "id": "ipc_2", "kind": "industrial_pc"}, headers=op)
    assert [d["id"] for d in client.get("/api/v1/edge-devices", headers=read).json()] == ["ipc_2", "jetson_1"]
    mine = client.get("/api/v1/edge-devices", params={"robot_id": robot}, headers=read).json()
    assert [d["id"] for d in mine] == ["jetson_1"]
    assert client.get("/api/v1/edge-devices/jetson_1", headers=read).json()["name"] == "Jetson on thor"
    duplicate = client.post("/api/v1/edge-devices", json=DEVICE, headers=op)
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]
    missing = client.get("/api/v1/edge-devices/nope", headers=read)
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_peripherals(client: TestClient, keys: dict[str, str], robot: str, db: Database):
    op, read = auth(keys["operate"]), auth(keys["read"])
    client.post("/api/v1/edge-devices", json=DEVICE, headers=op)
    attached = {**CAMERA, "robot_id": robot, "edge_device_id": "jetson_1"}
    created = client.post("/api/v1/peripherals", json=attached, headers=op)
    assert created.status_code == 201, created.text
    assert created.json()["config"] == {"fps": 30} and created.json()["interface"] == "usb"
    by_device = client.get("/api/v1/peripherals", params={"edge_device_id": "jetson_1"}, headers=read).json()
    assert [p["id"] for p in by_device] == ["head_cam"]
    assert client.get("/api/v1/peripherals/head_cam", headers=read).json()["kind"] == "depth_camera"
    assert client.get("/api/v1/peripherals/other", headers=read).status_code == 404
    # A reference to something unknown is refused whole: nothing is stored.
    bad = client.post("/api/v1/peripherals", json={**CAMERA, "id": "cam2", "edge_device_id": "ghost"}, headers=op)
    assert bad.status_code == 422 and "no edge device 'ghost'" in bad.json()["detail"]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Peripheral)) == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({**DEVICE, "id": "has space"}, "id"),
        ({**DEVICE, "id": "x" * 65}, "id"),
        ({**DEVICE, "name": ""}, "name"),
        ({**DEVICE, "name": "nul\x00byte"}, "name"),
        ({**DEVICE, "kind": "Not A Kind"}, "kind"),
        ({**DEVICE, "colour": "red"}, "colour"),
        ({**DEVICE, "capabilities": {"s": "nul\x00"}}, "capabilities"),
        ({**DEVICE, "capabilities": DEEP}, "deeper"),
        ({**DEVICE, "capabilities": [1, 2]}, "capabilities"),
        ({**DEVICE, "robot_id": "ghost"}, "no robot 'ghost'"),
        ({"id": "x"}, "name"),
    ],
)
def test_bad_edge_device_bodies_are_422(client: TestClient, keys: dict[str, str], body, problem: str):
    answer = client.post("/api/v1/edge-devices", json=body, headers=auth(keys["operate"]))
    assert answer.status_code == 422, answer.text
    assert problem in answer.json()["detail"]


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"id": "a", "name": "b", "kind": "c", "capabilities": {"x": NaN}}', b"[]", b"\xff\xfe", b""],
)
def test_malformed_json_is_422(client: TestClient, keys: dict[str, str], raw: bytes):
    headers = {**auth(keys["operate"]), "content-type": "application/json"}
    answer = client.post("/api/v1/edge-devices", content=raw, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("invalid request")


def test_robots(client: TestClient, keys: dict[str, str], db: Database):
    read = auth(keys["read"])
    assert client.get("/api/v1/robots", headers=read).json() == []
    with db.session() as session:
        upsert_robot(session, RobotRecord(id="thor_001", name="Thor", profile="humanoid", kind="simulated"))
        upsert_robot(session, RobotRecord(id="aloha_1", name="Aloha", profile="aloha", kind="hardware"))
    robots = client.get("/api/v1/robots", headers=read).json()
    assert [r["id"] for r in robots] == ["aloha_1", "thor_001"]
    assert all(r["connected"] is False and r["last_seen_at"] for r in robots)
    thor = client.get("/api/v1/robots/thor_001", headers=read)
    assert thor.status_code == 200 and thor.json()["profile"] == "humanoid"
    assert client.get("/api/v1/robots/nobody", headers=read).status_code == 404
    assert client.get("/api/v1/robots/bad id", headers=read).status_code == 422
