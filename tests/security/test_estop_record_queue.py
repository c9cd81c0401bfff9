"""The write-behind queue the e-stop and the robots' safety events go through: bounded, never
silently dropping. A real SQLite database (a prepared copy), locked by another connection the
way another process can; no robot needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dynamical.api.db import Database
from dynamical.api.event_queue import AuditWrite, RecordQueue, writer_database
from dynamical.api.models import AuditEntry
from dynamical.bench.live import write_locked
from tests.security import safety_platform
from tests.security.safety_platform import eventually

sqlite_template = safety_platform.sqlite_template
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def database(sqlite_template, tmp_path: Path) -> tuple[Database, Path]:  # type: ignore[no-untyped-def]
    settings = sqlite_template.instance(tmp_path)
    db = Database(settings.database_url)
    yield db, Path(db.url.database)  # type: ignore[misc]
    db.dispose()


def _audit(i: int) -> AuditWrite:
    return AuditWrite(
        at=T0 + timedelta(seconds=i),
        principal=None,
        method="POST",
        path=f"/api/safety/estop#{i}",
        status_code=200,
        client="127.0.0.1",
    )


def _stored(db: Database) -> list[tuple[str, datetime]]:
    with db.session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.path.like("/api/safety/estop#%")))
        return sorted((e.path, e.at) for e in entries)


def _queue(db: Database, spool: Path, **options: float) -> RecordQueue:
    return RecordQueue(writer_database(db.url.render_as_string(hide_password=False), db), spool, **options)  # type: ignore[arg-type]


def test_a_full_queue_and_a_locked_database_spool_everything_then_replay_it(
    database: tuple[Database, Path], tmp_path: Path
) -> None:
    db, path = database
    spool = tmp_path / "records.spool"
    queue = _queue(db, spool, max_pending=2, spill_after_s=0.2)
    try:
        with write_locked(path):
            for i in range(10):
                queue.submit(_audit(i))  # never blocks: the lock is not its to wait for
            eventually(lambda: queue.status().spooled == 10, what="all ten spooled")
            assert len(spool.read_text().splitlines()) == 10
            assert _stored(db) == []
            assert not queue.health().ok
        assert queue.flush(30.0)
        # Every record, each with its own time (not the time it was written).
        assert _stored(db) == [(f"/api/safety/estop#{i}", T0 + timedelta(seconds=i)) for i in range(10)]
        assert not spool.exists() and queue.health().ok
    finally:
        queue.close()


def test_what_is_left_at_shutdown_is_spooled_and_stored_at_the_next_start(
    database: tuple[Database, Path], tmp_path: Path
) -> None:
    db, path = database
    spool = tmp_path / "records.spool"
    with write_locked(path):
        queue = _queue(db, spool, spill_after_s=60.0)  # would retry a long time: close must not lose them
        for i in range(3):
            queue.submit(_audit(i))
        queue.close(timeout_s=2.0)
        assert len(spool.read_text().splitlines()) == 3
    # A torn last line (a crash in the middle of an append) is kept aside, not replayed as garbage.
    with open(spool, "a") as f:
        f.write('{"kind": "audit", "at": "2026-')
    again = _queue(db, spool)
    try:
        assert again.flush(30.0)
        assert [p for p, _ in _stored(db)] == [f"/api/safety/estop#{i}" for i in range(3)]
        assert again.status().rejected == 1 and again.rejected_path is not None
        assert "unreadable spool line" in again.rejected_path.read_text()
    finally:
        again.close()
