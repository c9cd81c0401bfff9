"""Issue 18's attacks, replayed against a real ``dynamical up --no-agent`` (over TLS), each now refused.

One server for the module (it takes minutes to start on a loaded machine). The throttle test
runs last: after it the test address is limited for the rest of its window.
"""

from __future__ import annotations

import json
import math
import stat
import time

import httpx
import pytest
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from dynamical.api.auth import Scope
from dynamical.api.models import AuditEntry
from dynamical.api.settings import DEFAULT_MAX_BODY_BYTES

from .attack import MiB, is_alive, peak_growth, send_body
from .live_server import HOST, LiveServer, live_server

pytestmark = pytest.mark.slow
MEMORY_BOUND = 10 * MiB
BAD_KEY = "dyn_0123456789_" + "A" * 43
EDGE_DEVICES = "/api/v1/edge-devices"
ATTACKER = "127.0.0.2"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with live_server(tmp_path_factory.mktemp("live")) as running:
        yield running


def _wss(server: LiveServer, path: str = "/ws/telemetry", **kwargs):  # type: ignore[no-untyped-def]
    url = server.url.replace("https://", "wss://") + path
    return connect(url, ssl=server.tls(), open_timeout=30, compression=None, **kwargs)


def _until_closed(ws, within_s: float) -> ConnectionClosed:  # type: ignore[no-untyped-def]
    """Read (heartbeats) until the server closes the socket; fail if it is still open after ``within_s``."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            return closed
        except TimeoutError:
            break
    raise AssertionError(f"the server did not close the socket within {within_s:g} s")


def _audit_rows(server: LiveServer) -> list[AuditEntry]:
    db = server.database
    try:
        with db.session() as session:
            return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    finally:
        db.dispose()


def test_bad_json_without_a_key_is_401_not_422(server: LiveServer):
    with server.client() as client:
        for headers in ({}, {"X-API-Key": BAD_KEY}):
            answer = client.post(EDGE_DEVICES, content=b'{"id": ', headers=headers)
            assert answer.status_code == 401, answer.text
            assert answer.headers["www-authenticate"] == "APIKey"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_unauthenticated_100_mb_body_is_refused_unread(server: LiveServer, chunked: bool, record_property):
    with peak_growth(server.pid) as growth:
        status, sent = send_body(HOST, server.port, EDGE_DEVICES, total=100 * MiB, chunked=chunked, tls=server.tls())
        time.sleep(0.3)  # anything the server still did with it
    record_property("server_memory_growth_bytes", growth())  # in --junitxml's report
    assert status == 401
    assert sent < 100 * MiB, "the server answered before the body was sent"
    assert growth() <= MEMORY_BOUND, f"server memory grew {growth() / MiB:.1f} MiB"
    assert is_alive(server.pid)


def test_authenticated_body_over_its_route_limit_is_413(server: LiveServer):
    key, _ = server.new_key(Scope.OPERATE)
    with peak_growth(server.pid) as growth:
        status, _ = send_body(
            HOST, server.port, EDGE_DEVICES, total=100 * MiB, chunked=True, headers={"X-API-Key": key}, tls=server.tls()
        )
        time.sleep(0.3)
    assert status == 413
    assert growth() <= MEMORY_BOUND, f"server memory grew {growth() / MiB:.1f} MiB"
    with server.client(key) as client:
        declared = client.post(EDGE_DEVICES, content=b" " * (DEFAULT_MAX_BODY_BYTES + 1))
        assert declared.status_code == 413 and "limit of 1048576 bytes" in declared.json()["detail"]
        # Within the limit the same route still works.
        made = client.post(EDGE_DEVICES, json={"id": "jetson_big", "name": "Jetson", "kind": "jetson_agx_orin"})
        assert made.status_code == 201, made.text
    admin = server.admin_key
    status, _ = send_body(
        HOST, server.port, "/api/v1/skills", total=100 * MiB, headers={"X-API-Key": admin}, tls=server.tls()
    )
    assert status == 413, "a skill upload has a larger limit, but a limit"


def test_80_mb_first_websocket_message_is_refused_unread(server: LiveServer, record_property):
    with peak_growth(server.pid) as growth:
        with _wss(server, max_size=None) as ws, pytest.raises(ConnectionClosed) as closed:
            ws.send(b"x" * (80 * MiB))
            ws.recv(timeout=30)
        time.sleep(0.3)
    record_property("server_memory_growth_bytes", growth())
    # The server closes as soon as the frame header says 80 MB (1009); the close frame can be
    # lost when the connection drops while the client is still writing.
    assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
    assert growth() <= MEMORY_BOUND, f"server memory grew {growth() / MiB:.1f} MiB"
    with server.client() as client:
        assert client.get("/health").status_code == 200


@pytest.mark.timing
def test_revoked_key_closes_its_socket_within_a_second(server: LiveServer):
    key, prefix = server.new_key(Scope.READ, "dashboard")
    with _wss(server) as ws:
        ws.send(json.dumps({"api_key": key}))
        assert json.loads(ws.recv(timeout=30))["type"] == "hello"
        server.revoke(prefix)
        revoked_at = time.monotonic()
        closed = _until_closed(ws, within_s=30)
        took = time.monotonic() - revoked_at
    assert closed.rcvd is not None and closed.rcvd.code == 1008
    assert closed.rcvd.reason == "API key revoked"
    assert took < 1.0, f"closed {took:.2f} s after the revocation"


def test_malformed_telemetry_messages_get_an_answer_never_a_traceback(server: LiveServer):
    with _wss(server) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.send(json.dumps({"api_key": 1}))
        ws.recv(timeout=30)
    assert closed.value.rcvd.code == 1008 and "API key" in closed.value.rcvd.reason
    key, _ = server.new_key(Scope.READ)
    with _wss(server, additional_headers={"X-API-Key": key}) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "hello"
        bad = ['{"t": NaN, "tick": 9223372036854775808}', "not json", '{"type": "ping", "x": 1}', "[" * 4000]
        for message in bad:
            ws.send(message)
            answer = json.loads(ws.recv(timeout=30))
            while answer["type"] in ("heartbeat", "state"):
                answer = json.loads(ws.recv(timeout=30))
            assert answer["type"] == "error" and answer["detail"].startswith("malformed message")
        ws.send('{"type": "ping"}')
        answer = json.loads(ws.recv(timeout=30))
        while answer["type"] == "heartbeat":
            answer = json.loads(ws.recv(timeout=30))
        assert answer["type"] == "pong"
        ws.send("x" * 5000)  # over the telemetry socket's own 4 kB
        assert _until_closed(ws, within_s=30).rcvd.code == 1009
    assert "Traceback" not in server.log.read_text()


def test_data_directory_is_private(server: LiveServer):
    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700
    for path in server.data_dir.rglob("*"):
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    for name in ("dynamical.db", "dynamical.db-wal", "dynamical.db-shm", "keyring.json"):
        path = server.data_dir / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name


def test_every_response_carries_security_headers(server: LiveServer):
    with server.client() as client:
        for path in ("/", "/dashboard", "/health", "/api/v1/robots", "/openapi.json", "/no/such/file.js"):
            headers = client.get(path).headers
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["x-frame-options"] == "DENY", path
            assert headers["referrer-policy"] == "no-referrer", path
            assert "frame-ancestors 'none'" in headers["content-security-policy"], path
            assert "script-src 'self';" in headers["content-security-policy"], path
            assert headers["strict-transport-security"].startswith("max-age="), path
            assert "server" not in headers, path
        docs = client.get("/docs")
        assert docs.status_code == 200 and "frame-ancestors 'none'" in docs.headers["content-security-policy"]


def test_health_without_a_key_names_no_robot_or_peer(server: LiveServer):
    with server.client() as client:
        anonymous = client.get("/health").json()
    assert anonymous["detailed"] is False and anonymous["agents"] == []
    assert all(c["detail"] == "" for c in [anonymous["database"], *anonymous["components"]])
    with server.client(server.admin_key) as client:
        detailed = client.get("/health").json()
    assert detailed["detailed"] is True and "sqlite" in detailed["database"]["detail"]


def test_tls_only(server: LiveServer):
    with server.client() as client:
        assert client.get("/health").status_code == 200  # a verified TLS round trip
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://{HOST}:{server.port}/health", timeout=10)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/health", verify=True, timeout=10)  # not a certificate the system trusts


def test_failed_authentication_is_throttled_and_audited_once(server: LiveServer):
    """From an address of its own (the other tests fail from 127.0.0.1 now and then)."""
    before = len(_audit_rows(server))
    answers = []
    with server.client(source=ATTACKER) as client:
        for attempt in range(14):
            # Each try claims another client address: without a trusted proxy the header is ignored.
            headers = {"X-API-Key": BAD_KEY, "X-Forwarded-For": f"198.51.100.{attempt}"}
            answers.append(client.post(EDGE_DEVICES, json={}, headers=headers))
    codes = [a.status_code for a in answers]
    assert codes[:10] == [401] * 10 and codes[10:] == [429] * 4, codes
    retry = int(answers[-1].headers["retry-after"])
    assert 1 <= retry <= 60 and math.isfinite(retry)
    # A valid key from the same address is still served: an e-stop must never wait out a throttle.
    with server.client(server.admin_key, source=ATTACKER) as client:
        assert client.get("/api/v1/robots").status_code == 200
    rows = _audit_rows(server)[before:]
    assert [(r.actor, r.status_code) for r in rows] == [("anonymous", 401), ("anonymous", 429)], [
        (r.path, r.status_code) for r in rows
    ]
    assert all(r.client == ATTACKER for r in rows), "the audit log names the TCP peer, not a header's claim"
    assert "11 failed authentications" in rows[1].path
