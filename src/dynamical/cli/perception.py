"""`dynamical bench perception`: object and person accuracy against the simulator's truth, and
the foundation models' compute per frame."""

from __future__ import annotations

from typing import Annotated

import typer

from dynamical.cli.common import bench_app, print_result, settings_of, user_errors


@bench_app.command("perception")
@user_errors
def bench_perception_command(
    ctx: typer.Context,
    accuracy: Annotated[bool, typer.Option("--accuracy", help="Objects against ground truth (the default).")] = False,
    people: Annotated[bool, typer.Option("--people", help="Person distance against the true mannequin.")] = False,
    task: Annotated[
        str | None,
        typer.Option("--task", help="Run this task on --layouts seeds, on the true and on the perceived world."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Time a foundation model instead: dinov3, sam3 or vjepa2.")
    ] = None,
    size: Annotated[
        str, typer.Option(help="Model size (dinov3: tiny…7b, sam3: tiny|full, vjepa2: tiny…giant).")
    ] = "tiny",
    device: Annotated[str, typer.Option(help="torch device for --model (cpu, cuda).")] = "cpu",
    dtype: Annotated[str, typer.Option(help="float32, bfloat16 or float16 for --model.")] = "float32",
    compile: Annotated[bool, typer.Option(help="Also time torch.compile (CUDA graphs on a GPU).")] = True,
    iterations: Annotated[int, typer.Option(min=1, help="Timed forward passes for --model.")] = 10,
    layouts: Annotated[int, typer.Option(min=1, help="Random layouts (--accuracy) or placements (--people).")] = 200,
    cameras: Annotated[str, typer.Option(help="Comma-separated cameras.")] = "head,front,side",
    width: Annotated[int, typer.Option(min=16, max=1280, help="Frame width, px.")] = 320,
    height: Annotated[int, typer.Option(min=12, max=960, help="Frame height, px.")] = 240,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """How well and how fast the robot sees: objects (position, yaw, mask IoU against MuJoCo's
    truth over random layouts), people (distance to the true mannequin), a task's success on the
    perceived world against the true one, or a foundation model's FLOPs and latency per frame."""
    if sum([accuracy, people, model is not None, task is not None]) > 1:
        raise ValueError("choose one of --accuracy, --people, --task and --model")
    if model is not None:
        from dynamical.perception.budget import bench_model
        from dynamical.perception.model_sizes import check_size

        check_size(model, size)
        if dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"--dtype must be float32, bfloat16 or float16, got {dtype!r}")
        result = bench_model(model, size, device, dtype, iterations, compile)
        print_result(result, as_json, f"bench perception --model {model} --size {size}")
        return
    from dynamical.bench.perception import bench_accuracy, bench_people, bench_task
    from dynamical.launch import load_description, load_world

    settings = settings_of(ctx)
    names = [c.strip() for c in cameras.split(",") if c.strip()]
    if not names:
        raise ValueError("--cameras names no camera")
    description, world = load_description(settings), load_world(settings)
    if task is not None:
        seeds = list(range(settings.sim.seed, settings.sim.seed + layouts))
        report = bench_task(description, world, task, seeds, names)
        if as_json:
            typer.echo(report.model_dump_json(indent=2))
            return
        print_result(
            report.model_copy(update={"truth": [], "perception": []}),
            False,
            f"bench perception --task ({layouts} seeds)",
        )
        for run in report.perception:
            if not run.success:
                typer.echo(f"perception seed {run.seed}: failed{': ' + run.error if run.error else ''}")
        return
    if people:
        report = bench_people(description, world, layouts, names, width, height, settings.sim.seed)
        print_result(report, as_json, f"bench perception --people ({layouts} placements)")
        return
    result = bench_accuracy(description, world, layouts, names, width, height, settings.sim.seed)
    print_result(result, as_json, f"bench perception --accuracy ({layouts} layouts)")
