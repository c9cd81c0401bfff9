"""``/api/v1/datasets``: the LeRobot datasets recorded on the server's machine (read only).

Datasets live in ``<data_dir>/datasets/<name>`` (``dynamical record`` and recordings of executions
put them there). A name is one plain directory name: anything that could reach outside that
directory is refused (400), an unknown name is 404. Reading uses pyarrow, not LeRobot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from dynamical.api.auth import Reader
from dynamical.api.deps import Settings
from dynamical.api.errors import NotFoundError
from dynamical.api.settings import ApiSettings
from dynamical.learning import datasets as store

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
DATASETS_DIR = "datasets"
DatasetName = Annotated[
    str, PathParam(min_length=1, max_length=128, description="a dataset's directory name (letters, digits, . _ -)")
]
NOT_FOUND = {404: {"description": "no such dataset"}, 400: {"description": "not a plain dataset name"}}


def datasets_root(settings: ApiSettings) -> Path:
    return settings.data_dir / DATASETS_DIR


def _path(settings: ApiSettings, name: str) -> Path:
    try:
        return store.resolve(datasets_root(settings), name)
    except store.UnknownDatasetError as exc:
        raise NotFoundError(str(exc)) from None
    except store.DatasetError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None


async def _read(func, *args):  # type: ignore[no-untyped-def]
    """Parquet reads off the event loop; a damaged dataset is a 422 naming the file."""
    try:
        return await run_in_threadpool(func, *args)
    except store.UnknownDatasetError as exc:
        raise NotFoundError(str(exc)) from None
    except store.DatasetError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except OSError as exc:  # a parquet or video file missing or unreadable
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"dataset unreadable: {exc}") from None


@router.get("", response_model=list[store.DatasetSummary])
async def list_datasets(_: Reader, settings: Settings) -> list[store.DatasetSummary]:
    """Every dataset under the data directory's ``datasets/``, by name."""
    return await _read(store.list_datasets, datasets_root(settings))


@router.get("/{name}", response_model=store.DatasetInfo, responses=NOT_FOUND)
async def get_dataset(name: DatasetName, _: Reader, settings: Settings) -> store.DatasetInfo:
    """A dataset's features (dtype, shape, names), episodes, tasks and recording settings."""
    return await _read(store.info, _path(settings, name))


@router.get("/{name}/episodes", response_model=list[store.EpisodeSummary], responses=NOT_FOUND)
async def list_episodes(
    name: DatasetName,
    _: Reader,
    settings: Settings,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[store.EpisodeSummary]:
    """Episodes in index order: length, task, success, seed and each camera's video time range."""
    found = await _read(store.episodes, _path(settings, name))
    return found[offset : offset + limit]


@router.get("/{name}/episodes/{index}", response_model=store.EpisodeSummary, responses=NOT_FOUND)
async def get_episode(
    name: DatasetName, index: Annotated[int, PathParam(ge=0, le=10_000_000)], _: Reader, settings: Settings
) -> store.EpisodeSummary:
    return await _read(store.episode, _path(settings, name), index)


@router.get("/{name}/episodes/{index}/frames", responses=NOT_FOUND)
async def get_episode_frames(
    name: DatasetName, index: Annotated[int, PathParam(ge=0, le=10_000_000)], _: Reader, settings: Settings
) -> dict[str, list[list[float]] | list[float]]:
    """The episode's state, environment state and action per frame (the dashboard's joint plots):
    feature name → rows, and ``timestamp`` (s)."""
    data = await _read(store.frames, _path(settings, name), index)
    return {key: value.tolist() for key, value in data.items()}


@router.get(
    "/{name}/episodes/{index}/video/{camera}",
    response_class=FileResponse,
    responses={**NOT_FOUND, 200: {"content": {"video/mp4": {}}, "description": "the episode's camera, H.264"}},
)
async def get_episode_video(
    name: DatasetName,
    index: Annotated[int, PathParam(ge=0, le=10_000_000)],
    camera: Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_]{1,64}$")],
    _: Reader,
    settings: Settings,
) -> FileResponse:
    """One camera of one episode as an H.264 MP4 a browser plays (cut once, then cached)."""
    path = _path(settings, name)
    cached = path / "meta" / "dynamical_previews" / f"episode_{index:06d}_{camera}.mp4"
    if not cached.is_file():
        await _read(store.write_episode_video, path, index, cached, [camera])
    return FileResponse(cached, media_type="video/mp4")


@router.get("/{name}/stats", response_model=list[store.FeatureStats], responses=NOT_FOUND)
async def get_stats(name: DatasetName, _: Reader, settings: Settings) -> list[store.FeatureStats]:
    """Per-feature mean, std, min and max over the dataset (what a policy normalises with)."""
    return await _read(store.stats, _path(settings, name))
