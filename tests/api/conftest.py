"""Fixtures of the server tests: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``DYNAMICAL_TEST_POSTGRES_URL`` (``make test`` starts a throwaway cluster
with ``scripts/with-postgres`` and sets it); each test gets a database of its own, dropped after.
Without the variable the PostgreSQL half is skipped, never faked.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dynamical.api.app import create_app
from dynamical.api.auth import Scope, create_api_key
from dynamical.api.bootstrap import init_database
from dynamical.api.db import Database
from dynamical.api.hub import ZonesChanged
from dynamical.api.settings import SQLITE_FILE, ApiSettings

POSTGRES_ENV = "DYNAMICAL_TEST_POSTGRES_URL"
MAX_ARTIFACT_BYTES = 256 * 1024


def _postgres_base() -> str:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set (make test starts PostgreSQL and sets it)")
    return base


@contextmanager
def _postgres_database(base: str, template: str | None = None) -> Iterator[str]:
    """A new database on the test cluster (a copy of ``template`` if given), dropped afterwards."""
    name = f"dyn_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        _postgres_base()
    return request.param


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with _postgres_database(_postgres_base()) as url:
        yield url


@pytest.fixture(scope="session")
def prepared() -> Iterator[dict[str, tuple[Path, str]]]:
    """Per backend, a data directory and a database already through ``init_database``, made once.

    Each test copies them (the directory with ``copytree``, a PostgreSQL database with CREATE
    DATABASE ... TEMPLATE): building the built-in artifacts for every test would triple the time.
    """
    made: dict[str, tuple[Path, str]] = {}
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:

        class Templates(dict):
            def __missing__(self, backend: str) -> tuple[Path, str]:
                data_dir = Path(scratch) / backend
                if backend == "sqlite":
                    url = f"sqlite:///{data_dir / SQLITE_FILE}"
                else:
                    url = stack.enter_context(_postgres_database(_postgres_base()))
                db = Database(url)
                init_database(ApiSettings(data_dir=data_dir, database_url=url), db)
                db.dispose()
                self[backend] = (data_dir, url)
                return self[backend]

        yield Templates(made)


@pytest.fixture
def api_settings(backend: str, prepared: dict[str, tuple[Path, str]], tmp_path: Path) -> Iterator[ApiSettings]:
    template_dir, template_url = prepared[backend]
    data_dir = tmp_path / "data"
    shutil.copytree(template_dir, data_dir)
    if backend == "sqlite":
        yield ApiSettings(
            data_dir=data_dir,
            database_url=f"sqlite:///{data_dir / SQLITE_FILE}",
            max_artifact_bytes=MAX_ARTIFACT_BYTES,
        )
        return
    with _postgres_database(_postgres_base(), make_url(template_url).database) as url:
        yield ApiSettings(data_dir=data_dir, database_url=url, max_artifact_bytes=MAX_ARTIFACT_BYTES)


class ZoneRecorder:
    """A zones listener that keeps what it was told."""

    def __init__(self) -> None:
        self.events: list[ZonesChanged] = []

    def __call__(self, event: ZonesChanged) -> None:
        self.events.append(event)


@pytest.fixture
def zone_events() -> ZoneRecorder:
    return ZoneRecorder()


@pytest.fixture
def app(api_settings: ApiSettings, zone_events: ZoneRecorder) -> FastAPI:
    return create_app(api_settings, on_zones_changed=zone_events)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # The context manager runs the lifespan: migrations and the built-in skills.
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db(app: FastAPI, client: TestClient) -> Database:
    return app.state.db


@pytest.fixture
def keys(db: Database) -> dict[str, str]:
    """One key per scope: ``keys["read"]``, ``keys["operate"]``, ``keys["admin"]``."""
    with db.session() as session:
        return {scope.value: create_api_key(session, scope, f"test {scope.value}").key for scope in Scope}


def auth(key: str) -> dict[str, str]:
    return {"X-API-Key": key}
