"""Alembic environment: run by ``dynamical.api.migrate`` with an open connection, never by a URL in a file.

To write a new revision, change ``models.py`` and run ``dynamical.api.migrate.new_revision``
(autogenerate against a scratch SQLite database at head), then read and edit what it wrote.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from dynamical.api.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `dynamical db upgrade`")
run_migrations_online()
