"""The `dynamical` command."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
import typer
from pydantic import BaseModel
from rich.console import Console
from rich.live import Live
from rich.table import Table

import dynamical
from dynamical.config import ConfigError, Settings, load_settings
from dynamical.robot.errors import RobotError

app = typer.Typer(help="Dynamical Edge: a robot-resident runtime for humanoid robots.", no_args_is_help=True)
sim_app = typer.Typer(help="The simulated robot: run it behind the safety kernel, look at it.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Measure performance; every bench prints a table, or JSON with --json.", no_args_is_help=True
)
robot_app = typer.Typer(help="Robot descriptions (profiles).", no_args_is_help=True)
app.add_typer(sim_app, name="sim")
app.add_typer(bench_app, name="bench")
app.add_typer(robot_app, name="robot")

console = Console()
err_console = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


def _version(value: bool) -> None:
    if value:
        console.print(f"dynamical-edge {dynamical.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML file overriding config/config.yaml.", dir_okay=False)
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    ctx.obj = config


def _settings(ctx: typer.Context) -> Settings:
    root = ctx.find_root()
    return load_settings(root.obj)


def user_errors(func: F) -> F:
    """Turn errors a user can fix into one line on stderr and exit code 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, RobotError, ValueError) as exc:
            err_console.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _print_result(result: BaseModel, as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.model_dump().items():
        table.add_row(key, f"{value:,.6g}" if isinstance(value, float) else str(value))
    console.print(table)


def _make_sim(settings: Settings, robot: str | None = None, seed: int | None = None):
    """A simulated robot to look at (rendering); it is never commanded from here."""
    from dynamical.launch import load_description, load_world
    from dynamical.robot.sim_robot import SimRobot

    return SimRobot(
        load_description(settings, robot),
        load_world(settings, robot),
        timestep=1.0 / settings.rates.physics_hz,
        seed=settings.sim.seed if seed is None else seed,
    )


@sim_app.command("run")
@user_errors
def sim_run(
    ctx: typer.Context,
    seconds: Annotated[float, typer.Option(min=0.0, help="Seconds to run.")] = 10.0,
    fast: Annotated[
        bool, typer.Option("--fast", help="Lock-step in one process, as fast as possible, instead of in real time.")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Object layout seed (default: from config).")] = None,
) -> None:
    """Run the robot: the realtime process (safety kernel at 1 kHz, simulated driver) and this
    process as the executive at 200 Hz, sending the demo motion (look around, wave)."""
    from dynamical.launch import load_description, lockstep_runtime, realtime_process
    from dynamical.robot.demo_motion import demo_targets
    from dynamical.runtime.clock import RealtimeClock, run_for

    settings = _settings(ctx)
    description = load_description(settings)

    def status_table(link, elapsed: float, timing=None) -> Table:
        status = link.status()
        table = Table(title=f"{description.name}: {'lock-step' if fast else 'realtime process'}")
        for column in ("time s", "safety mode", "speed scale", "interventions", "safety loop"):
            table.add_column(column, justify="right")
        loop = f"{timing.rate_hz:.0f} Hz, {timing.late_ticks} late" if timing is not None else "lock-step"
        if status is None:
            table.add_row(f"{elapsed:.2f}", "starting", "", "", loop)
        else:
            table.add_row(
                f"{elapsed:.2f}", status.mode.name, f"{status.speed_scale:.2f}", str(status.interventions), loop
            )
        return table

    if fast:
        with lockstep_runtime(settings, seed) as rt, Live(console=console, refresh_per_second=4) as live:
            chunk = 0.1
            for _ in range(max(1, round(seconds / chunk))):
                rt.run(chunk, lambda t, link: link.send(demo_targets(description, t)))
                live.update(status_table(rt.link, rt.time))
        return

    with realtime_process(settings, seed) as process, Live(console=console, refresh_per_second=4) as live:
        link = process.link

        def step(elapsed: float, info) -> None:
            link.send(demo_targets(description, elapsed))
            if info.index % 50 == 0:
                live.update(status_table(link, elapsed, process.timing()))

        elapsed = run_for(RealtimeClock(1.0 / settings.rates.control_hz, realtime=False), seconds, step)
        live.update(status_table(link, elapsed, process.timing()))


@sim_app.command("view")
@user_errors
def sim_view(
    ctx: typer.Context,
    camera: Annotated[str, typer.Option(help="Camera name: the robot's (head) or the world's (front, side).")] = "head",
    out: Annotated[Path, typer.Option(help="PNG file to write.", dir_okay=False)] = Path("frame.png"),
    width: Annotated[int, typer.Option(min=16, max=1280)] = 640,
    height: Annotated[int, typer.Option(min=16, max=960)] = 480,
    depth_out: Annotated[
        Path | None, typer.Option(help="Also write the depth image (16-bit PNG, millimetres).", dir_okay=False)
    ] = None,
    seconds: Annotated[float, typer.Option(min=0.0, help="Let physics settle this long before rendering.")] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Object layout seed (default: from config).")] = None,
) -> None:
    """Render one camera offscreen to a PNG."""
    from PIL import Image

    settings = _settings(ctx)
    sim = _make_sim(settings, seed=seed)
    sim.step(round(seconds / sim.timestep))
    frame = sim.read_camera(camera, width=width, height=height, depth=depth_out is not None)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(frame.rgb).save(out)
    if depth_out is not None and frame.depth is not None:
        millimetres = np.clip(frame.depth * 1000.0, 0, 65535).astype(np.uint16)
        Image.fromarray(millimetres).save(depth_out)
    console.print(f"wrote {out} ({width}x{height}, camera {camera!r}, t={frame.t:.3f} s)")


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

    settings = _settings(ctx)
    result = bench_sim(load_description(settings, robot), load_world(settings, robot), seconds, settings.sim.seed)
    _print_result(result, as_json, "bench sim")


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

    settings = _settings(ctx)
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
    _print_result(result, as_json, "bench safety")


@bench_app.command("loop")
@user_errors
def bench_loop_command(
    ctx: typer.Context,
    seconds: Annotated[float, typer.Option(min=1.0, help="Wall seconds to run both loops.")] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Both loops in their real processes, a policy-sized load in the executive, e-stop latency.

    The 1 kHz safety loop and the 200 Hz control loop; then the time from an e-stop request to
    the first stopping command the driver receives."""
    from dynamical.bench.loop import bench_loop

    result = bench_loop(_settings(ctx), seconds)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    table = Table(title=f"bench loop, {seconds:g} s; realtime process: {result.realtime_priority}")
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

    result = bench_ik(load_description(_settings(ctx)), targets, seed, tolerance)
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


@app.command("plan")
@user_errors
def plan_command(
    task: Annotated[str, typer.Argument(help='The task, e.g. "pick up the red cube and place it on the shelf".')],
    strategy: Annotated[
        str, typer.Option(help="Robot assignment: nearest, least_busy, capability, round_robin, optimal.")
    ] = "nearest",
    llm_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible API base URL to decompose with (falls back to the parser).")
    ] = None,
    llm_model: Annotated[str, typer.Option(help="Model name for --llm-url.")] = "default",
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON instead of a table.")] = False,
) -> None:
    """Plan a task through L3–L7 and print the plan; nothing is executed."""
    from dynamical.orchestration import AssignmentStrategy, OrchestrationRequest, get_orchestrator

    try:
        chosen = AssignmentStrategy(strategy)
    except ValueError:
        raise ValueError(f"unknown strategy {strategy!r}; use one of {[s.value for s in AssignmentStrategy]}") from None
    orchestrator = get_orchestrator()
    if llm_url is not None:
        from dynamical.orchestration.llm import LLMConfig, LLMDecomposer

        orchestrator.decomposer = LLMDecomposer(LLMConfig(base_url=llm_url, model=llm_model))
    plan = orchestrator.orchestrate(OrchestrationRequest(task_description=task, assignment_strategy=chosen))
    if as_json:
        typer.echo(plan.model_dump_json(indent=2))
        return
    _print_plan(plan)


def _print_plan(plan) -> None:
    table = Table(title=f"plan: {plan.task!r} ({plan.decomposer}, {plan.strategy.value})")
    for column in ("step", "skill", "parameters", "robot", "tier", "after", "router top-k"):
        table.add_column(column)
    for step in plan.steps:
        params = ", ".join(f"{k}={v}" for k, v in step.parameters.items())
        top = ", ".join(f"{s} {w:.2f}" for s, w in zip(step.skill_ids, step.weights, strict=True))
        table.add_row(
            step.step_id, step.skill_id, params, step.robot_id, step.tier.value, ", ".join(step.depends_on), top
        )
    console.print(table)
    for line in (*plan.notes, *plan.assumptions):
        console.print(f"  {line}", highlight=False)


@app.command("demo")
@user_errors
def demo_command(
    ctx: typer.Context,
    task: Annotated[
        str, typer.Option(help="The task in plain language.")
    ] = "pick up the red cube and place it on the shelf",
    seed: Annotated[int, typer.Option(help="Object layout seed.")] = 0,
    video: Annotated[
        Path | None, typer.Option(help="Write what the head camera saw to this MP4 file.", dir_okay=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Plan a task and run it end to end on the lock-step simulator, in this process.

    Prints the plan, a progress bar over its steps, each step's outcome, the safety events and
    whether the task succeeded (exit code 1 when it did not)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from dynamical.agent.demo import run_demo
    from dynamical.launch import load_description, load_world

    settings = _settings(ctx)
    world = load_world(settings)
    if world is None:
        raise ValueError("the demo needs a world with objects; the configured sim.world is 'none'")
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console, disable=as_json
    )
    bar = None

    def show_plan(plan) -> None:
        nonlocal bar
        if not as_json:
            _print_plan(plan)
        bar = progress.add_task("running", total=len(plan.steps))
        progress.start()

    def show_step(event) -> None:
        if event.status == "running":
            progress.update(bar, description=f"step {event.index + 1}: {event.skill_id}")
            return
        progress.update(bar, advance=1)
        if not as_json:
            outcome = event.outcome
            mark = "[green]ok[/green]" if outcome.success else f"[red]failed[/red] ({outcome.cause})"
            params = ", ".join(f"{k}={v}" for k, v in outcome.params.items())
            progress.console.print(
                f"{event.step_id} {event.skill_id}({params}): {mark} in {outcome.duration_s:.1f} s, "
                f"{outcome.interventions} safety interventions"
            )
            if outcome.failure:
                progress.console.print(f"   {outcome.failure}", highlight=False)

    try:
        result = run_demo(load_description(settings), world, task, seed, video, show_plan, show_step)
    finally:
        progress.stop()
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        events = ", ".join(f"{rule} ×{n}" for rule, n in sorted(result.safety_events.items())) or "none"
        console.print(f"safety events: {events}", highlight=False)
        outcome = result.outcome
        console.print(
            f"hard-limit holds: {outcome.hard_limit_holds}, limit violations at the driver: "
            f"{outcome.driver_violations}, simulated time {outcome.duration_s:.1f} s"
        )
        if video is not None:
            console.print(f"video: {video} ({result.video_frames} frames from the head camera)")
        verdict = "[green]succeeded[/green]" if result.success else f"[red]failed[/red]: {outcome.failure}"
        console.print(f"task {verdict}", highlight=False)
    if not result.success:
        raise typer.Exit(1)


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
    _print_result(result.model_copy(update={"misses": [f"{len(result.misses)}, below"]}), False, "bench route")
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
    _print_result(result, as_json, "bench plan")


@robot_app.command("info")
@user_errors
def robot_info(
    ctx: typer.Context,
    robot: Annotated[str | None, typer.Option(help="Profile name or YAML path (default: from config).")] = None,
) -> None:
    """Joints, groups and limits of a robot profile."""
    from dynamical.launch import load_description

    desc = load_description(_settings(ctx), robot)
    table = Table(title=f"{desc.name}: {desc.n_joints} joints ({desc.mjcf_path.name})")
    for column in ("group", "joint", "min", "max", "v max", "effort max", "home"):
        table.add_column(column, justify="left" if column in ("group", "joint") else "right")
    for group, joints in desc.groups.items():
        for joint in joints:
            i = desc.index(joint)
            table.add_row(
                group,
                joint,
                f"{desc.q_min[i]:.3f}",
                f"{desc.q_max[i]:.3f}",
                f"{desc.v_max[i]:.2f}",
                f"{desc.tau_max[i]:.2f}",
                f"{desc.home[i]:.3f}",
            )
    console.print(table)
    console.print(f"end effectors: {desc.end_effectors}  cameras: {list(desc.cameras)}")


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

    settings = _settings(ctx)
    world = load_world(settings)
    if world is None:
        raise ValueError("the demo needs a world with objects; the configured sim.world is 'none'")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, disable=as_json, transient=True) as progress:
        bar = progress.add_task("bench demo", total=seeds)
        result = bench_demo(
            load_description(settings), world, seeds, first_seed, task, lambda _: progress.update(bar, advance=1)
        )
    _print_result(result, as_json, "bench demo")


@app.command("eval")
@user_errors
def eval_command(
    ctx: typer.Context,
    skill: Annotated[str, typer.Argument(help="Built-in skill id, e.g. pick_and_place.")],
    episodes: Annotated[int, typer.Option(min=1, help="Randomized episodes to run.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the first episode; episode k uses seed + k.")] = 0,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Skill parameter KEY=VALUE (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Evaluate a skill over randomized episodes in lock-step simulation.

    Success means the run ended well, the skill's postconditions hold, and no command over a
    joint limit reached the driver."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from dynamical.launch import load_description, load_world
    from dynamical.skills.errors import SkillsError
    from dynamical.skills.evaluation import evaluate_skill

    settings = _settings(ctx)
    world = load_world(settings)
    if world is None:
        raise ValueError("evaluation needs a world with objects; the configured sim.world is 'none'")
    overrides = dict(_key_value(p) for p in param or [])
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, disable=as_json, transient=True) as progress:
        task = progress.add_task(f"eval {skill}", total=episodes)
        successes = 0

        def advance(result) -> None:
            nonlocal successes
            successes += result.success
            progress.update(task, advance=1, description=f"eval {skill}: {successes} ok")

        try:
            result = evaluate_skill(skill, episodes, seed, load_description(settings), world, overrides, advance)
        except SkillsError as exc:
            raise ValueError(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    table = Table(title=f"eval {skill} ({result.params})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("episodes", str(result.episodes))
    table.add_row("success rate", f"{result.success_rate:.1%} ({result.successes}/{result.episodes})")
    table.add_row("mean duration", f"{result.mean_duration_s:.2f} s")
    table.add_row("safety interventions", str(result.interventions))
    table.add_row("hard-limit holds", str(result.hard_limit_holds))
    table.add_row("limit violations at the driver", str(result.driver_violations))
    for cause, count in sorted(result.failures_by_cause.items()):
        table.add_row(f"failures: {cause}", str(count))
    console.print(table)
    for failed in [r for r in result.results if not r.success][:5]:
        console.print(f"seed {failed.seed}: {failed.cause}: {failed.failure}", highlight=False)


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--param takes KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


# ---- the platform server: database, API keys, and commands that call its API ------------------

db_app = typer.Typer(help="The platform server's database (SQLite in the data directory, or PostgreSQL).")
keys_app = typer.Typer(help="API keys of the platform server.", no_args_is_help=True)
skills_app = typer.Typer(help="Skills in the platform server's registry.", no_args_is_help=True)
app.add_typer(db_app, name="db", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(skills_app, name="skills")

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default: data_dir from the config).", file_okay=False),
]
ServerOption = Annotated[str, typer.Option("--server", envvar="DYNAMICAL_SERVER", help="URL of the platform server.")]
ApiKeyOption = Annotated[
    str | None,
    typer.Option("--api-key", envvar="DYNAMICAL_API_KEY", help="API key of the server.", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DEFAULT_SERVER = "http://127.0.0.1:8000"


def _database(ctx: typer.Context, data_dir: Path | None, create: bool = False):
    from dynamical.api.db import Database
    from dynamical.api.settings import ApiSettings

    settings = ApiSettings.from_settings(_settings(ctx), data_dir)
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
    _print_result(report, as_json, "db init")


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


# dynamical up / agent / invoke / estop / bench api: the platform commands live in platform_cli.
from dynamical.platform_cli import register as _register_platform  # noqa: E402

_register_platform(app, bench_app, _settings, user_errors)

if __name__ == "__main__":
    app()
