"""Finding 5/6 (sockets), in process: an address cannot hold many telemetry sockets that never
say who they are (each may make the server buffer a message), and a throttled address gets
1013 on a socket as it gets 429 over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dynamical.api.auth import Scope, create_api_key
from dynamical.api.server import build_server
from dynamical.api.settings import SQLITE_FILE, ApiSettings
from dynamical.api.telemetry import MAX_PENDING_PER_CLIENT, TOO_MANY_PENDING

BAD_KEY = "dyn_0123456789_" + "A" * 43


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    # One server for both tests: the first makes no failed authentication (its sockets leave
    # before sending anything), the second throttles the address.
    data_dir = tmp_path_factory.mktemp("sockets") / "data"
    settings = ApiSettings(
        data_dir=data_dir, database_url=f"sqlite:///{data_dir / SQLITE_FILE}", auth_failures_allowed=3
    )
    app = build_server(settings, warm_up=False)
    with TestClient(app) as client:
        with app.state.db.session() as session:
            key = create_api_key(session, Scope.READ, "sockets test").key
        yield client, key


def test_sockets_waiting_to_authenticate_are_capped_per_address(served):
    client, key = served
    with ExitStack() as stack:
        for _ in range(MAX_PENDING_PER_CLIENT):
            stack.enter_context(client.websocket_connect("/ws/telemetry"))
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws/telemetry") as ws:
            ws.receive_json()
        assert refused.value.code == 1013 and refused.value.reason == TOO_MANY_PENDING
        # A client with its key in the header waits for nothing: it is not held up by them.
        with client.websocket_connect("/ws/telemetry", headers={"X-API-Key": key}) as ws:
            assert ws.receive_json()["type"] == "hello"
    # The waiting sockets left: the address may open one again.
    with client.websocket_connect("/ws/telemetry") as ws:
        ws.send_json({"api_key": key})
        assert ws.receive_json()["type"] == "hello"


def test_a_throttled_address_gets_1013_on_a_socket(served):
    client, key = served
    codes = [client.get("/api/v1/robots", headers={"X-API-Key": BAD_KEY}).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws/telemetry") as ws:
        ws.send_json({"api_key": BAD_KEY})
        ws.receive_json()
    assert refused.value.code == 1013 and "too many failed authentications" in refused.value.reason
    with client.websocket_connect("/ws/telemetry") as ws:  # a valid key is still served
        ws.send_json({"api_key": key})
        assert ws.receive_json()["type"] == "hello"
