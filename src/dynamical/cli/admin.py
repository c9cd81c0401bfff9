"""`dynamical db`, `keys`, `skills` and `robots`: the platform server's database and registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dynamical.cli.common import (
    DEFAULT_SERVER,
    ApiKeyOption,
    DataDirOption,
    JsonOption,
    ServerOption,
    app,
    console,
    err_console,
    print_result,
    settings_of,
    user_errors,
)

db_app = typer.Typer(help="The platform server's database (SQLite in the data directory, or PostgreSQL).")
keys_app = typer.Typer(help="API keys of the platform server.", no_args_is_help=True)
skills_app = typer.Typer(help="Skills in the platform server's registry.", no_args_is_help=True)
app.add_typer(db_app, name="db", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(skills_app, name="skills")


def _database(ctx: typer.Context, data_dir: Path | None, create: bool = False):
    from dynamical.api.db import Database
    from dynamical.api.settings import ApiSettings

    settings = ApiSettings.from_settings(settings_of(ctx), data_dir)
    return settings, Database(settings.database_url, create=create)


@db_app.command("init")
@user_errors
def db_init(ctx: typer.Context, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Create or migrate the database and catalogue the built-in skills (safe to run again)."""
    from dynamical.api.bootstrap import init_database

    settings, db = _database(ctx, data_dir, create=True)
    try:
        report = init_database(settings, db)
    finally:
        db.dispose()
    print_result(report, as_json, "db init")


@db_app.command("upgrade")
@user_errors
def db_upgrade(ctx: typer.Context, data_dir: DataDirOption = None) -> None:
    """Apply pending schema migrations."""
    from dynamical.api.migrate import schema_status, upgrade

    _, db = _database(ctx, data_dir, create=True)
    try:
        before = schema_status(db).current
        after = upgrade(db).current
    finally:
        db.dispose()
    change = "already current" if before == after else f"was {before or 'empty'}"
    console.print(f"database {db.describe()} at schema {after} ({change})", highlight=False)


@keys_app.command("create")
@user_errors
def keys_create(
    ctx: typer.Context,
    scope: Annotated[str, typer.Option(help="read, operate or admin (each includes the ones before).")],
    name: Annotated[str, typer.Option(help="A label, e.g. who or what uses the key.")] = "",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make an API key and print it; it is shown only this once (the database keeps its hash)."""
    from dynamical.api.auth import Scope, create_api_key
    from dynamical.api.migrate import require_current

    if scope not in {s.value for s in Scope}:
        raise ValueError(f"--scope must be read, operate or admin, got {scope!r}")
    _, db = _database(ctx, data_dir)
    try:
        require_current(db)
        with db.session() as session:
            key = create_api_key(session, scope, name)
    finally:
        db.dispose()
    if as_json:
        typer.echo(key.model_dump_json(indent=2))
        return
    err_console.print(f"new {key.scope.value} key {key.prefix} ({key.name}); store it now, it is not shown again:")
    typer.echo(key.key)


@keys_app.command("list")
@user_errors
def keys_list(ctx: typer.Context, data_dir: DataDirOption = None) -> None:
    """API keys by prefix (their secrets are not stored)."""
    from sqlalchemy import select

    from dynamical.api.migrate import require_current
    from dynamical.api.models import ApiKey

    _, db = _database(ctx, data_dir)
    try:
        require_current(db)
        with db.session() as session:
            rows = list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
    finally:
        db.dispose()
    table = Table(title="API keys")
    for column in ("prefix", "scope", "name", "created", "revoked"):
        table.add_column(column)
    for row in rows:
        revoked = f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else ""
        table.add_row(row.prefix, row.scope, row.name, f"{row.created_at:%Y-%m-%d %H:%M}", revoked)
    console.print(table)


@keys_app.command("revoke")
@user_errors
def keys_revoke(
    ctx: typer.Context,
    prefix: Annotated[str, typer.Argument(help="The key's prefix (the 10 hex digits after dyn_).")],
    data_dir: DataDirOption = None,
) -> None:
    """Revoke an API key at once, even while the server runs."""
    from dynamical.api.auth import revoke_api_key
    from dynamical.api.migrate import require_current

    _, db = _database(ctx, data_dir)
    try:
        require_current(db)
        with db.session() as session:
            revoked = revoke_api_key(session, prefix)
    finally:
        db.dispose()
    if not revoked:
        raise ValueError(f"no active API key with prefix {prefix!r}")
    console.print(f"revoked key {prefix}")


@skills_app.command("list")
@user_errors
def skills_list(
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = None,
    include_deprecated: Annotated[bool, typer.Option(help="Also skills with every version deprecated.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Skills in the server's registry, with their newest version."""
    from dynamical.api.client import ApiClient

    with ApiClient(server, api_key) as client:
        skills = client.get("/api/v1/skills", include_deprecated=include_deprecated)
    if as_json:
        typer.echo(json.dumps(skills, indent=2))
        return
    table = Table(title=f"skills at {server}")
    for column in ("id", "latest", "kind", "embodiment", "versions", "description"):
        table.add_column(column, overflow="fold")
    for skill in skills:
        latest = skill["latest_version"] or "(deprecated)"
        versions = ", ".join(skill["versions"])
        table.add_row(skill["id"], latest, skill["kind"], skill["embodiment"], versions, skill["description"])
    console.print(table)


@app.command("robots")
@user_errors
def robots_command(
    server: ServerOption = DEFAULT_SERVER, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """Robots the platform server knows, and whether each one's agent is connected."""
    from dynamical.api.client import ApiClient

    with ApiClient(server, api_key) as client:
        robots = client.get("/api/v1/robots")
    if as_json:
        typer.echo(json.dumps(robots, indent=2))
        return
    table = Table(title=f"robots at {server}")
    for column in ("id", "name", "profile", "kind", "connected", "last seen"):
        table.add_column(column)
    for robot in robots:
        connected = "[green]yes[/green]" if robot["connected"] else "no"
        table.add_row(
            robot["id"], robot["name"], robot["profile"], robot["kind"], connected, robot["last_seen_at"] or "never"
        )
    console.print(table)
