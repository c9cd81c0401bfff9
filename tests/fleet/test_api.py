"""``/api/v1/fl``: a round through the real server, with refusals, and no secret key on the server."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from dynamical.api.app import create_app
from dynamical.api.auth import Scope, create_api_key
from dynamical.api.bootstrap import init_database
from dynamical.api.db import Database
from dynamical.api.settings import SQLITE_FILE, ApiSettings
from dynamical.fleet import quantize
from dynamical.fleet.bfv import BfvSecret
from dynamical.fleet.config import FleetConfig
from dynamical.fleet.keys import RobotKeyPair, SealedKey, seal_for
from dynamical.fleet.robot import decode_aggregate

D = 5000
ROBOTS = ("r0", "r1", "r2")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    data_dir = tmp_path_factory.mktemp("fl-api") / "data"
    settings = ApiSettings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / SQLITE_FILE}")
    db = Database(settings.database_url)
    init_database(settings, db)
    with db.session() as session:
        keys = {s.value: create_api_key(session, s, f"fl {s.value}").key for s in Scope}
    db.dispose()
    with TestClient(create_app(settings, prepare_database=False)) as client:
        yield client, keys, data_dir


def _h(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def test_a_round_through_the_api(server) -> None:  # type: ignore[no-untyped-def]
    client, keys, data_dir = server
    op, admin, read = _h(keys["operate"]), _h(keys["admin"]), _h(keys["read"])
    pairs = {r: RobotKeyPair.generate() for r in ROBOTS}
    for robot, pair in pairs.items():
        answer = client.post(
            "/api/v1/fl/register", json={"robot_id": robot, "public_key": pair.public_text}, headers=op
        )
        assert answer.status_code == 200 and answer.json()["sealed_key"] is None
    # The admin seals the fleet key to each registered robot; the server stores bundles it cannot open.
    fleet_key = BfvSecret()
    config = FleetConfig()
    sealed = [seal_for(r, p.public_text, fleet_key.secret_key_bytes(), fleet_key.key_id, 1) for r, p in pairs.items()]
    setup = {
        "config": config.model_dump(),
        "values": D + 1,
        "key_id": fleet_key.key_id,
        "version": 1,
        "sealed_keys": [s.model_dump() for s in sealed],
    }
    assert client.put("/api/v1/fl/setup", json=setup, headers=op).status_code == 403
    assert client.put("/api/v1/fl/setup", json=setup, headers=admin).status_code == 204
    secrets = {}
    for robot, pair in pairs.items():
        answer = client.post(
            "/api/v1/fl/register", json={"robot_id": robot, "public_key": pair.public_text}, headers=op
        )
        secrets[robot] = BfvSecret(pair.open(SealedKey.model_validate(answer.json()["sealed_key"]), robot))
    other = RobotKeyPair.generate().public_text
    taken = client.post("/api/v1/fl/register", json={"robot_id": "r0", "public_key": other}, headers=op)
    assert taken.status_code == 409 and "another public key" in taken.json()["detail"]

    rng = np.random.default_rng(0)
    updates = [rng.normal(0, 0.01, D) for _ in ROBOTS]
    payloads = [
        secrets[r].encrypt(quantize.encode(u, 100, config.quant, rng)) for r, u in zip(ROBOTS, updates, strict=True)
    ]

    def send(robot: str, payload: bytes, key_id: str = fleet_key.key_id, round_: int = 1, headers=op):  # type: ignore[no-untyped-def]
        params = {"robot_id": robot, "round": round_, "key_id": key_id, "epsilon": 1.5}
        return client.post("/api/v1/fl/update", params=params, content=payload, headers=headers)

    assert send("r0", payloads[0]).status_code == 202
    refusals = {
        "malformed": send("r1", b"junk" * 100),
        "wrong key": send("r1", payloads[1], key_id="other"),
        "late": send("r1", payloads[1], round_=7),
        "unknown robot": send("nobody", payloads[1]),
        "duplicate": send("r0", payloads[0]),
    }
    assert {k: v.status_code for k, v in refusals.items()} == dict.fromkeys(refusals, 422)
    assert all(v.json()["detail"] for v in refusals.values())
    assert send("r1", b"").status_code == 400
    assert send("r1", payloads[1], headers=read).status_code == 403
    assert send("r1", payloads[1], headers={}).status_code == 401
    assert (
        client.post(
            "/api/v1/fl/update", params={"robot_id": "r1", "round": "x", "key_id": "k"}, content=b"1", headers=op
        ).status_code
        == 422
    )
    assert client.post("/api/v1/fl/register", content=b"{not json", headers=op).status_code == 422
    assert client.get("/api/v1/fl/model", headers=read).status_code == 409  # nothing closed yet
    assert send("r1", payloads[1]).status_code == 202
    # r2 drops out; the round closes with r0 and r1.
    decline = {"robot_id": "r2", "round": 1, "reason": "battery low", "epsilon": 0.0}
    assert client.post("/api/v1/fl/decline", json=decline, headers=op).status_code == 204
    closed = client.post("/api/v1/fl/round/close", headers=admin)
    assert closed.status_code == 200, closed.text
    assert closed.json()["contributors"] == ["r0", "r1"] and closed.json()["declined"] == {"r2": "battery low"}

    model = client.get("/api/v1/fl/model", headers=read).json()
    assert model["round"] == 1 and model["contributors"] == 2
    mean, examples = decode_aggregate(base64.b64decode(model["aggregate"]), D + 1, 2, config, secrets["r2"])
    assert examples == 200
    assert np.abs(mean - (updates[0] + updates[1]) / 2).max() < 2 * config.quant.bound / config.quant.levels / (
        200 / 4096
    )

    status = client.get("/api/v1/fl/status", headers=read).json()
    assert status["round"] == 2 and status["robots"] == list(ROBOTS) and status["rounds"][0]["bytes_up"] > 0
    privacy = {p["robot_id"]: p for p in client.get("/api/v1/fl/privacy", headers=read).json()}
    assert (
        privacy["r0"]["epsilon"] == 1.5
        and privacy["r0"]["budget"] == 8.0
        and privacy["r2"]["declined"] == "battery low"
    )

    # The audit ledger holds the key's distribution, each encryption and the aggregation (no key material).
    audit = client.get("/api/v1/audit", params={"limit": 1000}, headers=admin)
    assert audit.status_code == 200, audit.text
    kinds = [e["kind"] for e in audit.json()["entries"]]
    assert {"key.distributed", "encryption", "aggregation"} <= set(kinds), kinds
    assert kinds.count("encryption") == 2  # the two accepted updates, not the refused ones

    # No key material on the server: neither the HE secret key nor a robot's private key, anywhere.
    secret_bytes = fleet_key.secret_key_bytes()
    needles = [secret_bytes[i : i + 48] for i in range(64, len(secret_bytes) - 48, 4096)]
    needles += [base64.b64encode(secret_bytes[96:144]).decode().encode()]
    for path in Path(data_dir).rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert not any(n in blob for n in needles), f"HE secret key bytes in {path}"
