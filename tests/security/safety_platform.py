"""Fixtures of the e-stop and zone tests: the server (uvicorn, loopback) on a copy of a prepared
SQLite data directory, with simulated robot agents linked to it in this process.

Test modules take them in with ``live = safety_platform.live`` (and ``sqlite_template``).
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from dynamical.bench.live import LivePlatform
from tests.api.conftest import _Template


@pytest.fixture(scope="session")
def sqlite_template() -> Iterator[_Template]:
    """A data directory through ``init_database`` (the built-in skills seeded), made once."""
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        yield _Template("sqlite", Path(scratch), stack)


@pytest.fixture
def live(sqlite_template: _Template, tmp_path: Path) -> Iterator[LivePlatform]:
    with LivePlatform(sqlite_template.instance(tmp_path), prepare_database=False) as platform:
        yield platform


def rows(db_path: Path, sql: str, *args: object) -> list[tuple]:
    """Rows of ``sql`` on a connection of its own (what any other process would see); a
    statement that changes something is committed."""
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        found = connection.execute(sql, args).fetchall()
        connection.commit()
        return found
    finally:
        connection.close()


def eventually(check: Callable[[], bool], timeout_s: float = 30.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout_s:g} s")
        time.sleep(0.02)
