"""Finding 6 (client address): X-Forwarded-For and X-Forwarded-Proto are believed only from a
configured proxy. Served by uvicorn with ``dynamical up``'s transport options, in this process.
And ``dynamical up``'s transport options refuse what they cannot use, in one line."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from typer.testing import CliRunner

from dynamical.api.app import create_app
from dynamical.api.models import AuditEntry
from dynamical.api.serving import uvicorn_options
from dynamical.api.settings import SQLITE_FILE, ApiSettings
from dynamical.cli import app as cli

from .live_server import HOST, free_port, self_signed

BAD_KEY = "dyn_0123456789_" + "A" * 43
CLAIMED = "203.0.113.9"


@contextmanager
def serving(tmp_path: Path, trusted: tuple[str, ...]) -> Iterator[tuple[str, ApiSettings]]:
    data_dir = tmp_path / "data"
    settings = ApiSettings(
        data_dir=data_dir, database_url=f"sqlite:///{data_dir / SQLITE_FILE}", trusted_proxies=trusted
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host=HOST, port=port, log_level="warning", **uvicorn_options(settings, None)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://{HOST}:{port}", settings
    finally:
        server.should_exit = True
        thread.join(30)


def _audited_clients(settings: ApiSettings) -> list[str | None]:
    from dynamical.api.db import Database

    db = Database(settings.database_url)
    try:
        with db.session() as session:
            return [row.client for row in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    finally:
        db.dispose()


def _forged(url: str, claimed: str) -> httpx.Response:
    headers = {"X-API-Key": BAD_KEY, "X-Forwarded-For": claimed, "X-Forwarded-Proto": "https"}
    return httpx.post(f"{url}/api/v1/edge-devices", json={}, headers=headers, timeout=30)


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(tmp_path: Path):
    with serving(tmp_path, ()) as (url, settings):
        answer = _forged(url, CLAIMED)
        assert answer.status_code == 401
        assert "strict-transport-security" not in answer.headers, "X-Forwarded-Proto was believed"
        assert _audited_clients(settings) == ["127.0.0.1"]
        codes = [_forged(url, f"198.51.100.{i}").status_code for i in range(12)]
        assert codes[-1] == 429, "every claimed address is the same client: 127.0.0.1"


def test_a_trusted_proxy_names_the_client(tmp_path: Path):
    with serving(tmp_path, ("127.0.0.1",)) as (url, settings):
        answer = _forged(url, CLAIMED)
        assert answer.status_code == 401
        assert answer.headers["strict-transport-security"].startswith("max-age="), "the proxy speaks TLS"
        assert _audited_clients(settings) == [CLAIMED]
        codes = [_forged(url, CLAIMED).status_code for _ in range(11)]
        assert codes[-1] == 429
        assert _forged(url, "203.0.113.10").status_code == 401, "another client behind the proxy is not throttled"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--trusted-proxy", "proxy.local"], "is not an IP address or network"),
        (["--certfile", "CERT"], "needs both --certfile and --keyfile"),
        (["--certfile", "CERT", "--keyfile", "CERT"], "do not load"),
        (["--certfile", "missing.pem", "--keyfile", "KEY"], "does not exist"),
    ],
)
def test_up_refuses_transport_options_it_cannot_use(tmp_path: Path, args: list[str], message: str):
    certfile, keyfile = self_signed(tmp_path)
    args = [str(certfile) if a == "CERT" else str(keyfile) if a == "KEY" else a for a in args]
    result = CliRunner().invoke(cli, ["up", "--no-agent", "--data-dir", str(tmp_path / "data"), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "data").exists(), "nothing was started or created"


def test_socket_limit_lets_every_agent_message_through():
    from dynamical.agent.messages import MAX_AGENT_MESSAGE_BYTES
    from dynamical.api.settings import DEFAULT_MAX_SOCKET_MESSAGE_BYTES

    # The server's limit is a literal (settings must not import the agent); the agent's is its own.
    assert DEFAULT_MAX_SOCKET_MESSAGE_BYTES >= MAX_AGENT_MESSAGE_BYTES
