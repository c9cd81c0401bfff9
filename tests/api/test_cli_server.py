"""The server commands as a user runs them: real processes against a real HTTP server.

``keys create`` writes to the database while the server (another thread here, another process in
production) serves requests from it; the new key works at once.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from dynamical.api.app import create_app
from dynamical.api.records import RobotRecord, upsert_robot
from dynamical.api.settings import ApiSettings
from dynamical.skills.builtin.catalog import builtin_manifests


def dynamical(*args: str, settings: ApiSettings | None = None, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DYNAMICAL_")} | env
    if settings is not None and not settings.database_url.startswith("sqlite"):
        environment["DYNAMICAL_DATABASE_URL"] = settings.database_url
    command = [sys.executable, "-m", "dynamical.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(api_settings: ApiSettings) -> Iterator[str]:
    app = create_app(api_settings, prepare_database=False)
    with app.state.db.session() as session:
        upsert_robot(session, RobotRecord(id="thor_001", name="Thor", profile="humanoid", kind="simulated"))
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # a wait, not a speed claim: a busy machine starts it slowly
    while not uv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(10)


def test_keys_create_while_the_server_runs_then_list_skills_and_robots(
    server: str, api_settings: ApiSettings, backend: str
):
    data_dir = str(api_settings.data_dir)
    made = dynamical("keys", "create", "--scope", "read", "--data-dir", data_dir, settings=api_settings)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("dyn_") and "not shown again" in made.stderr

    skills = dynamical("skills", "list", "--server", server, "--api-key", key, "--json")
    assert skills.returncode == 0, skills.stderr
    assert {s["id"] for s in json.loads(skills.stdout)} == {m.id for m in builtin_manifests()}

    robots = dynamical("robots", "--server", server, DYNAMICAL_API_KEY=key)
    assert robots.returncode == 0, robots.stderr
    assert "thor_001" in robots.stdout and "humanoid" in robots.stdout

    if backend != "sqlite":
        return  # what follows does not depend on the database
    refused = dynamical("robots", "--server", server, "--api-key", "dyn_0000000000_" + "x" * 43)
    assert refused.returncode == 2
    assert refused.stderr.strip() == "error: GET /api/v1/robots: HTTP 401: invalid API key"


def test_db_init_and_upgrade_on_a_fresh_data_dir(tmp_path: Path):
    # SQLite only: on PostgreSQL the same init_database runs when the server starts on an empty database.
    data_dir = tmp_path / "site"
    init = dynamical("db", "init", "--data-dir", str(data_dir), "--json")
    assert init.returncode == 0, init.stderr
    report = json.loads(init.stdout)
    assert report["builtin_skills_updated"] == len(builtin_manifests()) and (data_dir / "dynamical.db").is_file()
    upgrade = dynamical("db", "upgrade", "--data-dir", str(data_dir))
    assert upgrade.returncode == 0 and "already current" in upgrade.stdout
    missing = dynamical("keys", "create", "--scope", "read", "--data-dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "run `dynamical db init`" in missing.stderr
    assert not (tmp_path / "nowhere").exists(), "a mistyped --data-dir does not create a database"
