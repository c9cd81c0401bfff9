"""The dashboard in a real browser against a real server and simulated robot: ``make up``'s
``dynamical up`` (server + agent) serving the built ``ui/``, driven by the e2e suite in
``ui/e2e/`` (playwright-core and Debian's Chromium), once with each kind of robot agent.
Screenshots of every page land in ``artifacts/e2e/<agent mode>/`` (``E2E_ARTIFACTS`` overrides
the ``artifacts/e2e`` part)."""

from __future__ import annotations

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


@pytest.fixture
def platform(tmp_path: Path, agent_mode: str) -> Iterator[tuple[str, str]]:
    """``dynamical up`` on a free port with a new data directory: (url, admin key)."""
    if not (UI / "dist" / "index.html").is_file() or not (UI / "node_modules").is_dir():
        pytest.fail("the dashboard is not built: `make test` runs npm ci and npm run build in ui/ first")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "up.log"
    command = [sys.executable, "-m", "dynamical.cli", "up", "--port", str(port), "--data-dir", str(tmp_path / "data")]
    command += ["--agent-mode", agent_mode]
    with open(log, "wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
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
        yield url, key.group(1)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def test_dashboard_end_to_end(platform: tuple[str, str], agent_mode: str) -> None:
    chromium = _chromium()
    url, key = platform
    artifacts = Path(os.environ.get("E2E_ARTIFACTS", ROOT / "artifacts" / "e2e")).resolve() / agent_mode
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    env = {**os.environ, "DYNAMICAL_URL": url, "DYNAMICAL_API_KEY": key, "E2E_ARTIFACTS": str(artifacts)}
    env["CHROMIUM_PATH"] = chromium
    run = subprocess.run(
        ["npm", "run", "--silent", "test:e2e"], cwd=UI, env=env, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-4000:]
    for page in PAGES:
        shot = artifacts / f"{page}.png"
        assert shot.is_file(), f"no screenshot of /{page}"
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000, shot
