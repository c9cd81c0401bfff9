"""`dynamical audit verify` and `dynamical export`: offline, on a data dir (no server needed);
`dynamical bench rca` and `dynamical bench observability`: the figures of issue 17."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dynamical.cli.common import (
    DataDirOption,
    JsonOption,
    app,
    bench_app,
    console,
    err_console,
    print_result,
    settings_of,
    user_errors,
)

audit_app = typer.Typer(help="The tamper-evident audit ledger.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _data_dir(ctx: typer.Context, data_dir: Path | None) -> Path:
    from dynamical.api.settings import ApiSettings

    return ApiSettings.from_settings(settings_of(ctx), data_dir).data_dir


@audit_app.command("verify")
@user_errors
def audit_verify(
    ctx: typer.Context,
    data_dir: DataDirOption = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="The ledger's public key kept elsewhere (PEM); default: the one in the data dir.",
            dir_okay=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check the audit ledger's hash chain and signatures offline; names the first bad entry.
    Exit 0 when intact, 1 when not, 2 when there is no ledger."""
    from dynamical.observability.verify import verify_data_dir

    try:
        report = verify_data_dir(_data_dir(ctx, data_dir), public_key)
    except FileNotFoundError as exc:
        raise ValueError(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
    else:
        table = Table(title="audit verify")
        table.add_column("check")
        table.add_column("result", justify="right")
        table.add_row("ledger", report.path)
        table.add_row("entries", f"{report.entries:,}")
        table.add_row("signatures verified", f"{report.signatures:,}")
        table.add_row("entries after the last signature", str(report.unsigned_tail))
        table.add_row("signing key", report.key_id)
        table.add_row("entries/s", f"{report.entries_per_s:,.0f}")
        console.print(table)
        if report.first_bad is None:
            console.print("[green]intact[/green]: every entry chains and every signature verifies")
    if report.first_bad is not None:
        bad = report.first_bad
        seq = "?" if bad.seq is None else bad.seq
        err_console.print(f"[red]tampered[/red]: line {bad.line} (seq {seq}): {bad.reason}", highlight=False)
        raise typer.Exit(1)


@app.command("export")
@user_errors
def export_command(
    ctx: typer.Context,
    execution_id: Annotated[str, typer.Argument(help="The execution's request id.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.", dir_okay=False)],
    format: Annotated[str, typer.Option("--format", help="rrd (Rerun) or mcap (Foxglove).")] = "rrd",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write an execution's joint states, object poses, safety events, plan steps and phases on one
    timeline, for Rerun (.rrd) or Foxglove (.mcap)."""
    from dynamical.api.db import Database
    from dynamical.api.errors import NotFoundError
    from dynamical.api.execution_evidence import gather_export
    from dynamical.api.settings import ApiSettings
    from dynamical.observability.export import FORMATS, export_execution

    if format not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    settings = ApiSettings.from_settings(settings_of(ctx), data_dir)
    db = Database(settings.database_url, create=False)
    try:
        data = gather_export(db, settings.data_dir, execution_id)
    except NotFoundError as exc:
        raise ValueError(str(exc)) from None
    finally:
        db.dispose()
    report = export_execution(data, format, out)  # type: ignore[arg-type]
    print_result(report, as_json, f"export {format}")


@bench_app.command("rca")
@user_errors
def bench_rca_command(
    ctx: typer.Context,
    episodes: Annotated[int, typer.Option(min=1, help="Episodes, spread over the injected causes.")] = 200,
    seed: Annotated[int, typer.Option(help="The first seed.")] = 0,
    injection: Annotated[
        list[str] | None, typer.Option(help="Only this injection (repeatable); default: every one.")
    ] = None,
    log: Annotated[
        Path | None, typer.Option(help="Append each episode's outcome to this file as a JSON line, as it ends.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Root-cause top-1 agreement on lock-step episodes with a known injected cause (grasp offset,
    keep-out zone, moved object, broken precondition, unreachable object, starved executive, e-stop,
    separation stop, tight timeout, operator cancel), with the confusion table."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from dynamical.bench.rca import EpisodeOutcome, bench_rca
    from dynamical.bench.rca_injections import INJECTIONS
    from dynamical.launch import load_description, load_world

    unknown = [n for n in injection or [] if n not in INJECTIONS]
    if unknown:
        raise ValueError(f"unknown injection {unknown[0]!r}; one of {', '.join(INJECTIONS)}")
    settings = settings_of(ctx)
    world = load_world(settings)
    if world is None:
        raise ValueError("bench rca needs a world with objects; the configured sim.world is 'none'")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with (
        Progress(*columns, console=err_console, disable=as_json, transient=True) as progress,
        open(log, "a", encoding="utf-8") if log is not None else nullcontext() as log_file,
    ):
        bar = progress.add_task("bench rca", total=episodes)

        def ended(outcome: EpisodeOutcome) -> None:
            progress.update(bar, advance=1)
            if log_file is not None:
                log_file.write(outcome.model_dump_json() + "\n")
                log_file.flush()

        result = bench_rca(load_description(settings), world, episodes, seed, ended, injection or None)
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    title = (
        f"bench rca: top-1 agreement {result.agreement:.1%} over {result.failed} failed episodes "
        f"({result.episodes} run, {result.wall_s:.0f} s)"
    )
    table = Table(title=title)
    for column in ("injected", "expected cause", "episodes", "failed", "top-1 agrees", "agreement", "confused with"):
        table.add_column(
            column, justify="left" if column in ("injected", "expected cause", "confused with") else "right"
        )
    for row in result.by_cause:
        confused = ", ".join(f"{k} {v}" for k, v in row.confused_with.items()) or "—"
        table.add_row(
            row.cause,
            row.expected,
            str(row.episodes),
            str(row.failed),
            str(row.agreed),
            f"{row.agreement:.1%}",
            confused,
        )
    console.print(table)
    tops = sorted({top for row in result.confusion.values() for top in row})
    matrix = Table(title="confusion: failed episodes by injection (rows) and the analyzer's top cause (columns)")
    matrix.add_column("injected")
    for top in tops:
        matrix.add_column(top, justify="right")
    for injected, row in result.confusion.items():
        matrix.add_row(injected, *(str(row.get(top, 0)) if row.get(top) else "·" for top in tops))
    console.print(matrix)


@bench_app.command("observability")
@user_errors
def bench_observability_command(
    entries: Annotated[int, typer.Option(min=100, help="Audit entries to append and verify.")] = 20_000,
    robots: Annotated[int, typer.Option(min=1, max=100, help="Robots the /metrics scrape reports.")] = 10,
    seconds: Annotated[float, typer.Option(min=1.0, max=600.0, help="Robot seconds of the exported execution.")] = 20.0,
    as_json: JsonOption = False,
) -> None:
    """Audit append p99, verification entries/s, /metrics scrape time with N robots, export time of
    an execution of N seconds (rrd and mcap)."""
    from dynamical.bench.observability import bench_observability

    print_result(bench_observability(entries, robots, seconds), as_json, "bench observability")
