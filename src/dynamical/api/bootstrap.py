"""Preparing a data directory and database for the server: schema, keyring, built-in skills.

``init_database`` is idempotent: ``dynamical db init`` runs it, and so does every server start.
"""

from __future__ import annotations

from pydantic import BaseModel

from dynamical.api.data_dir import secure_data_dir
from dynamical.api.db import Database
from dynamical.api.migrate import upgrade
from dynamical.api.settings import ApiSettings
from dynamical.api.skill_store import SqlSkillRegistry
from dynamical.skills.blobstore import LocalBlobStore
from dynamical.skills.keyring import Keyring


class InitReport(BaseModel):
    database: str
    revision: str
    keyring: str
    builtin_skills_updated: int


def open_keyring(settings: ApiSettings) -> Keyring:
    """The server's skill keyring, created (mode 0600) on first use."""
    path = settings.keyring_path
    if path.exists():
        return Keyring.load(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return Keyring.create(path)


def open_registry(settings: ApiSettings, db: Database) -> SqlSkillRegistry:
    return SqlSkillRegistry(db, open_keyring(settings), LocalBlobStore(settings.blob_dir))


def init_database(settings: ApiSettings, db: Database) -> InitReport:
    """Migrate to the newest schema and catalogue the built-in skills."""
    from dynamical.skills.builtin.catalog import builtin_manifests

    secure_data_dir(settings.data_dir, settings.database_url)  # 0700/0600 before SQLite makes its file
    status = upgrade(db)
    registry = open_registry(settings, db)
    updated = registry.seed(builtin_manifests())
    return InitReport(
        database=db.describe(),
        revision=status.current or "none",
        keyring=str(settings.keyring_path),
        builtin_skills_updated=updated,
    )
