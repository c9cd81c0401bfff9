"""`dynamical plan`, `demo` and `eval`: tasks planned and run on the simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dynamical.cli.common import (
    DataDirOption,
    app,
    console,
    err_console,
    key_value,
    settings_of,
    user_errors,
)


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

    settings = settings_of(ctx)
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
        result = run_demo(
            load_description(settings), world, task, seed, video, show_plan, show_step, settings.perception
        )
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


@app.command("eval")
@user_errors
def eval_command(
    ctx: typer.Context,
    skill: Annotated[str, typer.Argument(help="Skill id: built-in (pick_and_place) or learned (learned_pick).")],
    episodes: Annotated[int, typer.Option(min=1, help="Randomized episodes to run.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the first episode; episode k uses seed + k.")] = 0,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Skill parameter KEY=VALUE (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    artifact: Annotated[
        Path | None, typer.Option(help="A learned skill's packaged artifact (default: the server's registry).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Evaluate a skill over randomized episodes in lock-step simulation.

    Success means the run ended well, the skill's postconditions hold, and no command over a
    joint limit reached the driver."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from dynamical.launch import load_description, load_world
    from dynamical.skills.errors import SkillsError
    from dynamical.skills.evaluation import evaluate_skill
    from dynamical.skills.runner import builtin_catalog

    settings = settings_of(ctx)
    world = load_world(settings)
    if world is None:
        raise ValueError("evaluation needs a world with objects; the configured sim.world is 'none'")
    overrides = dict(key_value(p) for p in param or [])
    catalog, artifacts = None, None
    if artifact is not None or skill not in builtin_catalog():
        from dynamical.learning.learned_skills import catalog_with_learned

        try:
            catalog, artifacts = catalog_with_learned(settings, data_dir, artifact)
        except ValueError as exc:
            raise ValueError(f"no skill {skill!r} among the built-in skills, and {exc}") from None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, disable=as_json, transient=True) as progress:
        task = progress.add_task(f"eval {skill}", total=episodes)
        successes = 0

        def advance(result) -> None:
            nonlocal successes
            successes += result.success
            progress.update(task, advance=1, description=f"eval {skill}: {successes} ok")

        try:
            result = evaluate_skill(
                skill, episodes, seed, load_description(settings), world, overrides, advance, catalog, artifacts
            )
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
    if result.inference_ms is not None:
        latency = result.inference_ms
        table.add_row("policy chunks", f"{latency['chunks']:.0f}")
        table.add_row("inference p50 / p99", f"{latency['p50']:.2f} / {latency['p99']:.2f} ms")
    console.print(table)
    for failed in [r for r in result.results if not r.success][:5]:
        console.print(f"seed {failed.seed}: {failed.cause}: {failed.failure}", highlight=False)
