"""The data directory at rest: only its owner may read it.

It holds the database (API key hashes, the audit log), the skill keyring (signing and encryption
keys) and the agent's key. So the directory is 0700 and every file in it 0600 (an executable bit
of the owner's is kept): created so, and tightened at every start for a directory made by an
older version or by hand. The SQLite file is created empty with 0600 before SQLite opens it, so
that it and its ``-wal``/``-shm`` files (SQLite gives them the database's mode) never exist
readable by others, whatever the umask.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
DIR_MODE = 0o700
FILE_MODE = 0o600


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def secure_data_dir(data_dir: Path, database_url: str) -> list[Path]:
    """Make ``data_dir`` (0700) and the SQLite file (0600) if missing, tighten what is there;
    the paths whose mode was changed."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    changed = _tighten_tree(data_dir)
    database = sqlite_file(database_url)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        for path in (database, *(database.with_name(database.name + s) for s in ("-wal", "-shm", "-journal"))):
            if _tighten(path, FILE_MODE):
                changed.append(path)
    if changed:
        shown = ", ".join(str(p) for p in changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        log.warning(
            "made owner-only what others could read: %s. If the keyring was among them, its keys may have been "
            "copied: consider rotating them",
            shown,
        )
    return changed


def _tighten_tree(root: Path) -> list[Path]:
    changed = [root] if _tighten(root, DIR_MODE) else []
    for directory, subdirs, files in os.walk(root):  # does not follow links
        for name in subdirs:
            path = Path(directory) / name
            if _tighten(path, DIR_MODE):
                changed.append(path)
        for name in files:
            path = Path(directory) / name
            if _tighten(path, FILE_MODE):
                changed.append(path)
    return changed


def _tighten(path: Path, wanted: int) -> bool:
    """Clear group and other bits of ``path`` (never following a link); True if its mode changed."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
        return False  # a link, or someone else's file: not ours to change
    mode = stat.S_IMODE(info.st_mode)
    target = (mode & 0o700) | (wanted & 0o700)
    if target == mode:
        return False
    path.chmod(target)
    return True
