"""Safety records that never wait for the database: a write-behind queue with a local spool.

The agent link and the e-stop hand their records (a robot's safety events, the e-stop's audit
row) to ``RecordQueue.submit``, which never blocks on the database: a writer thread stores them.
A database that is locked (another process holds a write transaction) or down is retried with
backoff; when it stays unavailable longer than ``spill_after_s``, the records go to an
append-only spool file (JSON lines, fsynced) and are replayed, oldest first, when the database
answers again (also at the next start: the spool outlives the process). Nothing is dropped:

- the in-memory queue is bounded (``max_pending``); a record that finds it full goes straight to
  the spool;
- a record the database refuses for good (a constraint, not a lock) goes to a ``.rejected``
  file beside the spool with the reason, and is counted in ``/health``;
- ``close`` writes what it can and spools the rest.

Records are stored at least once: a crash between a commit and the spool's rewrite replays that
one record again. Order is kept, except that records which overflowed the memory queue can be
stored before older ones still in it; every row carries its own times (``recorded_at``, ``at``).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from dynamical.agent.messages import SafetyEventWire
from dynamical.api import audit
from dynamical.api.auth import Principal
from dynamical.api.db import Database
from dynamical.api.records import SafetyEventRecord, store_reported_events
from dynamical.api.schemas import ComponentHealth

log = logging.getLogger(__name__)
ATTEMPT_TIMEOUT_MS = 250
"""How long one write waits for a lock before it counts as failed and is retried (the app's
connections wait 10 s; the writer would rather retry, and spool sooner)."""


class EventsWrite(BaseModel):
    """Safety events a robot reported, as received."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["safety_events"] = "safety_events"
    robot_id: str
    received_at: datetime
    events: list[SafetyEventRecord]


class AuditWrite(BaseModel):
    """One audit-log row of a request that does not wait for the database (the e-stop)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["audit"] = "audit"
    at: datetime
    principal: Principal | None
    method: str
    path: str
    status_code: int
    client: str | None


def events_write(robot_id: str, events: Sequence[SafetyEventWire], received_at: datetime) -> EventsWrite:
    """The record of events a robot sent over the link."""
    return EventsWrite(
        robot_id=robot_id,
        received_at=received_at,
        events=[
            SafetyEventRecord(
                t=e.t,
                # An agent that does not report ticks leaves the ring's sequence number in their place.
                tick=e.tick if e.tick >= 0 else e.seq,
                rule=e.rule,
                joint=e.joint,
                zone=e.zone,
                point=e.point,
                # The database keeps numbers; a non-finite value the agent reported as None is stored as 0.
                value=e.value if e.value is not None else 0.0,
                limit=e.limit if e.limit is not None else 0.0,
                request_id=e.request_id,
            )
            for e in events
        ],
    )


Write = Annotated[EventsWrite | AuditWrite, Field(discriminator="kind")]
_write = TypeAdapter(Write)


def apply(db: Database, item: EventsWrite | AuditWrite) -> None:
    """Store ``item`` in one transaction."""
    if isinstance(item, EventsWrite):
        with db.session() as session:
            store_reported_events(session, item.robot_id, item.events, item.received_at)
    else:
        audit.record(db, item.principal, item.method, item.path, item.status_code, item.client, at=item.at)


class QueueStatus(BaseModel):
    pending: int = Field(description="records in memory, not stored yet")
    spooled: int = Field(description="records in the spool file, waiting for the database")
    rejected: int = Field(description="records the database refused for good (kept in the .rejected file)")
    stored: int = Field(description="records stored since start")
    last_error: str | None


def default_spool(db: Database) -> Path | None:
    """Beside a SQLite database file (``<file>.spool``); None for another database (memory only)."""
    if db.dialect == "sqlite" and db.url.database not in (None, "", ":memory:"):
        return Path(db.url.database).with_name(Path(db.url.database).name + ".spool")
    return None


def _retryable(exc: BaseException) -> bool:
    """A lock, a lost connection, a full pool: the same write can succeed later."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError | DisconnectionError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def writer_database(url: str, shared: Database) -> Database:
    """An engine of its own for the writer, whose writes give up on a lock after
    ``ATTEMPT_TIMEOUT_MS`` (and are retried); ``shared`` where a second engine would see another
    database (in-memory SQLite)."""
    if shared.dialect == "sqlite" and shared.url.database in (None, "", ":memory:"):
        return shared
    db = Database(url)

    def short_waits(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        if db.dialect == "sqlite":
            # Runs after the app's pragmas (listeners run in order): this busy timeout wins.
            cursor.execute(f"PRAGMA busy_timeout={ATTEMPT_TIMEOUT_MS}")
        elif db.dialect == "postgresql":
            cursor.execute(f"SET lock_timeout = {ATTEMPT_TIMEOUT_MS}")
        cursor.close()

    event.listen(db.engine, "connect", short_waits)
    return db


class RecordQueue:
    """Write-behind storage of safety records; see the module docstring.

    ``spool``: the spool file (its ``.rejected`` sibling beside it); None keeps spilled records in
    memory only (a database that is not a file and no data directory: they survive a database
    outage, not a restart)."""

    def __init__(
        self,
        db: Database,
        spool: Path | None,
        *,
        max_pending: int = 10_000,
        spill_after_s: float = 2.0,
        retry_max_s: float = 1.0,
    ) -> None:
        self.db = db
        self.spool = spool
        self.rejected_path = spool.with_name(spool.name + ".rejected") if spool is not None else None
        self.max_pending = max_pending
        self.spill_after_s = spill_after_s
        self.retry_max_s = retry_max_s
        self._queue: queue.Queue[EventsWrite | AuditWrite] = queue.Queue(maxsize=max_pending)
        self._file_lock = threading.Lock()
        self._memory_spool: list[str] = []
        self._spooled = self._count_spool()
        self._rejected = 0
        self._stored = 0
        self._last_error: str | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="record-queue", daemon=True)
        self._thread.start()

    # ---- producers (any thread; never blocks on the database) -----------------------------

    def submit(self, item: EventsWrite | AuditWrite) -> None:
        """Queue ``item`` for storing; when the queue is full, spool it (a local file append)."""
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            log.warning("record queue full (%d): spooling a %s record", self.max_pending, item.kind)
            self._spill([item])
        self._wake.set()

    # ---- state ------------------------------------------------------------------------------

    def status(self) -> QueueStatus:
        return QueueStatus(
            pending=self._queue.unfinished_tasks,
            spooled=self._spooled,
            rejected=self._rejected,
            stored=self._stored,
            last_error=self._last_error,
        )

    def health(self) -> ComponentHealth:
        """A ``/health`` line. Not ok while records wait in the spool or were refused: the
        database is missing safety records (they are safe on disk)."""
        s = self.status()
        detail = f"{s.stored} stored, {s.pending} queued, {s.spooled} spooled, {s.rejected} rejected"
        if s.last_error and (s.spooled or s.rejected):
            detail += f"; last error: {s.last_error}"
        return ComponentHealth(name="safety_records", ok=s.spooled == 0 and s.rejected == 0, detail=detail)

    def flush(self, timeout_s: float) -> bool:
        """Wait until every record submitted so far is stored (or refused for good); True if so."""
        deadline = time.monotonic() + timeout_s
        self._wake.set()
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0 and self._spooled == 0:
                return True
            time.sleep(0.01)
        return False

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the writer: what it cannot store within ``timeout_s`` is spooled, never lost."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.error("the record writer did not stop within %g s", timeout_s)
        leftover = self._drain()
        self._spill(leftover)
        for _ in leftover:
            self._queue.task_done()

    # ---- the writer thread --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            if self._spooled and not self._replay():
                drained = self._drain()
                self._spill(drained)  # the database is still away: keep the order, behind the spool
                for _ in drained:
                    self._queue.task_done()
                if self._stopping.is_set():
                    return
                self._wake.wait(self.retry_max_s)
                self._wake.clear()
                continue
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._stopping.is_set():
                    return
                continue
            try:
                if not self._store_with_retries(item):
                    self._spill([item])
            finally:
                self._queue.task_done()

    def _drain(self) -> list[EventsWrite | AuditWrite]:
        items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items

    def _store_with_retries(self, item: EventsWrite | AuditWrite) -> bool:
        """Store ``item``, retrying a locked or absent database for ``spill_after_s``; False when
        it is still unavailable (the caller spools it). A refusal for good is rejected, True."""
        give_up = time.monotonic() + self.spill_after_s
        delay = 0.02
        while True:
            outcome = self._try(item)
            if outcome is not None:
                return outcome
            if time.monotonic() >= give_up or self._stopping.is_set():
                return False
            time.sleep(delay)
            delay = min(delay * 2, self.retry_max_s)

    def _try(self, item: EventsWrite | AuditWrite) -> bool | None:
        """True: stored or rejected; None: the database is unavailable now."""
        try:
            apply(self.db, item)
        except SQLAlchemyError as exc:
            self._last_error = _first_line(exc)
            if _retryable(exc):
                return None
            self._reject(item, self._last_error)
            return True
        except Exception as exc:  # a bug must not lose the record or stop the writer
            log.exception("storing a %s record failed", item.kind)
            self._reject(item, f"{type(exc).__name__}: {exc}")
            return True
        self._stored += 1
        return True

    # ---- the spool ------------------------------------------------------------------------------

    def _spill(self, items: list[EventsWrite | AuditWrite]) -> None:
        if not items:
            return
        lines = [item.model_dump_json() + "\n" for item in items]
        with self._file_lock:
            if self.spool is None:
                self._memory_spool.extend(lines)
            else:
                try:
                    self.spool.parent.mkdir(parents=True, exist_ok=True)
                    with open(self.spool, "a", encoding="utf-8") as f:
                        f.writelines(lines)
                        f.flush()
                        os.fsync(f.fileno())
                except OSError as exc:
                    # No disk either: keep them in memory, loudly; they go to the database first.
                    log.error("cannot spool %d safety records to %s (%s): kept in memory", len(lines), self.spool, exc)
                    self._memory_spool.extend(lines)
            self._spooled += len(lines)
        log.warning("database unavailable (%s): %d safety records spooled", self._last_error, len(lines))

    def _spooled_lines(self) -> list[str]:
        with self._file_lock:
            lines = list(self._memory_spool)
            if self.spool is not None and self.spool.exists():
                lines = self.spool.read_text(encoding="utf-8").splitlines(keepends=True) + lines
            return lines

    def _replay(self) -> bool:
        """Store the spooled records, oldest first; True when the spool is empty after."""
        lines = self._spooled_lines()
        done = 0
        for line in lines:
            try:
                item = _write.validate_json(line)
            except ValidationError as exc:  # a torn last line after a crash mid-append, or an edit
                self._reject_line(line, f"unreadable spool line: {exc.errors()[0]['msg']}")
                done += 1
                continue
            if self._try(item) is None:
                break
            done += 1
        self._forget_spooled(done)
        if done:
            log.info("%d spooled safety records stored", done)
        return self._spooled == 0

    def _forget_spooled(self, count: int) -> None:
        """Drop the first ``count`` spooled lines (stored): the file is rewritten atomically."""
        if count == 0:
            return
        with self._file_lock:
            from_file = 0
            if self.spool is not None and self.spool.exists():
                lines = self.spool.read_text(encoding="utf-8").splitlines(keepends=True)
                from_file = min(count, len(lines))
                rest = lines[from_file:]
                if rest:
                    partial = self.spool.with_name(self.spool.name + ".partial")
                    with open(partial, "w", encoding="utf-8") as f:
                        f.writelines(rest)
                        f.flush()
                        os.fsync(f.fileno())
                    os.replace(partial, self.spool)
                else:
                    self.spool.unlink()
            del self._memory_spool[: count - from_file]
            self._spooled = max(0, self._spooled - count)

    def _count_spool(self) -> int:
        if self.spool is None or not self.spool.exists():
            return 0
        with open(self.spool, encoding="utf-8") as f:
            count = sum(1 for _ in f)
        if count:
            log.warning("%d safety records from an earlier run wait in %s: storing them", count, self.spool)
        return count

    def _reject(self, item: EventsWrite | AuditWrite, reason: str) -> None:
        self._reject_line(item.model_dump_json(), reason)

    def _reject_line(self, line: str, reason: str) -> None:
        self._rejected += 1
        log.error("the database refused a safety record for good (%s): %s", reason, line.strip()[:500])
        if self.rejected_path is None:
            return
        entry = json.dumps({"reason": reason, "record": line.strip()}) + "\n"
        try:
            with self._file_lock, open(self.rejected_path, "a", encoding="utf-8") as f:
                f.write(entry)
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            log.exception("cannot keep the refused record in %s", self.rejected_path)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
