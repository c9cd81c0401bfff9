"""API keys: every endpoint but /health needs one, scopes nest, keys are stored hashed, the audit log."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dynamical.api.auth import ensure_admin_key, revoke_api_key
from dynamical.api.auth_throttle import AuthThrottle
from dynamical.api.db import Database
from dynamical.api.models import ApiKey, AuditEntry

from .conftest import auth

EDGE_DEVICE = {"id": "jetson_1", "name": "Jetson", "kind": "jetson_agx_orin"}
ZONE = {"zone": {"kind": "box", "name": "bin", "center": [0.5, 0.0, 0.8], "half_size": [0.1, 0.1, 0.1]}}

# (method, path, body) of every endpoint but /health; the minimum scope each needs.
ENDPOINTS = [
    ("read", "GET", "/api/v1/robots", None),
    ("read", "GET", "/api/v1/robots/thor_001", None),
    ("read", "GET", "/api/v1/skills", None),
    ("read", "GET", "/api/v1/skills/go_home", None),
    ("read", "GET", "/api/v1/skills/go_home/versions/1.0.0", None),
    ("admin", "POST", "/api/v1/skills", b"DESKILL1"),
    ("admin", "POST", "/api/v1/skills/go_home/versions/1.0.0/deprecate", {"reason": "old"}),
    ("read", "GET", "/api/v1/edge-devices", None),
    ("read", "GET", "/api/v1/edge-devices/jetson_1", None),
    ("operate", "POST", "/api/v1/edge-devices", EDGE_DEVICE),
    ("read", "GET", "/api/v1/peripherals", None),
    ("read", "GET", "/api/v1/peripherals/cam", None),
    ("operate", "POST", "/api/v1/peripherals", {"id": "cam", "name": "Camera", "kind": "camera"}),
    ("read", "GET", "/api/safety/zones", None),
    ("admin", "POST", "/api/safety/zones", ZONE),
    ("admin", "DELETE", "/api/safety/zones/1", None),
    ("read", "GET", "/api/safety/events", None),
]


def _call(client: TestClient, method: str, path: str, body, headers=None):
    if isinstance(body, bytes):
        return client.request(method, path, content=body, headers=headers)
    return client.request(method, path, json=body, headers=headers)


def test_health_needs_no_key(client: TestClient):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["database"]["ok"] is True


@pytest.mark.parametrize(("scope", "method", "path", "body"), ENDPOINTS)
def test_every_endpoint_refuses_a_missing_or_unknown_key(client: TestClient, scope, method, path, body):
    missing = _call(client, method, path, body)
    assert missing.status_code == 401
    assert "missing API key" in missing.json()["detail"] and "X-API-Key" in missing.json()["detail"]
    for wrong in ("nonsense", "dyn_0123456789_" + "A" * 43):
        answer = _call(client, method, path, body, auth(wrong))
        assert answer.status_code == 401 and answer.json()["detail"] == "invalid API key"


@pytest.mark.parametrize(("scope", "method", "path", "body"), [e for e in ENDPOINTS if e[0] != "read"])
def test_scopes_nest(client: TestClient, keys: dict[str, str], scope, method, path, body):
    lower = {"operate": ["read"], "admin": ["read", "operate"]}[scope]
    for weaker in lower:
        refused = _call(client, method, path, body, auth(keys[weaker]))
        assert refused.status_code == 403
        assert f"needs the {scope!r} scope" in refused.json()["detail"]
    allowed = _call(client, method, path, body, auth(keys[scope]))
    assert allowed.status_code not in (401, 403), allowed.text


def test_read_key_reads(client: TestClient, keys: dict[str, str]):
    for _, _, path, _ in [e for e in ENDPOINTS if e[1] == "GET"]:
        assert client.get(path, headers=auth(keys["read"])).status_code in (200, 404)


def test_keys_are_stored_hashed_and_revocable(client: TestClient, db: Database, keys: dict[str, str]):
    with db.session() as session:
        rows = list(session.scalars(select(ApiKey)))
    stored = {r.key_hash for r in rows}
    for key in keys.values():
        assert hashlib.sha256(key.encode()).hexdigest() in stored
        assert all(key not in (r.key_hash, r.prefix, r.name) for r in rows)
    prefix = keys["read"].split("_")[1]
    with db.session() as session:
        assert revoke_api_key(session, prefix)
    answer = client.get("/api/v1/robots", headers=auth(keys["read"]))
    assert answer.status_code == 401 and answer.json()["detail"] == "API key revoked"
    # A key with a known prefix but another secret is still just invalid.
    forged = f"dyn_{keys['admin'].split('_')[1]}_" + "B" * 43
    assert client.get("/api/v1/robots", headers=auth(forged)).status_code == 401


def test_first_admin_key_is_made_once(client: TestClient, db: Database):
    first = ensure_admin_key(db)
    assert first is not None and first.scope == "admin" and first.key.startswith(f"dyn_{first.prefix}_")
    assert ensure_admin_key(db) is None, "an admin key exists: no second one"
    assert client.get("/api/safety/zones", headers=auth(first.key)).status_code == 200
    with db.session() as session:
        revoke_api_key(session, first.prefix)
    assert ensure_admin_key(db) is not None, "with every admin key revoked, a new start makes one"


def test_audit_log_records_every_mutating_request(client: TestClient, db: Database, keys: dict[str, str]):
    client.get("/api/v1/edge-devices", headers=auth(keys["read"]))
    client.post("/api/v1/edge-devices", json=EDGE_DEVICE)
    client.post("/api/v1/edge-devices", json=EDGE_DEVICE, headers=auth(keys["read"]))
    client.post("/api/v1/edge-devices", json=EDGE_DEVICE, headers=auth(keys["operate"]))
    client.post("/api/v1/edge-devices", json=EDGE_DEVICE, headers=auth(keys["operate"]))
    with db.session() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    seen = [(e.actor, e.method, e.path, e.status_code) for e in entries]
    read, operate = keys["read"].split("_")[1], keys["operate"].split("_")[1]
    assert seen == [
        ("anonymous", "POST", "/api/v1/edge-devices", 401),
        (read, "POST", "/api/v1/edge-devices", 403),
        (operate, "POST", "/api/v1/edge-devices", 201),
        (operate, "POST", "/api/v1/edge-devices", 409),
    ]
    assert all(e.at is not None and e.at.tzinfo is not None for e in entries)


def test_failed_auth_throttle_window_and_audit_rows():
    now = [0.0]
    throttle = AuthThrottle(allowed=3, window_s=60.0, clock=lambda: now[0])
    verdicts = [throttle.failed("10.0.0.1", "POST", "/api/x") for _ in range(5)]
    assert [v.retry_after_s for v in verdicts] == [None, None, None, 60, 60]
    # Rows: the burst's first failure, then one summary when it turns into 429s; nothing else.
    assert [(v.audit.status_code if v.audit else None) for v in verdicts] == [401, None, None, 429, None]
    assert "4 failed authentications" in verdicts[3].audit.path
    assert throttle.failed("10.0.0.2", "GET", "/api/y").retry_after_s is None, "another address is apart"
    now[0] = 59.5
    assert throttle.retry_after("10.0.0.1") == 1
    now[0] = 60.0
    assert throttle.retry_after("10.0.0.1") is None
    fresh = throttle.failed("10.0.0.1", "POST", "/api/x")
    assert fresh.retry_after_s is None and fresh.audit is not None and fresh.audit.status_code == 401
