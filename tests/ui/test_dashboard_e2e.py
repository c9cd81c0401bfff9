"""The dashboard in a real browser against a real server and simulated robot: ``make up``'s
``dynamical up`` (server + agent) serving the built ``ui/``, driven by the e2e suite in
``ui/e2e/`` (playwright-core and Debian's Chromium), once with each kind of robot agent.
Screenshots of every page land in ``artifacts/e2e/<agent mode>/`` (``E2E_ARTIFACTS`` overrides
the ``artifacts/e2e`` part), with ``metrics.json``: e-stop request → banner, server killed → stale,
the 3D view's frame rate. The suite ends by killing the server (SIGKILL) and, with the realtime
agent, freezes the executive (SIGSTOP) to make a real watchdog protective stop."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "ui"
PAGES = ("dashboard", "skills", "safety", "observability", "devices", "training")


def _chromium() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path:
        pytest.skip("no Chromium: make test installs Debian's chromium (scripts/ensure-chromium)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["lockstep", "realtime"])
def agent_mode(request: pytest.FixtureRequest) -> str:
    """Both agents: ``make up``'s two-process robot (realtime process + executive) and the
    lock-step one (simulator, kernel and executor stepped in one process)."""
    return request.param


def _stop_tree(pid: int) -> None:
    """SIGINT, then SIGKILL what is left of ``pid`` and its descendants (the server may be dead
    already: the suite kills it; its agent, in a session of its own, is not)."""
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    procs = [root, *root.children(recursive=True)]
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signal.SIGCONT)
            p.send_signal(signal.SIGINT)
    _, alive = psutil.wait_procs(procs, timeout=30)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()


def _agent_of(url: str) -> int | None:
    """The pid of the robot agent ``dynamical up`` started for the server at ``url`` (in a session
    of its own, so not among the server's children once the server is gone)."""
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "agent" in cmdline and url in cmdline:
            return proc.pid
    return None


@pytest.fixture
def platform(tmp_path: Path, agent_mode: str) -> Iterator[tuple[str, str, int, int | None]]:
    """``dynamical up`` on a free port with a new data directory: (url, admin key, server pid, agent pid)."""
    if not (UI / "dist" / "index.html").is_file() or not (UI / "node_modules").is_dir():
        pytest.fail("the dashboard is not built: `make test` runs npm ci and npm run build in ui/ first")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "up.log"
    command = [sys.executable, "-m", "dynamical.cli", "up", "--port", str(port), "--data-dir", str(tmp_path / "data")]
    command += ["--agent-mode", agent_mode]
    with open(log, "wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    agent_pid: int | None = None
    try:
        deadline = time.monotonic() + 600  # a start on a loaded 2-core machine takes minutes
        while time.monotonic() < deadline:
            assert server.poll() is None, log.read_text()
            try:
                # The agents are listed to a key holder only: the admin key `up` printed at its start.
                admin = re.search(r"^(dyn_[0-9a-f]{10}_\S+)$", log.read_text(), re.M)
                headers = {"X-API-Key": admin.group(1)} if admin else {}
                agents = httpx.get(f"{url}/health", headers=headers, timeout=2).json()["agents"]
                if any(a["robot_id"] == "thor_001" for a in agents):
                    break
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        else:
            raise AssertionError("the server or its agent did not come up:\n" + log.read_text())
        key = re.search(r"^(dyn_[0-9a-f]{10}_\S+)$", log.read_text(), re.M)
        assert key is not None, log.read_text()
        agent_pid = _agent_of(url)
        yield url, key.group(1), server.pid, agent_pid
    finally:
        if agent_pid is not None:
            _stop_tree(agent_pid)
        _stop_tree(server.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(5)


@pytest.mark.timeout(1800)  # a server start, then the whole browser suite (a seed task and a stopped one)
def test_dashboard_end_to_end(platform: tuple[str, str, int, int | None], agent_mode: str) -> None:
    chromium = _chromium()
    url, key, server_pid, agent_pid = platform
    artifacts = Path(os.environ.get("E2E_ARTIFACTS", ROOT / "artifacts" / "e2e")).resolve() / agent_mode
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    env = {**os.environ, "DYNAMICAL_URL": url, "DYNAMICAL_API_KEY": key, "E2E_ARTIFACTS": str(artifacts)}
    env["CHROMIUM_PATH"] = chromium
    env["E2E_AGENT_MODE"] = agent_mode
    env["DYNAMICAL_SERVER_PID"] = str(server_pid)
    if agent_pid is not None:
        env["DYNAMICAL_AGENT_PID"] = str(agent_pid)
    run = subprocess.run(
        ["npm", "run", "--silent", "test:e2e"], cwd=UI, env=env, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-4000:]
    for page in PAGES:
        shot = artifacts / f"{page}.png"
        assert shot.is_file(), f"no screenshot of /{page}"
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000, shot
    metrics = json.loads((artifacts / "metrics.json").read_text())
    print(f"dashboard figures ({agent_mode}): {json.dumps(metrics)}")
    assert {"estop_to_banner_ms", "server_killed_to_stale_ms"} <= metrics.keys(), metrics
