"""`dynamical bench …`: every bench prints a table, or JSON with --json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dynamical.cli.common import (
    DataDirOption,
    bench_app,
    console,
    err_console,
    print_result,
    settings_of,
    user_errors,
)


@bench_app.command("sim")
@user_errors
def bench_sim_command(
    ctx: typer.Context,
    seconds: Annotated[float, typer.Option(min=0.01, help="Simulated seconds to step.")] = 10.0,
    robot: Annotated[str | None, typer.Option(help="Robot profile (default: from config).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Physics steps per second and real-time factor of the full world (no rendering)."""
    from dynamical.bench.sim import bench_sim
    from dynamical.launch import load_description, load_world

    settings = settings_of(ctx)
    result = bench_sim(load_description(settings, robot), load_world(settings, robot), seconds, settings.sim.seed)
    print_result(result, as_json, "bench sim")


@bench_app.command("safety")
@user_errors
def bench_safety_command(
    ctx: typer.Context,
    seconds: Annotated[float, typer.Option(min=0.1, help="Simulated seconds of motion to filter.")] = 10.0,
    realtime: Annotated[
        bool, typer.Option(help="Run with SCHED_FIFO and a frozen GC, as the realtime process does.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The safety kernel's cost per tick: default humanoid, 4 keep-out zones, 1 person."""
    from dynamical.bench.safety import bench_safety
    from dynamical.launch import load_description
    from dynamical.robot.world import WorldSpec
    from dynamical.runtime.clock import enter_realtime, leave_realtime

    settings = settings_of(ctx)
    description = load_description(settings)
    world = WorldSpec.load(settings.sim.world)
    bench_safety(description, world, 0.2)  # load the compiled code before timing
    granted = enter_realtime() if realtime else None
    try:
        result = bench_safety(description, world, seconds, settings.sim.seed)
    finally:
        if granted is not None:
            leave_realtime()
    if granted is not None and not as_json:
        console.print(granted.message)
    print_result(result, as_json, "bench safety")


@bench_app.command("loop")
@user_errors
def bench_loop_command(
    ctx: typer.Context,
    seconds: Annotated[float, typer.Option(min=1.0, help="Wall seconds to run both loops.")] = 60.0,
    hogs: Annotated[
        int, typer.Option(min=0, max=16, help="Busy processes sharing the cores meanwhile (as a browser would).")
    ] = 0,
    train: Annotated[
        Path | None,
        typer.Option(
            "--train",
            help="A LeRobot dataset: run once alone, then beside a training job on it (ACT, idle priority).",
            file_okay=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Both loops in their real processes, a policy-sized load in the executive, e-stop latency.

    The 1 kHz safety loop and the 200 Hz control loop streaming trajectory segments; the kernel's
    watchdog events and the lookahead it had left; then the time from an e-stop request to the
    first stopping command the driver receives. With --train: the tiers' figures without and with
    a training job beside them."""
    from dynamical.bench.loop import bench_loop

    if train is not None:
        from dynamical.bench.loop_training import bench_loop_training
        from dynamical.cli.train import print_loop_training

        print_loop_training(bench_loop_training(settings_of(ctx), seconds, train, hogs), as_json)
        return
    result = bench_loop(settings_of(ctx), seconds, hogs)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    table = Table(
        title=f"bench loop, {seconds:g} s, {hogs} CPU hogs beside; realtime process: {result.realtime_priority}"
    )
    table.add_column("metric")
    for snap in (result.safety, result.control):
        table.add_column(f"{snap.name} ({1 / snap.period_s:g} Hz)", justify="right")
    rows = [
        ("achieved rate, Hz", lambda s: f"{s.rate_hz:.1f}"),
        ("period jitter p50, µs", lambda s: f"{s.jitter_us['p50']:.1f}"),
        ("period jitter p99, µs", lambda s: f"{s.jitter_us['p99']:.1f}"),
        ("period jitter p99.9, µs", lambda s: f"{s.jitter_us['p99_9']:.1f}"),
        ("period jitter max, µs", lambda s: f"{s.jitter_us['max']:.1f}"),
        ("late ticks (> 1.1 periods)", lambda s: f"{s.late_ticks} of {s.ticks} ({100 * s.late_fraction:.3f} %)"),
        ("missed deadlines", lambda s: str(s.missed)),
        ("work p50 / p99, µs", lambda s: f"{s.work_us['p50']:.0f} / {s.work_us['p99']:.0f}"),
        ("protective stops", lambda s: str(s.protective_stops)),
    ]
    for label, cell in rows:
        table.add_row(label, cell(result.safety), cell(result.control))
    console.print(table)
    console.print(
        f"policy forward pass p50 {result.policy_ms_p50:.2f} ms; e-stop request → driver stop: "
        f"p50 {result.estop_latency_ms['p50']:.2f} ms, max {result.estop_latency_ms['max']:.2f} ms"
    )
    events = ", ".join(f"{rule} {count}" for rule, count in result.watchdog_events.items())
    console.print(
        f"watchdog events: {events}; trajectory lookahead left at a control tick: "
        f"p1 {result.lookahead_ms['p1']:.1f} ms, min {result.lookahead_ms['min']:.1f} ms"
    )


@bench_app.command("ik")
@user_errors
def bench_ik_command(
    ctx: typer.Context,
    targets: Annotated[int, typer.Option(min=1, help="Random reachable targets per arm.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the targets.")] = 0,
    tolerance: Annotated[float, typer.Option(min=0.0, help="Position tolerance, m.")] = 0.005,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Each arm's IK (mink + DAQP) on random reachable end-effector poses."""
    from dynamical.bench.ik import bench_ik
    from dynamical.launch import load_description

    result = bench_ik(load_description(settings_of(ctx)), targets, seed, tolerance)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    tol_mm = result.arms[0].tolerance_m * 1e3 if result.arms else tolerance * 1e3
    table = Table(title=f"bench ik: {result.robot}, seed {result.seed}, reached = within {tol_mm:g} mm")
    for column in ("arm", "reached", "max err mm", "median err mm", "max rot err rad", "median ms", "max ms"):
        table.add_column(column, justify="left" if column == "arm" else "right")
    for arm in result.arms:
        table.add_row(
            arm.arm,
            f"{arm.reached}/{arm.targets}",
            f"{arm.position_error_max_m * 1e3:.3f}",
            f"{arm.position_error_median_m * 1e3:.3f}",
            f"{arm.orientation_error_max_rad:.4f}",
            f"{arm.solve_ms_median:.1f}",
            f"{arm.solve_ms_max:.1f}",
        )
    console.print(table)


@bench_app.command("route")
@user_errors
def bench_route_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The skill router on 20 skills: top-1 accuracy on held-out paraphrases, refusals, latency."""
    from dynamical.bench.orchestration import bench_route
    from dynamical.orchestration.embedding import get_embedder

    result = bench_route(get_embedder())
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    print_result(result.model_copy(update={"misses": [f"{len(result.misses)}, below"]}), False, "bench route")
    for miss in result.misses:
        console.print(f"  miss: {miss}", highlight=False)


@bench_app.command("plan")
@user_errors
def bench_plan_command(
    requests: Annotated[int, typer.Option(min=10, help="Requests in the timed workload.")] = 400,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Orchestration latency through all layers: 20 skills, 10 robots, every strategy."""
    from dynamical.bench.orchestration import bench_plan
    from dynamical.orchestration.embedding import get_embedder

    result = bench_plan(get_embedder(), requests=requests)
    print_result(result, as_json, "bench plan")


@bench_app.command("demo")
@user_errors
def bench_demo_command(
    ctx: typer.Context,
    seeds: Annotated[int, typer.Option(min=1, help="Object layouts (seeds) to run the task on.")] = 20,
    first_seed: Annotated[int, typer.Option(help="The first seed.")] = 0,
    task: Annotated[
        str, typer.Option(help="The task in plain language.")
    ] = "pick up the red cube and place it on the shelf",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The task planned and run end to end on many seeds: success rate, as `dynamical demo` runs it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from dynamical.bench.demo import bench_demo
    from dynamical.launch import load_description, load_world

    settings = settings_of(ctx)
    world = load_world(settings)
    if world is None:
        raise ValueError("the demo needs a world with objects; the configured sim.world is 'none'")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, disable=as_json, transient=True) as progress:
        bar = progress.add_task("bench demo", total=seeds)
        result = bench_demo(
            load_description(settings), world, seeds, first_seed, task, lambda _: progress.update(bar, advance=1)
        )
    print_result(result, as_json, "bench demo")


@bench_app.command("estop")
@user_errors
def bench_estop_command(
    trials: Annotated[int, typer.Option(min=2, max=10_000, help="E-stops per series (free, then locked).")] = 50,
    mode: Annotated[str, typer.Option(help="The robot agent: realtime (as `dynamical up`) or lockstep.")] = "realtime",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """E-stop → the robot's latched acknowledgement through the API, with the database free and
    with its write lock held by another connection; then every audit row and ESTOP event stored."""
    from dynamical.bench.estop import bench_estop

    if mode not in ("realtime", "lockstep"):
        raise ValueError(f"--mode is realtime or lockstep, got {mode!r}")
    result = bench_estop(trials, mode)  # type: ignore[arg-type]
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    table = Table(title=f"bench estop, {trials} e-stops per series, {mode} agent in its own process")
    for column in ("database", "confirmed", "request p50 / p99 / max, ms", "robot p50 / p99 / max, ms"):
        table.add_column(column, justify="left" if column == "database" else "right")
    for s in result.series:
        table.add_row(
            s.database,
            f"{s.confirmed} of {s.trials}",
            f"{s.request.p50_ms:.1f} / {s.request.p99_ms:.1f} / {s.request.max_ms:.1f}",
            f"{s.robot.p50_ms:.1f} / {s.robot.p99_ms:.1f} / {s.robot.max_ms:.1f}",
        )
    console.print(table)
    console.print(
        f"stored after the lock's release: {result.audit_rows_stored} audit rows and "
        f"{result.estop_events_stored} ESTOP events for {result.expected} e-stops",
        highlight=False,
    )


@bench_app.command("soak")
@user_errors
def bench_soak_command(
    ctx: typer.Context,
    tasks: Annotated[int, typer.Option(min=1, help="Tasks to run, in plain words, through the REST API.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the tasks and of their object layouts.")] = 0,
    agent_mode: Annotated[
        str, typer.Option("--agent-mode", help="realtime (the realtime and executive processes) or lockstep.")
    ] = "realtime",
    agent_speed: Annotated[
        float, typer.Option(help="Simulated time per wall second of a lockstep agent.", min=0.1, max=20)
    ] = 1.0,
    estop_every: Annotated[
        int, typer.Option(min=0, help="An e-stop and a reset every this many tasks (0: none).")
    ] = 50,
    restart: Annotated[bool, typer.Option("--restart/--no-restart", help="Restart the server once mid-run.")] = True,
    skill: Annotated[
        list[str] | None, typer.Option("--skill", help="Only tasks written for this skill (repeatable).")
    ] = None,
    minutes: Annotated[
        float | None, typer.Option(min=0.1, help="Start no new task after this many minutes (default: no limit).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """A long run as a user makes it: the server and the robot agent in their own processes, tasks
    in plain words covering every built-in skill, object and surface, the world reset between them,
    an e-stop every --estop-every tasks and a server restart; reports success by skill, failures by
    cause, stuck states, protective stops, e-stop latency, memory growth and what is left after exit.
    Exit code 1 when an invariant breaks (a stuck state, a lost execution, a leftover)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from dynamical.bench.soak import print_soak, run_soak
    from dynamical.bench.soak.runner import SoakStoppedError

    if agent_mode not in ("realtime", "lockstep"):
        raise ValueError(f"--agent-mode must be realtime or lockstep, got {agent_mode!r}")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, disable=as_json, transient=True) as progress:
        bar = progress.add_task("bench soak", total=tasks)
        try:
            result = run_soak(
                settings_of(ctx),
                tasks,
                seed=seed,
                agent_mode=agent_mode,
                agent_speed=agent_speed,
                estop_every=estop_every,
                restart=restart,
                skills=skill,
                config=ctx.find_root().obj,
                minutes=minutes,
                progress=lambda done, name: progress.update(bar, completed=done, description=f"bench soak: {name}"),
            )
        except SoakStoppedError as exc:  # one line, not a traceback: the logs it names tell the rest
            err_console.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(2) from None
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        print_soak(result, console)
    if not result.invariants_hold:
        raise typer.Exit(1)


@bench_app.command("policy")
@user_errors
def bench_policy_command(
    ctx: typer.Context,
    skill: Annotated[str, typer.Argument(help="Learned skill id (in the server's registry, or --artifact).")],
    seconds: Annotated[float, typer.Option(min=1.0, help="Wall seconds of each phase (scripted, then policy).")] = 20.0,
    artifact: Annotated[Path | None, typer.Option(help="The skill's packaged artifact (.dskill).")] = None,
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """A learned policy's ONNX chunk time (p50/p99) and the 200 Hz control tier's late ticks while
    it runs, beside the same figures for a scripted motion, with the realtime process as deployed."""
    from dynamical.bench.policy import bench_policy
    from dynamical.learning.learned_skills import catalog_with_learned

    settings = settings_of(ctx)
    catalog, artifacts = catalog_with_learned(settings, data_dir, artifact)
    manifest = catalog.get(skill)
    if manifest is None or manifest.kind == "scripted" or artifacts is None:
        learned = sorted(i for i, m in catalog.items() if m.kind != "scripted")
        raise ValueError(f"no learned skill {skill!r} (learned skills here: {', '.join(learned) or 'none'})")
    result = bench_policy(settings, artifacts(manifest), seconds)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    table = Table(title=f"bench policy {skill}, {seconds:g} s a phase")
    table.add_column("metric")
    table.add_column("scripted motion", justify="right")
    table.add_column(f"policy {skill}", justify="right")
    for label, cell in (
        ("control ticks", lambda p: str(p.control.ticks)),
        ("late ticks (> 1.1 periods)", lambda p: f"{p.control.late_ticks} ({100 * p.control.late_fraction:.3f} %)"),
        ("missed deadlines", lambda p: str(p.control.missed)),
        ("period jitter p99, µs", lambda p: f"{p.control.jitter_us['p99']:.1f}"),
        ("work p50 / p99, µs", lambda p: f"{p.control.work_us['p50']:.0f} / {p.control.work_us['p99']:.0f}"),
        ("starved ticks", lambda p: str(p.starvations)),
        ("run status at the end", lambda p: p.status),
    ):
        table.add_row(label, cell(result.scripted), cell(result.policy))
    console.print(table)
    iso, loop = result.chunk_ms_isolated, result.chunk_ms_in_loop
    console.print(
        f"ONNX graph {result.onnx_mb:.1f} MB; chunk (1 thread): isolated p50 {iso['p50']:.2f} ms, "
        f"p99 {iso['p99']:.2f} ms; in the loop "
        f"p50 {loop['p50']:.2f} ms, p99 {loop['p99']:.2f} ms over {result.chunks} chunks; "
        f"request → chunk at the executor max {result.max_chunk_latency_ms or float('nan'):.1f} ms"
    )
