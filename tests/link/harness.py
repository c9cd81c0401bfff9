"""What the agent-link tests share: the whole platform server in this process (uvicorn on a free
port, on a thread: real HTTP, real WebSockets, a real database), the robot's own agent, and a raw
client that speaks the link's wire protocol frame by frame, the way an attacker's script would."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgpack
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from dynamical.agent.credential import RobotCredential, default_path
from dynamical.agent.messages import (
    PROTOCOL_VERSION,
    Challenge,
    ExecutePlan,
    Hello,
    ServerMessage,
    Welcome,
    _Message,
    decode_server,
    encode,
)
from dynamical.api.auth import Scope, create_api_key
from dynamical.api.db import Database
from dynamical.api.models import AuditEntry, Execution
from dynamical.api.robot_credentials import issue
from dynamical.api.server import build_server
from dynamical.api.settings import ApiSettings
from dynamical.skills.builtin.catalog import EMBODIMENT, builtin_manifests

WAIT_S = 60.0
"""Upper bound of every wait here: generous, the machine runs other CPU-bound work beside the tests."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Any, what: str, timeout: float = WAIT_S, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class LiveServer:
    app: FastAPI
    url: str
    settings: ApiSettings
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        return self.app.state.db

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws/agent"

    def http(self, scope: str = "admin") -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": self.keys[scope]}, timeout=WAIT_S)

    def credential(self, robot_id: str) -> Path:
        """Issue ``robot_id``'s credential as ``dynamical robots add`` does; the key file's path."""
        return issue(self.db, robot_id, default_path(self.settings.data_dir, robot_id)).path

    def connected(self) -> set[str]:
        with self.http("read") as http:
            return {r["robot_id"] for r in http.get("/health").json()["agents"]}

    def audit(self) -> list[AuditEntry]:
        """The agent link's audit lines, oldest first."""
        with self.db.session() as session:
            return list(session.scalars(select(AuditEntry).where(AuditEntry.method == "LINK").order_by(AuditEntry.id)))

    def execution(self, request_id: str) -> Execution:
        with self.db.session() as session:
            row = session.get(Execution, request_id)
            assert row is not None
            return row


@contextmanager
def live_server(settings: ApiSettings) -> Iterator[LiveServer]:
    app = build_server(settings, prepare_database=False, warm_up=False)
    with app.state.db.session() as session:
        keys = {s.value: create_api_key(session, s, f"test {s.value}").key for s in Scope}
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws_max_size=2**27, lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the server to start")
    try:
        yield LiveServer(app, f"http://127.0.0.1:{port}", settings, keys)
    finally:
        server.should_exit = True
        thread.join(WAIT_S)


def hello_fields(robot_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "robot_id": robot_id,
        "name": robot_id,
        "profile": "humanoid",
        "kind": "simulated",
        "embodiment": EMBODIMENT,
        "capabilities": [m.id for m in builtin_manifests() if m.embodiment == EMBODIMENT],
        **overrides,
    }


class LinkClosedError(Exception):
    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code, self.reason = code, reason


class RawLink:
    """One ``/ws/agent`` connection driven by hand: the handshake, then frames as the test says."""

    def __init__(self, server: LiveServer, headers: dict[str, str] | None = None) -> None:
        self._connection = connect(server.ws_url, additional_headers=headers or {}, max_size=None)
        self.ws: ClientConnection = self._connection.__enter__()
        self.nonce: bytes | None = None

    def close(self) -> None:
        self._connection.__exit__(None, None, None)

    def __enter__(self) -> RawLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def challenge(self) -> bytes:
        message = self.receive()
        assert isinstance(message, Challenge), message
        self.nonce = message.nonce
        return message.nonce

    def hello(self, credential: RobotCredential | None, robot_id: str, **overrides: Any) -> ServerMessage:
        """Answer the challenge with a hello signed by ``credential`` (zeros without one); the
        server's answer (``welcome``), or ``LinkClosedError``."""
        nonce = self.challenge()
        signature = credential.sign_challenge(nonce, robot_id) if credential is not None else bytes(64)
        fields = hello_fields(robot_id, signature=signature, **overrides)
        self.send_raw(msgpack.packb({"v": PROTOCOL_VERSION, "type": "hello", **fields}, use_bin_type=True))
        answer = self.receive()
        assert isinstance(answer, Welcome), answer
        return answer

    def send(self, message: _Message) -> None:
        self.send_raw(encode(message))

    def send_dict(self, fields: dict[str, Any]) -> None:
        self.send_raw(msgpack.packb({"v": PROTOCOL_VERSION, **fields}, use_bin_type=True))

    def send_raw(self, data: bytes | str) -> None:
        try:
            self.ws.send(data)
        except ConnectionClosed as exc:
            raise LinkClosedError(exc.rcvd.code if exc.rcvd else None, exc.rcvd.reason if exc.rcvd else "") from None

    def receive(self, timeout: float = WAIT_S) -> ServerMessage:
        try:
            return decode_server(self.ws.recv(timeout=timeout))  # type: ignore[arg-type]
        except ConnectionClosed as exc:
            raise LinkClosedError(exc.rcvd.code if exc.rcvd else None, exc.rcvd.reason if exc.rcvd else "") from None

    def receive_until(self, kind: type, timeout: float = WAIT_S) -> Any:
        """The next message of ``kind``, skipping others (zones, heartbeats of the protocol)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(max(0.01, deadline - time.monotonic()))
            if isinstance(message, kind):
                return message

    def closed(self, timeout: float = WAIT_S) -> LinkClosedError:
        """Read until the server closes; what it said."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.receive(max(0.01, deadline - time.monotonic()))
            except LinkClosedError as closed:
                return closed
            except TimeoutError:
                break
        raise AssertionError("the server did not close the link")


@contextmanager
def raw_robot(server: LiveServer, robot_id: str, credential: RobotCredential | None = None) -> Iterator[RawLink]:
    """A robot's link, connected and welcomed (its credential issued unless one is given)."""
    credential = credential or RobotCredential.load(server.credential(robot_id))
    with RawLink(server) as link:
        link.hello(credential, robot_id)
        yield link


def next_plan(link: RawLink) -> ExecutePlan:
    return link.receive_until(ExecutePlan)


def own_hello(robot_id: str) -> Hello:
    """A valid hello's fields as a model (for tests that change one field)."""
    return Hello(**hello_fields(robot_id, signature=bytes(64)))


@contextmanager
def real_agent(
    server: LiveServer, robot_id: str, credential: Path | None = None, *, wait: bool = True
) -> Iterator[Any]:
    """The robot's own agent, as ``dynamical agent --mode lockstep`` runs it: a simulated robot
    behind its safety kernel, linked with its credential; yields the link client once welcomed
    (at once with ``wait=False``)."""
    from dynamical.agent.link_client import AgentLinkClient, LinkConfig, RobotIdentity
    from dynamical.agent.robot_agent import make_robot_agent
    from dynamical.config import load_settings
    from dynamical.launch import load_description, load_world

    settings = load_settings(None)
    world = load_world(settings)
    assert world is not None
    robot = make_robot_agent(robot_id, load_description(settings), world, settings.safety, mode="lockstep")
    identity = RobotIdentity(**{k: v for k, v in hello_fields(robot_id).items() if k != "robot_id"})
    config = LinkConfig(server=server.url, credential=credential or server.credential(robot_id), backoff_max_s=1.0)
    client = AgentLinkClient(robot, identity, config)
    robot.start()
    thread = threading.Thread(target=client.run, daemon=True)
    thread.start()
    try:
        if wait:
            wait_for(lambda: robot_id in server.connected(), f"robot {robot_id}'s agent to connect")
        yield client
    finally:
        client.stop()
        thread.join(WAIT_S)
        robot.cancel()
        client.wait_idle(WAIT_S)
        robot.stop()
