"""`dynamical fl …` (fleet learning) and `dynamical bench fleet`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dynamical.cli.common import app, bench_app, console, print_result, settings_of, user_errors

fl_app = typer.Typer(help="Fleet learning: robots fine-tune a skill expert together, privately.", no_args_is_help=True)
app.add_typer(fl_app, name="fl")

RobotsOption = Annotated[int, typer.Option(min=2, max=64, help="Simulated robots, each at its own site.")]
RoundsOption = Annotated[int, typer.Option(min=1, max=1000, help="Federated rounds.")]
EpsilonOption = Annotated[float, typer.Option("--epsilon", min=0.01, help="Each robot's ε budget at δ = 1e-5.")]
EpisodesOption = Annotated[int, typer.Option(min=2, max=1000, help="Demonstrations each robot records at its site.")]
WorkdirOption = Annotated[
    Path | None,
    typer.Option(help="Where recordings, key pairs and ledgers go (default: <data_dir>/fleet-sim).", file_okay=False),
]
DatasetOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--dataset",
        help="A robot's own LeRobot dataset (repeat, one per robot) instead of recording.",
        file_okay=False,
        exists=True,
    ),
]


def _sites(ctx: typer.Context, workdir: Path | None, robots: int, episodes: int, datasets: list[Path] | None):  # type: ignore[no-untyped-def]
    from dynamical.fleet.demonstrations import Demonstrations, load_dataset
    from dynamical.fleet.sites import fleet_sites

    root = workdir if workdir is not None else settings_of(ctx).data_dir / "fleet-sim"
    if datasets:
        if len(datasets) < 2:
            raise ValueError("a fleet needs at least two robots' datasets (--dataset twice or more)")
        loaded = [load_dataset(p) for p in datasets]
        splits = [d.split(0.2, seed=i) for i, d in enumerate(loaded)]
        sites = [s[0] for s in splits]
        holdout = Demonstrations.concat([s[1] for s in splits])
        return root, sites[0], sites, holdout  # the first robot's data also seeds the frozen base
    console.print(
        f"[dim]recording {episodes} demonstrations at each of {robots} sites (+ platform, held out) "
        f"under {root} …[/dim]"
    )
    base, sites, holdout = fleet_sites(root, robots, episodes)
    return root, base, sites, holdout


def _config(aggregation: str, epsilon: float, noise: float, allow_plaintext: bool):  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from dynamical.fleet.config import FleetConfig

    try:
        return FleetConfig(
            aggregation=aggregation,  # type: ignore[arg-type]
            epsilon_budget=epsilon,
            noise_multiplier=noise,
            allow_plaintext=allow_plaintext,
        )
    except ValidationError as exc:
        raise ValueError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None


@fl_app.command("run")
@user_errors
def fl_run_command(
    ctx: typer.Context,
    robots: RobotsOption = 3,
    rounds: RoundsOption = 10,
    aggregation: Annotated[
        str, typer.Option(help="bfv (encrypted) or none (plaintext, needs --allow-plaintext).")
    ] = "bfv",
    epsilon: EpsilonOption = 8.0,
    noise: Annotated[float, typer.Option(min=0.0, help="DP-SGD noise multiplier z (0: no DP).")] = 1.0,
    allow_plaintext: Annotated[bool, typer.Option(help="Permit --aggregation none.")] = False,
    episodes: EpisodesOption = 8,
    dataset: DatasetOption = None,
    workdir: WorkdirOption = None,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    engine: Annotated[
        str, typer.Option(help="inprocess (one process, same objects) or flower (Flower's simulation engine).")
    ] = "inprocess",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """A simulated fleet: each robot fine-tunes the expert on its own site's demonstrations (DP-SGD),
    sends a BFV-encrypted update, and the server sums what it cannot read. Per-round metrics, bytes, ε."""
    from dynamical.fleet.model import pretrain
    from dynamical.fleet.simulation import RoundReport, run_fleet

    if engine not in ("inprocess", "flower"):
        raise ValueError(f"--engine is inprocess or flower, not {engine!r}")
    config = _config(aggregation, epsilon, noise, allow_plaintext)
    root, base, sites, holdout = _sites(ctx, workdir, robots, episodes, dataset)
    policy = pretrain(base, seed=seed)
    if engine == "flower":
        _run_flower(root, policy, sites, holdout, config, rounds, seed, as_json)
        return

    def show(r: RoundReport) -> None:
        if not as_json:
            eps = max(r.epsilon.values(), default=0.0)
            console.print(
                f"round {r.round}: {len(r.participants)} robots, up {r.bytes_up_per_robot:,} B/robot "
                f"({r.bytes_up_per_robot / r.float32_bytes:.2f}× float32), down {r.bytes_down:,} B, "
                f"sum {1e3 * r.aggregation_s:.0f} ms, ε ≤ {eps:.2f}, held-out accuracy "
                f"{r.evaluation.accuracy:.3f}, mse {r.evaluation.mse:.2e}"
                + (f", declined: {', '.join(r.declined)}" if r.declined else "")
            )

    report = run_fleet(policy, sites, holdout, config, rounds, root / "robots", seed, on_round=show)
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
        return
    table = Table(title=f"fleet: {report.robots} robots, {report.aggregation}, expert {report.expert_params:,} params")
    for column in ("robot", "ε", "budget"):
        table.add_column(column, justify="right")
    for robot, eps in report.epsilon.items():
        table.add_row(robot, f"{eps:.3f}", f"{report.budget:g} at δ={report.delta:g}")
    console.print(table)
    console.print(
        f"held-out accuracy {report.initial.accuracy:.3f} → {report.final.accuracy:.3f} "
        f"(joint targets within {report.final.tolerance} rad)"
    )


def _run_flower(root: Path, policy, sites, holdout, config, rounds: int, seed: int, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from dynamical.fleet.flower_launch import run_simulation, write_job
    from dynamical.fleet.job import load_robot
    from dynamical.fleet.model import evaluate

    job_dir = root / "flower-job"
    shutil.rmtree(job_dir, ignore_errors=True)
    job = write_job(job_dir, policy, sites, config, rounds, seed)
    if not as_json:
        console.print(f"[dim]Flower simulation engine: {len(sites)} SuperNodes, {rounds} rounds (Ray) …[/dim]")
    done = run_simulation(job)
    # Evaluate as a key holder would: robot-0's copy of the global expert plus the last round's sum.
    robot = load_robot(job, 0)
    expert = robot.global_expert()
    last = next((r for r in reversed(done) if "participants" in r), None)
    if last is not None:
        payload = (job.root / f"round-{last['round']}.bin").read_bytes()
        expert = robot.fleet.apply_round(expert, payload, len(last["participants"]))
    robot.fleet.policy.set_expert_vector(expert)
    final = evaluate(robot.fleet.policy, holdout)
    if as_json:
        typer.echo(json.dumps({"engine": "flower", "rounds": done, "final": final.model_dump()}, indent=2))
        return
    for r in done:
        console.print(json.dumps(r))
    console.print(f"held-out accuracy {final.accuracy:.3f}, mse {final.mse:.2e}")


@bench_app.command("fleet")
@user_errors
def bench_fleet_command(
    ctx: typer.Context,
    robots: RobotsOption = 3,
    rounds: RoundsOption = 10,
    epsilon: EpsilonOption = 8.0,
    episodes: EpisodesOption = 8,
    dataset: DatasetOption = None,
    workdir: WorkdirOption = None,
    seed: Annotated[int, typer.Option(min=0)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Bytes per update, aggregation time (10 and 100 robots), ε after the rounds, and held-out accuracy
    of the fleet (BFV + DP) against FedAvg without DP and centralized training on the union."""
    from dynamical.bench.fleet import bench_fleet

    config = _config("bfv", epsilon, 1.0, False)
    root, base, sites, holdout = _sites(ctx, workdir, robots, episodes, dataset)
    result, _ = bench_fleet(base, sites, holdout, config, rounds, root / "bench", seed)
    print_result(result, as_json, "bench fleet")
