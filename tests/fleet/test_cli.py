"""`dynamical fl run` and `dynamical bench fleet` refuse bad input with one line and exit 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dynamical.cli import app


def test_bad_fleet_options_are_one_line_and_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = {
        ("fl", "run", "--aggregation", "none", "--dataset", str(empty), "--dataset", str(empty)): "allow_plaintext",
        ("fl", "run", "--engine", "warp"): "--engine",
        ("fl", "run", "--dataset", str(empty), "--dataset", str(empty)): "cannot read demonstrations",
        ("fl", "run", "--dataset", str(empty)): "at least two",
        ("bench", "fleet", "--dataset", str(empty), "--dataset", str(empty)): "cannot read demonstrations",
    }
    for args, message in cases.items():
        result = runner.invoke(app, list(args))
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
        assert len([line for line in result.output.splitlines() if line.strip()]) == 1, result.output
