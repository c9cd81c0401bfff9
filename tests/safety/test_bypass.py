"""Nothing reaches the driver except through the safety kernel."""

import ast
import inspect
from pathlib import Path

from pydantic import BaseModel

import dynamical
from dynamical.robot import Robot
from dynamical.runtime.link import ExecutiveLink
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.runtime.realtime_process import RealtimeProcess

SRC = Path(dynamical.__file__).parent
DRIVER_CALLS = {"write_command", "set_power"}
# The one place a command reaches a driver: the tier-0 node, with the kernel's output.
ALLOWED = {SRC / "runtime" / "node.py"}


def test_only_the_realtime_node_calls_the_driver():
    offenders = []
    for path in SRC.rglob("*.py"):
        if path in ALLOWED or path.is_relative_to(SRC / "robot"):
            continue  # robot/ defines the drivers themselves
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DRIVER_CALLS:
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []


def test_the_node_writes_only_the_kernels_output():
    source = inspect.getsource(__import__("dynamical.runtime.node", fromlist=["RealtimeNode"]).RealtimeNode.tick)
    assert "self._robot.write_command(out.command)" in source
    assert "out = self.kernel.tick(" in source


def _reachable_robots(obj, depth=0, seen=None) -> list[str]:
    """Public attributes, recursively, that are drivers or have a driver's write method."""
    seen = seen if seen is not None else set()
    if depth > 3 or id(obj) in seen:
        return []
    seen.add(id(obj))
    found = []
    if isinstance(obj, BaseModel):
        return []  # configuration data, no handles
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            value = getattr(obj, name)
        except Exception:
            continue
        if inspect.ismethod(value) or inspect.isfunction(value) or isinstance(value, type):
            continue
        if isinstance(value, Robot) or hasattr(value, "write_command"):
            found.append(name)
        elif hasattr(value, "__dict__") and type(value).__module__.startswith("dynamical"):
            found += [f"{name}.{inner}" for inner in _reachable_robots(value, depth + 1, seen)]
    return found


def test_no_public_attribute_of_the_runtime_leads_to_the_driver(humanoid, tabletop):
    from dynamical.safety.config import SafetyConfig

    with LockstepRuntime(humanoid, tabletop, SafetyConfig()) as rt:
        assert _reachable_robots(rt) == []
        assert _reachable_robots(rt.link) == []
    for cls in (ExecutiveLink, RealtimeProcess):
        public = [n for n in vars(cls) if not n.startswith("_")]
        assert not {"write_command", "set_power", "robot", "driver"} & set(public)
