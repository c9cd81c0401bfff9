"""The soak's platform: the server and the robot agent as `dynamical up` runs them, in processes
the soak can restart, measure and account for.

The server is ``dynamical up --no-agent`` and the agent ``dynamical agent`` with the robot
credential ``dynamical up`` makes for its own agent (``provision_local``): the same programs, the
same data directory layout, each in its own session. Keeping them apart lets the soak restart the server
while the robot keeps running, which is what a deployed robot sees when its server is updated.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from dynamical.api.auth import Scope, create_api_key
from dynamical.api.bootstrap import init_database
from dynamical.api.db import Database
from dynamical.api.robot_credentials import provision_local
from dynamical.api.settings import ApiSettings
from dynamical.config import Settings

STOP_GRACE_S = 60.0
"""How long a process gets to stop on SIGINT/SIGTERM before it is killed (and reported): a server
took over 20 s to shut down cleanly on a machine at load 20, which is slow, not ignoring it."""


def _stop_with_parent() -> None:
    """In the child, before it runs: SIGTERM when the soak dies, however it dies (a SIGKILL, a test
    runner's timeout), so that no server or agent outlives it (Linux; elsewhere nothing)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Platform:
    """The server and one agent for ``robot_id``, in ``data_dir``; every process they start is
    remembered so that leftovers can be found after they stop."""

    def __init__(
        self,
        settings: Settings,
        data_dir: Path,
        robot_id: str,
        agent_mode: str,
        agent_speed: float = 1.0,
        config: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.robot_id = robot_id
        self.agent_mode = agent_mode
        self.agent_speed = agent_speed
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._cli = [sys.executable, "-m", "dynamical.cli", *(["--config", str(config)] if config else [])]
        self.server: subprocess.Popen[bytes] | None = None
        self.agent: subprocess.Popen[bytes] | None = None
        self.seen: dict[int, psutil.Process] = {}
        """Every process of the server's and the agent's trees seen so far, by pid."""
        self.shm_seen: set[str] = set()
        """Every /dev/shm file those processes mapped."""
        self.kill_needed: list[str] = []
        """Processes that did not stop on their signal within STOP_GRACE_S."""
        # As `dynamical up` prepares its data directory, plus an operate key for the soak's requests.
        api_settings = ApiSettings.from_settings(settings.model_copy(update={"database_url": None}), data_dir)
        db = Database(api_settings.database_url)
        try:
            init_database(api_settings, db)
            self._credential, _ = provision_local(db, api_settings.data_dir, robot_id)
            with db.session() as session:
                self.api_key = create_api_key(session, Scope.OPERATE, "dynamical bench soak").key
        finally:
            db.dispose()
        self._logs = data_dir / "logs"
        self._logs.mkdir(parents=True, exist_ok=True)

    # -- processes ---------------------------------------------------------------------------

    def start_server(self, timeout_s: float = 300.0) -> None:
        command = [*self._cli, "up", "--no-agent", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        command += ["--robot-id", self.robot_id]
        self.server = self._spawn(command, "server", os.environ.copy())
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"the server exited with {self.server.returncode}; see {self._logs / 'server.log'}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    self.remember()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer /health within {timeout_s:g} s")

    def start_agent(self) -> None:
        command = [*self._cli, "agent", "--robot-id", self.robot_id, "--server", self.url, "--mode", self.agent_mode]
        command += ["--cache-dir", str(self.data_dir / "agents" / self.robot_id), "--credential", str(self._credential)]
        if self.agent_mode == "lockstep":
            command += ["--speed", f"{self.agent_speed:g}"]
        self.agent = self._spawn(command, "agent", os.environ.copy())

    def restart_server(self) -> float:
        """Stop the server (SIGTERM, as a service manager does) and start it again; seconds it took."""
        t0 = time.monotonic()
        if self.server is not None:
            self._stop(self.server, signal.SIGTERM, "server")
        self.start_server()
        return time.monotonic() - t0

    def stop(self) -> None:
        """The agent first (its plan stops, the robot holds), then the server; as Ctrl-C on `up`."""
        try:
            if self.agent is not None:
                self._stop(self.agent, signal.SIGINT, "agent")
        finally:  # whatever stopping the agent met (a second Ctrl-C), the server stops too
            if self.server is not None:
                self._stop(self.server, signal.SIGTERM, "server")

    def _spawn(self, command: list[str], role: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self._logs / f"{role}.log").open("ab") as log:
            return subprocess.Popen(
                command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_stop_with_parent,
            )

    def _stop(self, process: subprocess.Popen[bytes], sig: signal.Signals, role: str) -> None:
        self.remember()
        if process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.kill_needed.append(f"{role} (pid {process.pid}) ignored {sig.name} for {STOP_GRACE_S:g} s")
            process.kill()
            process.wait()

    # -- accounting --------------------------------------------------------------------------

    def _trees(self) -> dict[str, list[psutil.Process]]:
        trees: dict[str, list[psutil.Process]] = {}
        for role, process in (("server", self.server), ("agent", self.agent)):
            if process is None or process.poll() is not None:
                continue
            try:
                root = psutil.Process(process.pid)
                trees[role] = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        return trees

    def remember(self) -> None:
        """Note every live process of both trees and the shared memory they map."""
        for tree in self._trees().values():
            for proc in tree:
                self.seen.setdefault(proc.pid, proc)
                try:
                    self.shm_seen.update(m.path for m in proc.memory_maps() if m.path.startswith("/dev/shm/"))
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue

    def rss_bytes(self) -> dict[str, int]:
        """Resident memory of each tree (the agent: executive and realtime process together)."""
        self.remember()
        totals: dict[str, int] = {}
        for role, tree in self._trees().items():
            total = 0
            for proc in tree:
                try:
                    total += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            totals[role] = total
        return totals

    def server_pid(self) -> int | None:
        return None if self.server is None else self.server.pid

    def leftovers(self) -> tuple[list[str], list[str]]:
        """After ``stop``: the processes of either tree still running, and the /dev/shm segments
        they mapped that still exist."""
        alive = []
        for proc in self.seen.values():
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"pid {proc.pid}: {' '.join(proc.cmdline())[:120]}")
            except psutil.NoSuchProcess:
                continue
        segments = sorted(path for path in self.shm_seen if Path(path).exists())
        return alive, segments
