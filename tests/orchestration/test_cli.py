"""`dynamical plan` as a user runs it."""

import json
import subprocess
import sys

import pytest

# Each run loads MiniLM in a fresh process (~5-10 s).
pytestmark = pytest.mark.slow


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dynamical.cli", *args], capture_output=True, text=True, timeout=300)


def test_plan_json_is_the_seed_plan():
    out = run("plan", "pick up the red cube and place it on the shelf", "--json")
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert [(s["skill_id"], s["parameters"]) for s in plan["steps"]] == [
        ("grasp", {"obj": "red_cube"}),
        ("lift", {"obj": "red_cube", "height": 0.2}),
        ("place", {"obj": "red_cube", "surface": "shelf"}),
    ]
    assert out.stderr == ""


def test_plan_table_and_errors():
    table = run("plan", "hand the cup to your left hand")
    assert table.returncode == 0, table.stderr
    assert "handover" in table.stdout and "realtime" in table.stdout
    unknown = run("plan", "pick up the yellow cube")
    assert unknown.returncode == 2
    assert "error:" in unknown.stderr and "red_cube" in unknown.stderr and "Traceback" not in unknown.stderr
    strategy = run("plan", "wave", "--strategy", "fastest")
    assert strategy.returncode == 2 and "unknown strategy 'fastest'" in strategy.stderr
