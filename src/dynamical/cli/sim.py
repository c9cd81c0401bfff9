"""`dynamical sim …` and `dynamical robot info`: run and look at the simulated robot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.live import Live
from rich.table import Table

from dynamical.cli.common import (
    console,
    robot_app,
    settings_of,
    sim_app,
    user_errors,
)
from dynamical.config import Settings


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

    settings = settings_of(ctx)
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

    settings = settings_of(ctx)
    sim = _make_sim(settings, seed=seed)
    sim.step(round(seconds / sim.timestep))
    frame = sim.read_camera(camera, width=width, height=height, depth=depth_out is not None)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(frame.rgb).save(out)
    if depth_out is not None and frame.depth is not None:
        millimetres = np.clip(frame.depth * 1000.0, 0, 65535).astype(np.uint16)
        Image.fromarray(millimetres).save(depth_out)
    console.print(f"wrote {out} ({width}x{height}, camera {camera!r}, t={frame.t:.3f} s)")


@robot_app.command("info")
@user_errors
def robot_info(
    ctx: typer.Context,
    robot: Annotated[str | None, typer.Option(help="Profile name or YAML path (default: from config).")] = None,
) -> None:
    """Joints, groups and limits of a robot profile."""
    from dynamical.launch import load_description

    desc = load_description(settings_of(ctx), robot)
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
