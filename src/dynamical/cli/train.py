"""`dynamical train` and `dynamical training runs|show`: train a LeRobot policy on a recorded
dataset in the learning environment, at idle priority, and look at the runs."""

from __future__ import annotations

import json
import math
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from dynamical.cli.common import DataDirOption, JsonOption, app, console, err_console, settings_of, user_errors

training_app = typer.Typer(help="Policy training runs (`dynamical train` starts one).", no_args_is_help=True)
app.add_typer(training_app, name="training")

EXIT_INTERRUPTED = 130


def _database(ctx: typer.Context, data_dir: Path | None) -> tuple[Any, Any]:
    """The server's database; a data directory without one gets one at the current schema (the
    server seeds the rest when it starts)."""
    from dynamical.api.data_dir import secure_data_dir
    from dynamical.api.db import Database
    from dynamical.api.migrate import require_current, upgrade
    from dynamical.api.settings import SQLITE_FILE, ApiSettings

    settings = ApiSettings.from_settings(settings_of(ctx), data_dir)
    fresh = settings.database_url.startswith("sqlite") and not (settings.data_dir / SQLITE_FILE).exists()
    if fresh:
        secure_data_dir(settings.data_dir, settings.database_url)
    db = Database(settings.database_url, create=fresh)
    if fresh:
        upgrade(db)
    else:
        require_current(db)
    return settings, db


@app.command("train")
@user_errors
def train(
    ctx: typer.Context,
    dataset: Annotated[
        Path | None,
        typer.Option(help="LeRobot dataset: a directory, or a name under <data dir>/datasets.", file_okay=False),
    ] = None,
    policy: Annotated[str, typer.Option(help="act or diffusion.")] = "act",
    steps: Annotated[
        int | None, typer.Option(min=1, help="Total optimizer steps (default 2000; resume: the run's).")
    ] = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default cpu; resume: the run's).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Run directory (default <data_dir>/training/runs/<run id>).", file_okay=False)
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --out from its last checkpoint.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Frames per optimizer step.")] = 8,
    chunk_size: Annotated[
        int | None, typer.Option(min=1, help="Action chunk (ACT) / horizon (diffusion), frames.")
    ] = None,
    n_action_steps: Annotated[int | None, typer.Option(min=1, help="Actions played per predicted chunk.")] = None,
    dim_model: Annotated[
        int | None, typer.Option(min=8, help="Transformer width (ACT) / U-Net width (diffusion).")
    ] = None,
    layers: Annotated[int | None, typer.Option(min=1, help="ACT encoder layers.")] = None,
    lr: Annotated[float | None, typer.Option(min=0.0, help="Learning rate (default: LeRobot's preset).")] = None,
    inputs: Annotated[
        str | None, typer.Option(help="Observations the policy sees: comma list of state,environment_state,images.")
    ] = None,
    save_every: Annotated[int, typer.Option(min=1, help="Checkpoint every N steps (and at the end).")] = 1000,
    log_every: Annotated[int, typer.Option(min=1, help="Loss and learning rate every N steps.")] = 10,
    seed: Annotated[int, typer.Option(min=0, help="Seed of initialisation and data order.")] = 1000,
    priority: Annotated[str, typer.Option(help="idle (SCHED_IDLE or nice 19, one thread) or normal.")] = "idle",
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train LeRobot's ACT (or diffusion) on a recorded dataset, in the learning environment.

    The run is a row of the server's database (`dynamical training runs`, GET /api/v1/training/runs)
    and a directory with LeRobot's checkpoints (`checkpoints/last`) for `dynamical skills package`.
    Ctrl+C or a killed worker leaves it interrupted: `--out RUN --resume` continues from its last
    checkpoint."""
    from pydantic import ValidationError

    from dynamical.api.training_store import save_run
    from dynamical.learning.runs import TrainConfig
    from dynamical.learning.train_launcher import TrainingJob

    if priority not in ("idle", "normal"):
        raise ValueError(f"--priority must be idle or normal, got {priority!r}")
    if device is not None and device not in ("cpu", "cuda"):
        raise ValueError(f"--device must be cpu or cuda, got {device!r}")
    settings, db = _database(ctx, data_dir)
    try:
        bar = _ProgressBar(enabled=not as_json)
        listener = _Listener(db, save_run, bar)
        kwargs: dict[str, Any] = {"priority": priority, "listener": listener, "update_interval_s": 0.5}
        if resume:
            if out is None:
                raise ValueError("--resume needs --out: the run directory to continue")
            if dataset is not None:
                err_console.print("note: --resume trains on the run's own dataset; --dataset is ignored")
            job = TrainingJob.resume(out, steps, device, **kwargs)
        else:
            if dataset is None:
                raise ValueError("--dataset is required (a LeRobot dataset directory), or --out RUN --resume")
            try:
                config = TrainConfig(
                    policy=policy,  # type: ignore[arg-type]
                    steps=steps or 2000,
                    batch_size=batch_size,
                    chunk_size=chunk_size,
                    n_action_steps=n_action_steps,
                    dim_model=dim_model,
                    layers=layers,
                    lr=lr,
                    inputs=[name.strip() for name in inputs.split(",")] if inputs else None,  # type: ignore[misc]
                    device=device or "cpu",  # type: ignore[arg-type]
                    save_every=save_every,
                    log_every=log_every,
                    seed=seed,
                )
            except ValidationError as exc:
                raise ValueError(_first_error(exc)) from None
            job = TrainingJob.create(
                _dataset_dir(dataset, settings.data_dir), config, out, _runs_dir(settings), **kwargs
            )
        save_run(db, job.record)
        previous = signal.signal(signal.SIGTERM, _interrupt)  # a service stop ends the run as Ctrl+C does
        try:
            with bar:
                record = job.run()
        except KeyboardInterrupt:
            record = job.record
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        db.dispose()
    _report(record, as_json)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _dataset_dir(dataset: Path, data_dir: Path) -> Path:
    """A directory, or the name of a dataset under <data dir>/datasets (as `dynamical datasets` takes)."""
    if not dataset.exists() and len(dataset.parts) == 1:
        return data_dir / "datasets" / dataset
    return dataset


def _runs_dir(settings: Any) -> Path:
    return settings.data_dir / "training" / "runs"


class _ProgressBar:
    def __init__(self, enabled: bool) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not enabled,
        )
        self.task: Any = None

    def update(self, record: Any) -> None:
        loss = f"{record.loss:.4g}" if record.loss is not None and math.isfinite(record.loss) else "-"
        description = f"{record.id} ({record.priority or 'starting'})"
        if self.task is None:
            self.task = self.progress.add_task(description, total=record.config.steps, loss=loss)
        self.progress.update(
            self.task, description=description, completed=record.step, total=record.config.steps, loss=loss
        )

    def __enter__(self) -> _ProgressBar:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)


class _Listener:
    """Each change of the run: into its database row, onto the bar."""

    def __init__(self, db: Any, save: Any, bar: _ProgressBar) -> None:
        self.db, self.save, self.bar = db, save, bar

    def __call__(self, record: Any) -> None:
        self.save(self.db, record)
        self.bar.update(record)


def _report(record: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(record.model_dump_json(indent=2))
    else:
        loss = f"{record.loss:.4g}" if record.loss is not None else "-"
        console.print(
            f"run {record.id}: {record.status} at step {record.step} of {record.config.steps} "
            f"(loss {loss}, {record.seconds:.0f} s training, {record.priority}); {record.out_dir}",
            highlight=False,
        )
    if record.status == "interrupted":
        then = (
            f"continue with: dynamical train --out {record.out_dir} --resume"
            if record.checkpoint_step is not None
            else "no checkpoint was saved yet: start it again"
        )
        err_console.print(f"{record.error}; {then}", highlight=False)
        raise typer.Exit(EXIT_INTERRUPTED)
    if record.status == "failed":
        err_console.print(f"[red]error:[/red] training failed: {record.error}", highlight=False)
        raise typer.Exit(1)


@training_app.command("runs")
@user_errors
def training_runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Newest runs to show.")] = 20,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Training runs, newest first."""
    from dynamical.api.training_store import list_runs

    _, db = _database(ctx, data_dir)
    try:
        runs = list_runs(db, limit)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps([run.model_dump(mode="json") for run in runs], indent=2))
        return
    table = Table(title="training runs")
    for column in ("id", "status", "policy", "step", "loss", "training time", "dataset"):
        table.add_column(column, justify="right" if column in ("step", "loss") else "left", no_wrap=column == "id")
    for run in runs:
        table.add_row(
            run.id,
            run.status,
            run.policy,
            f"{run.step}/{run.total_steps}",
            f"{run.loss:.4g}" if run.loss is not None else "-",
            f"{run.seconds / 60:.1f} min",
            run.dataset,
        )
    console.print(table)


@training_app.command("show")
@user_errors
def training_show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="A run id (`dynamical training runs`).")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run: status, settings, checkpoint and its loss curve."""
    from dynamical.api.training_store import get_run

    _, db = _database(ctx, data_dir)
    try:
        run = get_run(db, run_id)
    finally:
        db.dispose()
    if run is None:
        raise ValueError(f"no training run {run_id!r} (`dynamical training runs` lists them)")
    if as_json:
        typer.echo(run.model_dump_json(indent=2))
        return
    table = Table(title=f"training run {run.id}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    rows: list[tuple[str, str]] = [
        ("status", run.status + (f" ({run.error})" if run.error else "")),
        ("policy", run.policy),
        ("dataset", run.dataset),
        ("run directory", run.out_dir),
        ("step", f"{run.step} of {run.total_steps}"),
        ("last checkpoint", f"step {run.checkpoint_step}" if run.checkpoint_step is not None else "none"),
        ("parameters", f"{run.parameters:,}" if run.parameters else "-"),
        ("priority", run.priority or "-"),
        ("training time", f"{run.seconds:.0f} s over {run.attempts} attempt(s)"),
        ("settings", json.dumps(run.config.model_dump(exclude_none=True))),
    ]
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    if run.loss_curve:
        console.print(_curve_table(run.loss_curve))


def _curve_table(curve: list[Any], points: int = 10) -> Table:
    """The loss at about ``points`` evenly spaced steps (the whole curve is in --json)."""
    stride = max(1, math.ceil(len(curve) / points))
    chosen = curve[::stride]
    if chosen[-1] is not curve[-1]:
        chosen.append(curve[-1])
    table = Table(title="loss")
    table.add_column("step", justify="right")
    table.add_column("loss", justify="right")
    for point in chosen:
        table.add_row(str(point.step), f"{point.loss:.5g}")
    return table


def _first_error(exc: Any) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"--{where.replace('_', '-')}: {error['msg']}"


def print_loop_training(result: Any, as_json: bool) -> None:
    """`bench loop --train`: each tier's figures without and with the training job beside it."""
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    training = result.training
    table = Table(
        title=f"bench loop, {result.seconds:g} s each, {result.hogs} CPU hogs; training beside: {training.policy} "
        f"({training.parameters or 0:,} parameters) at {training.priority}"
    )
    table.add_column("metric")
    for tier in ("safety", "control"):
        for label in ("alone", "+ training"):
            table.add_column(f"{tier} {label}", justify="right")
    rows = [
        ("late ticks (> 1.1 periods)", lambda s: f"{s.late_ticks} of {s.ticks} ({100 * s.late_fraction:.3f} %)"),
        ("missed deadlines", lambda s: str(s.missed)),
        ("period jitter p99, µs", lambda s: f"{s.jitter_us['p99']:.1f}"),
        ("period jitter max, µs", lambda s: f"{s.jitter_us['max']:.1f}"),
        ("protective stops", lambda s: str(s.protective_stops)),
    ]
    runs = (result.without, result.with_training)
    for label, cell in rows:
        table.add_row(label, *(cell(getattr(run, tier)) for tier in ("safety", "control") for run in runs))
    console.print(table)
    for name, run in (("alone", result.without), ("+ training", result.with_training)):
        events = ", ".join(f"{rule} {count}" for rule, count in run.watchdog_events.items())
        console.print(
            f"{name}: watchdog events {events}; e-stop p50 {run.estop_latency_ms['p50']:.2f} ms, "
            f"max {run.estop_latency_ms['max']:.2f} ms",
            highlight=False,
        )
    console.print(f"training beside the loops: {training.steps} steps, {training.step_s:.2f} s a step", highlight=False)
