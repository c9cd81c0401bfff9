"""What every part of the `dynamical` command shares: the apps, consoles, settings, options and
error handling."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
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


def settings_of(ctx: typer.Context) -> Settings:
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


def print_result(result: BaseModel, as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), indent=2))
        return
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in result.model_dump().items():
        table.add_row(key, f"{value:,.6g}" if isinstance(value, float) else str(value))
    console.print(table)


def key_value(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--param takes KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


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
