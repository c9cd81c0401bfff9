"""Migrations: an empty database reaches the newest schema, which is exactly the models'."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from dynamical.api.db import Database, DatabaseError
from dynamical.api.migrate import alembic_config, head_revision, require_current, schema_status, upgrade
from dynamical.api.models import Base

TABLES = {
    "robots",
    "edge_devices",
    "peripherals",
    "skills",
    "skill_versions",
    "deployments",
    "executions",
    "safety_zones",
    "safety_events",
    "api_keys",
    "audit_log",
    "traces",
    "spans",
    "robot_credentials",
}


@pytest.fixture
def empty_db(database_url: str):
    db = Database(database_url)
    yield db
    db.dispose()


def test_upgrade_from_empty_creates_every_table_and_is_idempotent(empty_db: Database):
    assert schema_status(empty_db).current is None
    with pytest.raises(DatabaseError, match="dynamical db init"):
        require_current(empty_db)
    status = upgrade(empty_db)
    assert status.up_to_date and status.current == head_revision()
    assert set(inspect(empty_db.engine).get_table_names()) >= TABLES
    assert upgrade(empty_db).current == status.current, "a second upgrade changes nothing"
    require_current(empty_db)


# SQLite cannot reflect the expression index on zone names; the zone tests check that it works.
@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning", "ignore:.*expression-based index")
def test_migrated_schema_matches_the_models(empty_db: Database):
    upgrade(empty_db)
    with empty_db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"models.py and the migrations disagree: {diff}"


def test_downgrade_to_empty_and_back(empty_db: Database):
    upgrade(empty_db)
    config = alembic_config()
    with empty_db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert not TABLES & set(inspect(empty_db.engine).get_table_names())
    assert upgrade(empty_db).up_to_date
