"""The database connection: one engine per server, short explicit transactions.

SQLite runs in WAL mode with a busy timeout, so that ``dynamical keys create`` (another process)
can write while the server reads and writes. Every unit of work is ``with db.session() as s:``:
it commits on success and rolls back on any exception, so a failed request leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


class DatabaseError(ValueError):
    """The database cannot be reached or is not at the schema this code needs; the message says what to do."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer and the writer never blocks readers.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across application crashes in WAL mode
    cursor.close()


class Database:
    """An engine and its session factory for one database URL."""

    def __init__(self, url: str, create: bool = True) -> None:
        """``create=False``: a SQLite file that does not exist yet is an error instead of a new empty database."""
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if self.dialect == "sqlite":
            database = self.url.database
            if database and database != ":memory:":
                if not create and not Path(database).is_file():
                    raise DatabaseError(f"no database at {database}: run `dynamical db init`")
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            # The pool hands a connection to one thread at a time; FastAPI runs handlers in a thread pool.
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield session

    def ping(self) -> None:
        """Raise ``DatabaseError`` unless the database answers a trivial query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise DatabaseError(f"database {self.describe()} is unreachable: {_first_line(exc)}") from None

    def describe(self) -> str:
        """The URL with its password hidden, for messages."""
        return self.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def _first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__
