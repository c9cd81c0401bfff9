"""``/api/v1/datasets``: recorded datasets listed and read over the API; bad names refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dynamical.api.settings import ApiSettings
from dynamical.learning import protocol
from tests.api.conftest import auth
from tests.learning.recorded import EPISODES, FPS, recorded_dataset

NAME = "looks"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # datasets are files: no database table, one backend is enough


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory):
    return recorded_dataset(tmp_path_factory)


@pytest.fixture
def datasets(api_settings: ApiSettings, recorded) -> Path:
    root = api_settings.data_dir / "datasets"
    shutil.copytree(recorded.dataset, root / NAME)
    return root


@pytest.mark.slow
def test_datasets_listed_and_read(client: TestClient, keys: dict[str, str], datasets: Path) -> None:
    read = auth(keys["read"])
    listed = client.get("/api/v1/datasets", headers=read)
    assert listed.status_code == 200, listed.text
    (summary,) = listed.json()
    assert summary["name"] == NAME and summary["episodes"] == EPISODES and summary["fps"] == FPS
    assert summary["cameras"] == ["head", "front"] and summary["successes"] == EPISODES
    assert summary["tasks"] == ["look at the red cup"]

    info = client.get(f"/api/v1/datasets/{NAME}", headers=read).json()
    features = {f["name"]: f for f in info["features"]}
    n = len(info["joint_names"])
    assert features[protocol.STATE]["shape"] == [2 * n] and features[protocol.ACTION]["shape"] == [n]
    assert features[protocol.ACTION]["names"] == info["joint_names"]
    assert info["object_names"] == ["red_cube", "green_cube", "blue_cube", "red_cup"]

    episodes = client.get(f"/api/v1/datasets/{NAME}/episodes", headers=read).json()
    assert [e["episode_index"] for e in episodes] == list(range(EPISODES))
    assert sum(e["length"] for e in episodes) == summary["frames"]
    assert all(e["success"] for e in episodes) and len({e["seed"] for e in episodes}) == EPISODES
    for e in episodes:
        assert {v["camera"] for v in e["videos"]} == {"head", "front"}
        assert all(v["to_s"] > v["from_s"] for v in e["videos"])
    page = client.get(f"/api/v1/datasets/{NAME}/episodes?offset=1&limit=1", headers=read).json()
    assert [e["episode_index"] for e in page] == [1]

    frames = client.get(f"/api/v1/datasets/{NAME}/episodes/1/frames", headers=read).json()
    assert len(frames[protocol.ACTION]) == len(frames["timestamp"]) == episodes[1]["length"]
    assert len(frames[protocol.STATE][0]) == 2 * n

    stats = {s["feature"]: s for s in client.get(f"/api/v1/datasets/{NAME}/stats", headers=read).json()}
    assert set(stats) == {protocol.STATE, protocol.ENVIRONMENT_STATE, protocol.ACTION}
    action = stats[protocol.ACTION]
    assert len(action["mean"]) == n and all(lo <= hi for lo, hi in zip(action["min"], action["max"], strict=True))

    video = client.get(f"/api/v1/datasets/{NAME}/episodes/0/video/head", headers=read)
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp" and len(video.content) > 1000


@pytest.mark.slow
def test_bad_dataset_requests_are_refused(
    client: TestClient, keys: dict[str, str], datasets: Path, tmp_path: Path
) -> None:
    read = auth(keys["read"])
    assert client.get("/api/v1/datasets").status_code == 401
    for url in (
        "/api/v1/datasets/nope",
        f"/api/v1/datasets/{NAME}/episodes/99",
        f"/api/v1/datasets/{NAME}/episodes/99/frames",
        f"/api/v1/datasets/{NAME}/episodes/0/video/side",
    ):
        answer = client.get(url, headers=read)
        assert answer.status_code == 404, (url, answer.text)
        assert answer.json()["detail"]
    # The client already resolves a literal ".." in the path (the request never names a dataset).
    assert client.get("/api/v1/datasets/..", headers=read).status_code == 404
    for name in ("%2E%2E", ".hidden", "a%20b", "..."):
        answer = client.get(f"/api/v1/datasets/{name}", headers=read)
        assert answer.status_code == 400, (name, answer.text)
        assert "dataset name" in answer.json()["detail"]
    assert client.get("/api/v1/datasets/" + "x" * 200, headers=read).status_code == 422
    # A link out of the datasets directory is not followed, even to a real dataset.
    outside = tmp_path / "outside"
    shutil.copytree(datasets / NAME, outside)
    (datasets / "escape").symlink_to(outside)
    assert client.get("/api/v1/datasets/escape", headers=read).status_code == 400
    # A damaged dataset: a clear 422 for it, the others still listed.
    shutil.copytree(datasets / NAME, datasets / "broken")
    (datasets / "broken" / "meta" / "info.json").write_text("{not json")
    damaged = client.get("/api/v1/datasets/broken", headers=read)
    assert damaged.status_code == 422 and "info.json" in damaged.json()["detail"]
    assert [d["name"] for d in client.get("/api/v1/datasets", headers=read).json()] == [NAME]
    json.loads((datasets / NAME / "meta" / "info.json").read_text())  # untouched
