"""Finding 10 (at rest): a data directory left readable by others (an older version, a restore, a
hand-made one) is made owner-only when the server starts, before the keyring is loaded; a new one
is created so."""

from __future__ import annotations

import stat
from pathlib import Path

from fastapi.testclient import TestClient

from dynamical.api.app import create_app
from dynamical.api.data_dir import secure_data_dir
from dynamical.api.settings import SQLITE_FILE, ApiSettings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_readable_data_directory_is_tightened_at_start(tmp_path: Path):
    data_dir = tmp_path / "data"
    settings = ApiSettings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / SQLITE_FILE}")
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
    paths = [p for p in data_dir.rglob("*") if not p.is_symlink()]
    assert any(p.parent.name == "blobs" or p.parent.parent.name == "blobs" for p in paths), "skills are stored"
    # What a umask of 022 and a careless restore leave behind; and a script of the owner's.
    data_dir.chmod(0o755)
    for path in paths:
        path.chmod(0o755 if path.is_dir() else 0o644)
    script = data_dir / "backup.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o775)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not the server's")
    outside.chmod(0o644)
    (data_dir / "link").symlink_to(outside)

    with TestClient(create_app(settings)) as client:  # the keyring loads: it was tightened first
        assert client.get("/health").json()["database"]["ok"] is True
    assert _mode(data_dir) == 0o700
    for path in paths:
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert _mode(script) == 0o700, "the owner keeps the executable bit"
    assert _mode(outside) == 0o644, "a link is not followed out of the data directory"


def test_a_new_database_file_never_exists_readable(tmp_path: Path):
    data_dir = tmp_path / "fresh"
    database = data_dir / SQLITE_FILE
    assert secure_data_dir(data_dir, f"sqlite:///{database}") == []
    assert _mode(data_dir) == 0o700 and _mode(database) == 0o600 and database.stat().st_size == 0
    # PostgreSQL: only the directory.
    other = tmp_path / "pg"
    secure_data_dir(other, "postgresql+psycopg://user@localhost/dynamical")
    assert _mode(other) == 0o700 and list(other.iterdir()) == []
