"""The `dynamical` command: one module a group of commands, registered on one Typer app.

Imports of heavy packages stay inside the commands so that ``dynamical --help`` stays fast.
"""

from importlib import import_module

from dynamical.cli.common import app, bench_app, settings_of, user_errors
from dynamical.cli.platform import register as _register_platform

# Each module registers its commands when imported; this order is the order of `--help`.
for _module in ("sim", "tasks", "bench", "perception", "admin", "record", "train", "observe", "teleop", "fleet"):
    import_module(f"dynamical.cli.{_module}")
_register_platform(app, bench_app, settings_of, user_errors)

__all__ = ["app"]
