"""Schema migrations (Alembic, shipped inside the package) and first-time setup of a database.

``upgrade`` brings any database to the newest schema; ``init_database`` also seeds the built-in
skill catalogue. Both are idempotent, so ``dynamical db init`` and server start can always run them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from dynamical.api.db import Database, DatabaseError, _first_line

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SchemaStatus(BaseModel):
    """Where a database's schema stands relative to this code."""

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return head


def schema_status(db: Database) -> SchemaStatus:
    try:
        with db.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise DatabaseError(f"database {db.describe()} is unreachable: {_first_line(exc)}") from None
    return SchemaStatus(current=current, head=head_revision())


def upgrade(db: Database, revision: str = "head") -> SchemaStatus:
    """Apply every migration up to ``revision``, in one transaction where the database allows it."""
    config = alembic_config()
    try:
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"migrating {db.describe()} failed: {_first_line(exc)}") from None
    return schema_status(db)


def require_current(db: Database) -> None:
    """Raise ``DatabaseError`` unless the schema is at head (a server refuses to start on an old schema)."""
    status = schema_status(db)
    if status.current is None:
        raise DatabaseError(f"database {db.describe()} has no schema yet: run `dynamical db init`")
    if not status.up_to_date:
        raise DatabaseError(
            f"database {db.describe()} is at schema {status.current or 'none'}, this version needs {status.head}: "
            "run `dynamical db upgrade`"
        )


def new_revision(message: str) -> None:
    """Autogenerate a revision from the difference between ``models.py`` and the newest migration."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/scratch.db"
        db = Database(url)
        upgrade(db)
        db.dispose()
        command.revision(alembic_config(url), message=message, autogenerate=True)
