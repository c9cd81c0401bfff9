"""`dynamical db`, `keys`, `skills` and `robots`: the platform server's database and registry, and
the robots' credentials on the agent link."""

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
robots_app = typer.Typer(
    help="Robots the platform server knows (no subcommand: the list), and their agent-link credentials.",
    invoke_without_command=True,
)
app.add_typer(skills_app, name="skills")
app.add_typer(robots_app, name="robots")


def _database(ctx: typer.Context, data_dir: Path | None, create: bool = False):
    from dynamical.api.db import Database
    from dynamical.api.settings import ApiSettings
    from dynamical.api.write_hooks import attach

    settings = ApiSettings.from_settings(settings_of(ctx), data_dir)
    database = Database(settings.database_url, create=create)
    if settings.data_dir.is_dir():  # keys made or revoked here join the server's audit ledger
        attach(settings.database_url, settings.data_dir)
    return settings, database


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


@skills_app.command("keys")
@user_errors
def skills_keys(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Where to write the robot's skill keys (0600).", dir_okay=False)],
    data_dir: DataDirOption = None,
) -> None:
    """Export the keys a robot opens deployed skills with (verify + decrypt, never a signing key),
    for `dynamical agent --skill-keys FILE` on that robot; export again after the keyring rotates."""
    from dynamical.agent.skill_keys import SkillKeys
    from dynamical.api.bootstrap import open_keyring
    from dynamical.api.settings import ApiSettings

    keys = SkillKeys.from_keyring(open_keyring(ApiSettings.from_settings(settings_of(ctx), data_dir)))
    path = keys.save(out)
    verify, decrypt = keys.key_ids
    console.print(f"wrote {path}: {len(verify)} verify and {len(decrypt)} decryption keys", highlight=False)


@skills_app.command("package")
@user_errors
def skills_package(
    ctx: typer.Context,
    run: Annotated[Path, typer.Argument(help="Training run directory (dynamical train --out RUN).")],
    skill_id: Annotated[str, typer.Option("--id", help="Skill id, e.g. learned_pick.")],
    version: Annotated[str, typer.Option(help="Semantic version, e.g. 1.0.0.")],
    description: Annotated[
        str | None, typer.Option(help="What the skill does, in words the router matches (default: from the task).")
    ] = None,
    pre: Annotated[
        list[str] | None,
        typer.Option(
            "--pre", help="Precondition, e.g. 'hand_empty(side=right)' (repeatable; default: the recorded skill's)."
        ),
    ] = None,
    post: Annotated[
        list[str] | None,
        typer.Option("--post", help="Postcondition, e.g. 'holding(obj=red_cube, side=right)' (repeatable)."),
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=0.1, help="Nominal duration, s (default: the demonstrations' mean).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Artifact path (default: RUN/<id>-<version>.dskill).")] = None,
    samples: Annotated[int, typer.Option(min=1, help="Dataset frames the ONNX export is checked on.")] = 32,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export a trained policy to ONNX (checked against PyTorch) and write a signed, encrypted
    skill artifact of kind policy; upload it with POST /api/v1/skills."""
    from dynamical.api.bootstrap import open_keyring
    from dynamical.api.settings import ApiSettings
    from dynamical.launch import load_description
    from dynamical.learning.env import LearnEnvError
    from dynamical.learning.policy_package import package_policy, parse_predicate

    settings = settings_of(ctx)
    keyring = open_keyring(ApiSettings.from_settings(settings, data_dir))
    try:
        result = package_policy(
            run,
            skill_id=skill_id,
            version=version,
            keyring=keyring,
            description=load_description(settings),
            out=out,
            text=description,
            pre=None if pre is None else [parse_predicate(p) for p in pre],
            post=None if post is None else [parse_predicate(p) for p in post],
            duration_s=duration,
            samples=samples,
        )
    except LearnEnvError as exc:
        raise ValueError(str(exc)) from None
    from dynamical.api.write_hooks import record_operation  # signed with the platform's keyring: audited

    audit_dir = ApiSettings.from_settings(settings, data_dir).data_dir
    record_operation(audit_dir, "skill.signed", "cli", str(result.manifest.ref), {"artifact": str(result.artifact)})
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    manifest = result.manifest
    table = Table(title=f"packaged {manifest.ref}")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    table.add_row("artifact", result.artifact)
    table.add_row("max |ONNX − PyTorch|", f"{result.max_abs_error:.3g} over {result.samples} dataset frames")
    table.add_row("ONNX chunk (p50, 1 thread)", f"{result.onnx_chunk_ms_p50} ms")
    table.add_row("groups", ", ".join(manifest.action_space.groups))
    table.add_row("preconditions", ", ".join(map(str, manifest.preconditions)) or "none")
    table.add_row("postconditions", ", ".join(map(str, manifest.postconditions)) or "none")
    table.add_row("nominal duration", f"{manifest.nominal_duration_s:.2f} s")
    table.add_row("description", manifest.description)
    console.print(table)
    if result.dropped_conditions:
        err_console.print(
            "recorded conditions left out (they name parameters the recording did not fix): "
            + ", ".join(result.dropped_conditions),
            highlight=False,
        )


@robots_app.callback()
@user_errors
def robots_command(
    ctx: typer.Context, server: ServerOption = DEFAULT_SERVER, api_key: ApiKeyOption = None, as_json: JsonOption = False
) -> None:
    """Robots the platform server knows, whether each one's agent is connected, and its safety
    mode (with the cause of a stop in force: rule, when, what the robot was doing)."""
    if ctx.invoked_subcommand is not None:
        return
    from dynamical.api.client import ApiClient

    with ApiClient(server, api_key) as client:
        robots = client.get("/api/v1/robots")
        safety = _live_safety(client)
    if as_json:
        typer.echo(json.dumps(robots, indent=2))
        return
    table = Table(title=f"robots at {server}")
    for column in ("id", "name", "profile", "kind", "connected", "last seen", "safety"):
        table.add_column(column)
    for robot in robots:
        connected = "[green]yes[/green]" if robot["connected"] else "no"
        table.add_row(
            robot["id"],
            robot["name"],
            robot["profile"],
            robot["kind"],
            connected,
            robot["last_seen_at"] or "never",
            _safety_cell(safety.get(robot["id"])),
        )
    console.print(table)


def _live_safety(client) -> dict[str, dict | None]:  # type: ignore[no-untyped-def]
    """Each connected robot's safety state, by id. A server that runs no agent link (an API-only
    deployment) has no hazards route: its robots' safety is then unknown, not an error."""
    from dynamical.api.client import ApiClientError

    try:
        return {h["robot_id"]: h["safety"] for h in client.get("/api/safety/hazards")}
    except ApiClientError as exc:
        if exc.status == 404:
            return {}
        raise


def _safety_cell(safety: dict | None) -> str:
    """The safety mode, and for a stop in force its cause (``StopCause``) in one line."""
    if not safety:
        return "—"
    cause = safety.get("stop_cause")
    if not cause:
        return str(safety["mode"])
    doing = f" while {cause['activity']}" if cause.get("activity") else ""
    return f"{safety['mode']}: {cause['rule']} at t={cause['t']:.3f} s{doing}"


CredentialOption = Annotated[
    Path | None,
    typer.Option(
        "--credential",
        help="Where to write the private key (default: <data_dir>/credentials/<robot_id>.key).",
        dir_okay=False,
        show_default=False,
    ),
]


@robots_app.command("add")
@user_errors
def robots_add(
    ctx: typer.Context,
    robot_id: Annotated[str, typer.Argument(help="The robot's id on the platform, e.g. thor_002.")],
    credential: CredentialOption = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the robot's credential (its link closes).")
    ] = False,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Issue a robot's agent-link credential: an Ed25519 key pair, the private key to a file (0600, in
    a 0700 directory) for the robot's agent, the public key to the database. Works while the server runs."""
    from dynamical.agent.credential import default_path
    from dynamical.api.migrate import require_current
    from dynamical.api.robot_credentials import issue

    settings, db = _database(ctx, data_dir)
    try:
        require_current(db)
        issued = issue(db, robot_id, credential or default_path(settings.data_dir, robot_id), replace=replace)
    finally:
        db.dispose()
    if as_json:
        typer.echo(issued.model_dump_json(indent=2))
        return
    console.print(f"robot {robot_id}: credential {issued.fingerprint} written to {issued.path}", highlight=False)
    err_console.print(
        f"give it to the robot's agent: dynamical agent --robot-id {robot_id} --credential {issued.path}",
        highlight=False,
    )


@robots_app.command("revoke")
@user_errors
def robots_revoke(
    ctx: typer.Context,
    robot_id: Annotated[str, typer.Argument(help="The robot whose credential to revoke.")],
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a robot's agent-link credential; a server holding its link closes it within a second."""
    from dynamical.api.migrate import require_current
    from dynamical.api.robot_credentials import revoke

    _, db = _database(ctx, data_dir)
    try:
        require_current(db)
        revoked = revoke(db, robot_id)
    finally:
        db.dispose()
    if revoked is None:
        raise ValueError(f"robot {robot_id!r} has no active credential")
    console.print(f"revoked the credential {revoked.fingerprint} of robot {robot_id}", highlight=False)


@robots_app.command("credentials")
@user_errors
def robots_credentials(ctx: typer.Context, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Robot credentials by fingerprint (the server keeps public keys only)."""
    from dynamical.api.migrate import require_current
    from dynamical.api.robot_credentials import listing

    _, db = _database(ctx, data_dir)
    try:
        require_current(db)
        rows = listing(db)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    table = Table(title="robot credentials")
    for column in ("robot", "fingerprint", "created", "revoked"):
        table.add_column(column)
    for row in rows:
        revoked = f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else ""
        table.add_row(row.robot_id, row.fingerprint, f"{row.created_at:%Y-%m-%d %H:%M}", revoked)
    console.print(table)
