"""`dynamical record` and `dynamical datasets list|info|show`: record a built-in expert's
demonstrations as a LeRobotDataset v3, and look at recorded datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dynamical.cli.common import (
    DataDirOption,
    JsonOption,
    app,
    console,
    err_console,
    key_value,
    settings_of,
    user_errors,
)

datasets_app = typer.Typer(help="Recorded LeRobot datasets (`dynamical record` makes them).", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")

EXIT_INTERRUPTED = 130
DATASETS_DIR = "datasets"
"""Under the data directory: where `dynamical record` puts datasets by default and the API lists them."""


def datasets_root(ctx: typer.Context, data_dir: Path | None) -> Path:
    base = data_dir if data_dir is not None else settings_of(ctx).data_dir
    return base.expanduser() / DATASETS_DIR


@app.command("record")
@user_errors
def record_command(
    ctx: typer.Context,
    skill: Annotated[str, typer.Option("--skill", help="Built-in skill the expert runs, e.g. pick_and_place.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="New dataset directory (default: <data dir>/datasets/<skill>-<seed>).", file_okay=False
        ),
    ] = None,
    episodes: Annotated[int, typer.Option(min=1, max=100_000, help="Successful episodes to keep.")] = 10,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the first episode's layout; attempt k uses seed + k.")] = 0,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Skill parameter KEY=VALUE (repeatable).")
    ] = None,
    randomize: Annotated[
        list[str] | None,
        typer.Option(
            "--randomize",
            help="Domain randomization, repeatable: friction, mass, lighting, camera (README: ranges).",
        ),
    ] = None,
    fps: Annotated[int, typer.Option(min=1, max=200, help="Frames a second of the dataset.")] = 30,
    width: Annotated[int, typer.Option(min=16, max=1280, help="Camera image width, px.")] = 128,
    height: Annotated[int, typer.Option(min=16, max=960, help="Camera image height, px.")] = 96,
    no_images: Annotated[bool, typer.Option("--no-images", help="Record no camera video (state only).")] = False,
    keep_failures: Annotated[
        bool, typer.Option("--keep-failures", help="Keep failed episodes (marked so in meta/dynamical.json).")
    ] = False,
    max_attempts: Annotated[
        int | None, typer.Option(min=1, help="Episodes simulated at most (default 2 × episodes + 10).")
    ] = None,
    task: Annotated[str | None, typer.Option(help="Task text of every frame (default: from skill and params).")] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a built-in expert's episodes in the lock-step simulated world as a LeRobotDataset v3.

    Each attempt is a new object layout (seed, seed + 1, …); the skills an episode needs first run
    in it too (lift records the grasp and the lift). Frames: observation.state, .environment_state,
    the head and front cameras, the action the executive sent. LeRobot's own writer runs in the
    learning environment (.venv-learn) and encodes while the next episode is simulated."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from dynamical.learning.env import LearnEnvError, LearnWorkerError
    from dynamical.learning.recorder import EpisodeRecord, RecordConfig, RecordError, record
    from dynamical.robot.randomization import DomainRandomization
    from dynamical.skills.errors import SkillsError

    settings = settings_of(ctx)
    params = dict(key_value(p) for p in param or [])
    target = out if out is not None else datasets_root(ctx, data_dir) / f"{skill}-{seed}"
    config = RecordConfig(
        skill=skill,
        params=params,
        episodes=episodes,
        seed=seed,
        out=target,
        fps=fps,
        images=not no_images,
        width=width,
        height=height,
        randomization=DomainRandomization.of(randomize or []),
        keep_failures=keep_failures,
        max_attempts=max_attempts,
        task=task,
        robot=settings.robot,
        world=settings.sim.world,
    )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, disable=as_json, transient=True) as progress:
        simulated = progress.add_task(f"record {skill}: simulated", total=config.attempts_allowed)
        written = progress.add_task("written to the dataset", total=episodes)
        counts = {"ok": 0, "failed": 0}

        def on_episode(result: EpisodeRecord) -> None:
            counts["ok" if result.success else "failed"] += 1
            progress.update(
                simulated,
                advance=1,
                description=f"record {skill}: {counts['ok']} ok, {counts['failed']} failed",
            )

        try:
            summary = record(config, on_episode=on_episode, on_saved=lambda _: progress.advance(written))
        except KeyboardInterrupt:
            err_console.print(f"interrupted: the episodes written so far are in {target}", highlight=False)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except (LearnEnvError, LearnWorkerError, RecordError, SkillsError) as exc:
            raise ValueError(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(summary.model_dump(mode="json", exclude={"records"}), indent=2))
        return
    table = Table(title=f"record {skill} → {summary.dataset}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("task", summary.task)
    table.add_row("episodes kept", f"{summary.episodes} of {summary.attempts} ({summary.successes} succeeded)")
    table.add_row("frames", f"{summary.frames} at {summary.fps} fps")
    cameras = ", ".join(summary.cameras) or "none"
    size = "x".join(map(str, summary.image_size))
    table.add_row("cameras", f"{cameras} ({size})" if summary.cameras else cameras)
    table.add_row("randomization", ", ".join(summary.randomization) or "off")
    table.add_row("episodes a minute", f"{summary.episodes_per_min:.2f}")
    table.add_row("CPU s an episode (sim + render)", f"{summary.cpu_s_per_episode:.1f}")
    table.add_row("simulated s an episode", f"{summary.sim_s_per_episode:.1f}")
    table.add_row("wall time", f"{summary.wall_s:.0f} s")
    console.print(table)


def _locate(ctx: typer.Context, dataset: str, data_dir: Path | None) -> Path:
    from dynamical.learning.datasets import locate

    return locate(datasets_root(ctx, data_dir), dataset)


@datasets_app.command("list")
@user_errors
def list_command(ctx: typer.Context, data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """The datasets under <data dir>/datasets."""
    from dynamical.learning.datasets import list_datasets

    root = datasets_root(ctx, data_dir)
    found = list_datasets(root)
    if as_json:
        typer.echo(json.dumps([d.model_dump(mode="json") for d in found], indent=2))
        return
    table = Table(title=f"datasets in {root}")
    for column in ("name", "skill", "episodes", "ok", "frames", "fps", "cameras", "size"):
        table.add_column(column, justify="right" if column in ("episodes", "ok", "frames", "fps", "size") else "left")
    for d in found:
        table.add_row(
            d.name,
            d.skill or "-",
            str(d.episodes),
            "-" if d.successes is None else str(d.successes),
            str(d.frames),
            str(d.fps),
            ", ".join(d.cameras) or "-",
            f"{d.size_bytes / 1e6:.1f} MB",
        )
    console.print(table)


@datasets_app.command("info")
@user_errors
def info_command(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="Dataset name (under <data dir>/datasets) or directory.")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """A dataset's features, episodes, tasks and recording settings."""
    from dynamical.learning.datasets import INDEX_FEATURES, info

    result = info(_locate(ctx, dataset, data_dir))
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    table = Table(title=f"dataset {result.name} ({result.codebase_version})")
    table.add_column("field")
    table.add_column("value")
    table.add_row("robot", result.robot or "-")
    table.add_row("skill", f"{result.skill or '-'} {result.params or ''}")
    table.add_row("tasks", "; ".join(result.tasks))
    ok = "" if result.successes is None else f" ({result.successes} succeeded)"
    table.add_row("episodes", f"{result.episodes}{ok}")
    table.add_row("frames", f"{result.frames} at {result.fps} fps ({result.duration_s:.1f} s)")
    randomized = [k for k, v in result.randomization.items() if v]
    table.add_row("randomization", ", ".join(randomized) or "off")
    for feature in result.features:
        if feature.name not in INDEX_FEATURES:  # LeRobot's bookkeeping, in every dataset
            table.add_row(feature.name, f"{feature.dtype} {tuple(feature.shape)}")
    console.print(table)


@datasets_app.command("show")
@user_errors
def show_command(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="Dataset name (under <data dir>/datasets) or directory.")],
    episode: Annotated[int, typer.Argument(min=0, help="Episode index.")],
    video: Annotated[
        Path | None,
        typer.Option("--video", help="Write the episode's cameras side by side to this MP4.", dir_okay=False),
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """One episode: its length, outcome and each joint's commanded range; --video cuts its cameras."""
    import numpy as np

    from dynamical.learning import protocol
    from dynamical.learning.datasets import episode as read_episode
    from dynamical.learning.datasets import frames, info, write_episode_video

    path = _locate(ctx, dataset, data_dir)
    entry = read_episode(path, episode)
    if video is not None:
        write_episode_video(path, episode, video)
    if as_json:
        typer.echo(json.dumps(entry.model_dump(mode="json") | {"video": str(video) if video else None}, indent=2))
        return
    table = Table(title=f"{path.name} episode {episode}: {entry.length} frames, {entry.duration_s:.2f} s")
    table.add_column("field")
    table.add_column("value")
    table.add_row("task", "; ".join(entry.tasks))
    table.add_row("success", "-" if entry.success is None else str(entry.success))
    table.add_row("seed", "-" if entry.seed is None else str(entry.seed))
    if entry.failure:
        table.add_row("failure", entry.failure)
    for v in entry.videos:
        table.add_row(f"video {v.camera}", f"{v.file} [{v.from_s:.2f}, {v.to_s:.2f}] s")
    if video is not None:
        table.add_row("written", str(video))
    console.print(table)
    data = frames(path, episode)
    action = data.get(protocol.ACTION)
    names = next((f.names for f in info(path).features if f.name == protocol.ACTION), None)
    if action is None or not len(action):
        return
    moved = np.ptp(action, axis=0)
    joints = Table(title="action: the joints that moved (rad)")
    for column in ("joint", "start", "end", "min", "max"):
        joints.add_column(column, justify="left" if column == "joint" else "right")
    for i in np.argsort(-moved):
        if moved[i] < 1e-4:
            break
        label = names[i] if names and i < len(names) else f"action[{i}]"
        joints.add_row(
            label, *(f"{x:+.3f}" for x in (action[0, i], action[-1, i], action[:, i].min(), action[:, i].max()))
        )
    console.print(joints)
