"""`dynamical glove …` (the DYGlove without hardware), `dynamical retarget` (BVH → robot motion) and
`dynamical bench teleop`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from dynamical.cli.common import app, bench_app, console, err_console, print_result, settings_of, user_errors

glove_app = typer.Typer(help="DYGlove data gloves: a simulated glove over the real UDP protocol.", no_args_is_help=True)
app.add_typer(glove_app, name="glove")


@glove_app.command("simulate")
@user_errors
def glove_simulate_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="UDP port the receiver listens on.")],
    host: Annotated[str, typer.Option(help="The receiver's host.")] = "127.0.0.1",
    motion: Annotated[
        str, typer.Option(help="calibrate (open, fist, pinch held 3 s each), grasp, pinch, point or wave.")
    ] = "grasp",
    seconds: Annotated[float, typer.Option(min=0.01, help="How long to stream, s.")] = 10.0,
    rate: Annotated[float, typer.Option(min=1.0, max=1000.0, help="Samples a second.")] = 100.0,
    side: Annotated[str, typer.Option(help="left or right.")] = "right",
    seed: Annotated[int, typer.Option(min=0, help="The simulated user's sensor gains and offsets.")] = 0,
    drop: Annotated[float, typer.Option(min=0.0, max=1.0, help="Fraction of datagrams lost.")] = 0.0,
    reorder: Annotated[float, typer.Option(min=0.0, max=1.0, help="Fraction swapped with the next one.")] = 0.0,
    corrupt: Annotated[float, typer.Option(min=0.0, max=1.0, help="Fraction sent with a flipped byte.")] = 0.0,
) -> None:
    """Stream a synthetic glove (scripted motions) over UDP in the DYGlove v1 protocol."""
    from dynamical.drivers.glove_sim import MOTIONS, SimulatedGlove

    if motion not in MOTIONS:
        raise ValueError(f"unknown motion {motion!r}; use one of {', '.join(MOTIONS)}")
    if side not in ("left", "right"):
        raise ValueError(f"side must be left or right, got {side!r}")
    hand: Literal["left", "right"] = "left" if side == "left" else "right"
    glove = SimulatedGlove(hand, seed=seed)
    sent = glove.stream((host, port), motion, seconds, rate, drop=drop, reorder=reorder, corrupt=corrupt)  # type: ignore[arg-type]
    console.print(f"sent {sent} datagrams ({motion}, {side} hand) to {host}:{port}")


@bench_app.command("teleop")
@user_errors
def bench_teleop_command(
    ctx: typer.Context,
    seconds: Annotated[float, typer.Option(min=0.5, help="Seconds of glove stream and of operator input.")] = 5.0,
    steps: Annotated[int, typer.Option(min=10, help="Servo steps and glove frames timed offline.")] = 2000,
    robot: Annotated[str | None, typer.Option(help="Robot profile (default: from config).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Teleop: servo IK step, hand retargeting rate and fingertip error, glove packet → kernel
    command and operator input → kernel command latency on a lock-step robot in real time."""
    from dynamical.bench.teleop import bench_teleop
    from dynamical.launch import load_description, load_world

    settings = settings_of(ctx)
    world = load_world(settings, robot)
    if world is None:
        raise ValueError("bench teleop needs a world to simulate (this robot's profile brings its own scene)")
    result = bench_teleop(load_description(settings, robot), world, seconds, steps)
    print_result(result, as_json, "bench teleop")


@app.command("retarget")
@user_errors
def retarget_command(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="A BVH capture.", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option(help="Where to write the joint trajectory (.npz: t, q, joint_names).")],
    scale: Annotated[float, typer.Option(min=1e-6, help="Metres per BVH unit (0.01: centimetres).")] = 0.01,
    up: Annotated[str, typer.Option(help="The file's up axis: y (BVH's usual, facing +z) or z (facing +x).")] = "y",
    play: Annotated[bool, typer.Option("--play", help="Then play it on the simulated robot (kernel).")] = False,
    robot: Annotated[str | None, typer.Option(help="Robot profile (default: from config).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Whole-body retargeting: a human skeleton (BVH) → the robot's arms, waist and head."""
    from dynamical.launch import load_description, load_world
    from dynamical.teleop.bvh import BvhError
    from dynamical.teleop.retarget_file import retarget_bvh, save_motion

    settings = settings_of(ctx)
    description = load_description(settings, robot)
    try:
        times, q, result = retarget_bvh(description, source, scale, up)
    except (BvhError, KeyError) as exc:
        raise ValueError(f"{source}: {exc}") from None
    save_motion(out, description, times, q)
    result.out = str(out)
    print_result(result, as_json, "retarget")
    if play:
        from dynamical.agent.lockstep_agent import LockstepRobotAgent
        from dynamical.agent.teleop_control import play_motion
        from dynamical.teleop.motion_skill import MotionSkill

        world = load_world(settings, robot)
        if world is None:
            raise ValueError("--play needs a world to simulate")
        agent = LockstepRobotAgent(description.name, description, world, settings.safety, seed=settings.sim.seed)
        agent.start()
        try:
            skill = MotionSkill(times, q)
            report = play_motion(agent, skill, skill.duration_s + 5.0)
        finally:
            agent.stop()
        err_console.print(f"played: {report.status}, {report.interventions} kernel interventions, {report.steps} ticks")
