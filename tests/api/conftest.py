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
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from dynamical.api.app import create_app
from dynamical.api.auth import Scope, create_api_key
from dynamical.api.bootstrap import init_database
from dynamical.api.db import Database
from dynamical.api.hub import ZonesChanged
from dynamical.api.models import Base
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


class _Template:
    """A data directory and database through ``init_database``, made once per backend and session.

    Building the built-in artifacts for every test would triple the suite's time, and so would
    a CREATE DATABASE per test (~0.35 s here). So each test gets a copy of the data directory
    and, on SQLite, of the database file; on PostgreSQL the one session database is reset to the
    prepared rows (TRUNCATE, then the rows again) before each test.
    """

    def __init__(self, backend: str, root: Path, stack: ExitStack) -> None:
        self.backend = backend
        self.data_dir = root / backend
        if backend == "sqlite":
            self.url = f"sqlite:///{self.data_dir / SQLITE_FILE}"
        else:
            self.url = stack.enter_context(_postgres_database(_postgres_base()))
        db = Database(self.url)
        init_database(ApiSettings(data_dir=self.data_dir, database_url=self.url), db)
        with db.engine.connect() as connection:
            self.rows = {t.name: [dict(r._mapping) for r in connection.execute(select(t))] for t in _TABLES}
        db.dispose()

    def instance(self, tmp_path: Path) -> ApiSettings:
        data_dir = tmp_path / "data"
        shutil.copytree(self.data_dir, data_dir)
        if self.backend == "sqlite":
            url = f"sqlite:///{data_dir / SQLITE_FILE}"
        else:
            url = self.url
            engine = create_engine(url)
            with engine.begin() as connection:
                names = ", ".join(f'"{t.name}"' for t in _TABLES)
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                for table in _TABLES:
                    if self.rows[table.name]:
                        connection.execute(table.insert(), self.rows[table.name])
                for table in _TABLES:  # restart serials past the rows put back
                    for column in table.primary_key.columns:
                        if column.autoincrement is True and self.rows[table.name]:
                            top = max(r[column.name] for r in self.rows[table.name])
                            sequence = f"pg_get_serial_sequence('{table.name}', '{column.name}')"
                            connection.execute(text(f"SELECT setval({sequence}, {top})"))
            engine.dispose()
        return ApiSettings(data_dir=data_dir, database_url=url, max_artifact_bytes=MAX_ARTIFACT_BYTES)


_TABLES = Base.metadata.sorted_tables


@pytest.fixture(scope="session")
def templates() -> Iterator[dict[str, _Template]]:
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:

        class Templates(dict):
            def __missing__(self, backend: str) -> _Template:
                self[backend] = _Template(backend, Path(scratch), stack)
                return self[backend]

        yield Templates()


@pytest.fixture
def api_settings(backend: str, templates: dict[str, _Template], tmp_path: Path) -> ApiSettings:
    return templates[backend].instance(tmp_path)


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
    # The template went through init_database already; the default (prepare at start) is tested apart.
    return create_app(api_settings, on_zones_changed=zone_events, prepare_database=False)


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
