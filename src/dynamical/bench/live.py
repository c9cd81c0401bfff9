"""A live platform in this process, for benches and tests that need the real thing end to end.

``LivePlatform`` serves ``build_server`` with uvicorn on a loopback port (in a thread), on a
SQLite database in its own data directory, and links robot agents to it: in this process (a
thread runs the agent link client) or as a ``dynamical agent`` child process (as ``dynamical up``
runs it). ``write_locked`` holds the database's write lock from another connection, the way
another process (a migration, ``dynamical keys create``, a backup) can.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
from sqlalchemy.engine import make_url

from dynamical.agent.robot_agent import RobotAgent
from dynamical.api.auth import Scope, create_api_key
from dynamical.api.settings import SQLITE_FILE, ApiSettings
from dynamical.safety.config import SafetyConfig

AgentMode = Literal["lockstep", "realtime"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LinkedRobot:
    """A robot agent linked to the platform: in this process (``agent`` and ``client``) or a child."""

    robot_id: str
    agent: RobotAgent | None = None
    client: object | None = None
    thread: threading.Thread | None = None
    process: subprocess.Popen[bytes] | None = None
    stopped: bool = False

    def stop(self) -> None:
        """Unlink and stop the robot (again: nothing)."""
        if self.stopped:
            return
        self.stopped = True
        if self.client is not None:
            self.client.stop()  # type: ignore[attr-defined]
            if self.thread is not None:
                self.thread.join(10)
        if self.agent is not None:
            self.agent.stop()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class LivePlatform:
    """The platform server on ``127.0.0.1:<port>`` with its data in ``data_dir``; a context manager."""

    def __init__(self, settings: ApiSettings, *, prepare_database: bool = True, port: int | None = None) -> None:
        """``settings``: a SQLite database; ``prepare_database`` False for one ``init_database``
        has prepared already (tests copy a prepared data directory: seeding the built-in skills
        takes a while)."""
        url = make_url(settings.database_url)
        if url.get_backend_name() != "sqlite" or not url.database:
            raise ValueError("a live platform runs on a SQLite database file")
        self.settings = settings
        self.data_dir = settings.data_dir
        self.db_path = Path(url.database)
        self.prepare_database = prepare_database
        self.port = port or free_port()
        self.robots: dict[str, LinkedRobot] = {}
        self.keys: dict[str, str] = {}
        self._server = None
        self._thread: threading.Thread | None = None

    @classmethod
    def in_dir(cls, data_dir: Path) -> LivePlatform:
        """A new platform with its data (and SQLite database) in ``data_dir``."""
        return cls(ApiSettings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / SQLITE_FILE}"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LivePlatform:
        import uvicorn

        from dynamical.api.server import build_server

        self.app = build_server(self.settings, warm_up=False, prepare_database=self.prepare_database)
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, name="live-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 120
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the platform server did not start")
            time.sleep(0.05)
        with self.app.state.db.session() as session:
            for scope in (Scope.OPERATE, Scope.ADMIN):
                self.keys[scope.value] = create_api_key(session, scope, f"live {scope.value}").key
        return self

    def __exit__(self, *exc: object) -> None:
        for robot in self.robots.values():
            robot.stop()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(30)

    @property
    def hub(self):  # type: ignore[no-untyped-def]
        return self.app.state.agent_hub

    def client(self, scope: str = "operate", timeout_s: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": self.keys[scope]}, timeout=timeout_s)

    def link_robot(
        self,
        robot_id: str,
        *,
        mode: AgentMode = "lockstep",
        child_process: bool = False,
        safety: SafetyConfig | None = None,
        agent: RobotAgent | None = None,
        timeout_s: float = 120.0,
    ) -> LinkedRobot:
        """Start a simulated robot's agent (``agent``, or one made for ``mode`` and ``safety``),
        link it, and wait for its first state on the server."""
        from dynamical.api.robot_credentials import provision_local

        credential, _ = provision_local(self.app.state.db, self.data_dir, robot_id)
        if child_process:
            if safety is not None:
                raise ValueError("a child agent takes the configured safety settings")
            command = [sys.executable, "-m", "dynamical.cli", "agent", "--robot-id", robot_id, "--server", self.url]
            command += ["--credential", str(credential), "--mode", mode]
            log = open(self.data_dir / f"agent-{robot_id}.log", "ab")  # noqa: SIM115 (the child owns it)
            robot = LinkedRobot(robot_id, process=subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
        else:
            robot = self._agent_here(robot_id, credential, agent or self._make_agent(robot_id, mode, safety))
        self.robots[robot_id] = robot
        deadline = time.monotonic() + timeout_s
        while True:
            connection = self.hub.connections.get(robot_id)
            if connection is not None and connection.state is not None:
                return robot
            if robot.process is not None and robot.process.poll() is not None:
                raise RuntimeError(f"agent {robot_id} exited: see {self.data_dir / f'agent-{robot_id}.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"agent {robot_id} did not link within {timeout_s:g} s")
            time.sleep(0.05)

    @staticmethod
    def _make_agent(robot_id: str, mode: AgentMode, safety: SafetyConfig | None) -> RobotAgent:
        from dynamical.agent.robot_agent import make_robot_agent
        from dynamical.config import load_settings
        from dynamical.launch import load_description, load_world

        settings = load_settings()
        world = load_world(settings)
        if world is None:
            raise ValueError(f"robot profile {settings.robot!r} has no simulated world")
        return make_robot_agent(robot_id, load_description(settings), world, safety or settings.safety, mode=mode)

    def _agent_here(self, robot_id: str, credential: Path, agent: RobotAgent) -> LinkedRobot:
        from dynamical.agent.link_client import AgentLinkClient, LinkConfig, RobotIdentity
        from dynamical.config import load_settings
        from dynamical.skills.builtin.catalog import EMBODIMENT

        agent.start()
        identity = RobotIdentity(
            name=robot_id, profile=load_settings().robot, kind="simulated", embodiment=EMBODIMENT, capabilities=[]
        )
        client = AgentLinkClient(agent, identity, LinkConfig(server=self.url, credential=credential))
        thread = threading.Thread(target=client.run, name=f"link-{robot_id}", daemon=True)
        thread.start()
        return LinkedRobot(robot_id, agent=agent, client=client, thread=thread)


@contextmanager
def write_locked(db_path: Path) -> Iterator[sqlite3.Connection]:
    """Hold the SQLite database's write lock (``BEGIN IMMEDIATE`` on a connection of its own)
    until the block ends; then commit, so that waiting writers go on."""
    connection = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield connection
        connection.execute("COMMIT")
    finally:
        connection.close()
