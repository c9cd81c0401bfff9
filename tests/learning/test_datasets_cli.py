"""`dynamical datasets list | info | show`: a recorded dataset from the command line; bad input is
one line on stderr and exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dynamical.cli import app
from tests.learning.recorded import EPISODES, recorded_dataset


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    recorded = recorded_dataset(tmp_path_factory)
    root = tmp_path_factory.mktemp("cli-data")
    shutil.copytree(recorded.dataset, root / "datasets" / "looks")
    return root


@pytest.mark.slow
def test_datasets_list_info_show(data_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["datasets", "list", "--data-dir", str(data_dir), "--json"])
    assert listed.exit_code == 0, listed.output
    assert [d["name"] for d in json.loads(listed.output)] == ["looks"]
    info = runner.invoke(app, ["datasets", "info", "looks", "--data-dir", str(data_dir), "--json"])
    assert info.exit_code == 0, info.output
    assert json.loads(info.output)["episodes"] == EPISODES
    table = runner.invoke(app, ["datasets", "info", str(data_dir / "datasets" / "looks")])
    assert table.exit_code == 0 and "observation.state" in table.output
    video = tmp_path / "episode.mp4"
    shown = runner.invoke(app, ["datasets", "show", "looks", "1", "--data-dir", str(data_dir), "--video", str(video)])
    assert shown.exit_code == 0, shown.output
    assert "head_pan" in shown.output  # the joint the look moved, in the action table
    assert video.read_bytes()[4:8] == b"ftyp"


@pytest.mark.slow
def test_datasets_bad_input(data_dir: Path) -> None:
    runner = CliRunner()
    for args, needle in (
        (["datasets", "show", "looks", "99"], "no episode 99"),
        (["datasets", "info", "nope"], "no dataset 'nope'"),
        (["datasets", "info", "../etc"], "not a LeRobot dataset"),
        (["datasets", "info", "a b"], "invalid dataset name"),
    ):
        result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
        assert result.exit_code == 2, (args, result.output)
        assert needle in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
