"""Reading recorded LeRobotDataset v3 directories on the runtime side, without LeRobot.

A v3 dataset is JSON (``meta/info.json``, ``meta/stats.json``), parquet (``meta/episodes/…``,
``meta/tasks.parquet``, ``data/…``) and MP4 (``videos/<camera>/…``, several episodes a file, each
at its own time range); ``meta/dynamical.json`` adds what the recorder knows (success, seed,
skill). This module reads them with pyarrow for the CLI (``dynamical datasets``) and the API
(``/api/v1/datasets``); videos are cut with the ffmpeg binary ``imageio-ffmpeg`` ships.

Names are directory names under a datasets root: ``resolve`` refuses anything that could leave it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from dynamical.learning import protocol

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
INFO_FILE = "meta/info.json"
STATS_FILE = "meta/stats.json"
EPISODES_DIR = "meta/episodes"
VIDEO_TIMEOUT_S = 300.0
INDEX_FEATURES = ("timestamp", "frame_index", "episode_index", "index", "task_index")
"""Features LeRobot adds to every dataset: bookkeeping, not data."""


class DatasetError(ValueError):
    """A dataset name or file that cannot be read; the message says which and why."""


class UnknownDatasetError(DatasetError):
    """No dataset by that name (or episode by that index)."""


class FeatureInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    dtype: str
    shape: list[int]
    names: list[str] | None = None


class DatasetSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    codebase_version: str
    robot: str | None
    skill: str | None
    fps: int
    episodes: int
    frames: int
    duration_s: float
    cameras: list[str]
    tasks: list[str]
    successes: int | None
    """Episodes the recorder marked successful (None for a dataset recorded elsewhere)."""
    size_bytes: int
    modified_at: datetime


class DatasetInfo(DatasetSummary):
    features: list[FeatureInfo]
    params: dict[str, Any] = {}
    randomization: dict[str, Any] = {}
    joint_names: list[str] = []
    object_names: list[str] = []


class EpisodeVideo(BaseModel):
    model_config = ConfigDict(frozen=True)

    camera: str
    file: str
    """Relative to the dataset's root."""
    from_s: float
    to_s: float


class EpisodeSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    episode_index: int
    length: int
    duration_s: float
    tasks: list[str]
    success: bool | None
    seed: int | None
    failure: str | None
    videos: list[EpisodeVideo]


class FeatureStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    feature: str
    names: list[str] | None
    mean: list[float]
    std: list[float]
    min: list[float]
    max: list[float]


def resolve(root: Path, name: str) -> Path:
    """The dataset ``name`` under ``root``. Raises DatasetError for a name that is not a plain
    directory name (a path, ``..``), UnknownDatasetError when there is no dataset by that name."""
    if not NAME_PATTERN.match(name) or name in (".", ".."):
        raise DatasetError(f"invalid dataset name {name!r}: letters, digits, '.', '_' and '-' only, no paths")
    base = root.resolve()
    path = (base / name).resolve()
    if path.parent != base:
        raise DatasetError(f"invalid dataset name {name!r}")
    if not (path / INFO_FILE).is_file():
        raise UnknownDatasetError(f"no dataset {name!r} in {root}")
    return path


def locate(root: Path, dataset: str) -> Path:
    """A dataset given by name under ``root`` or by a path to its directory (the CLI's argument)."""
    candidate = Path(dataset).expanduser()
    if (candidate / INFO_FILE).is_file():
        return candidate.resolve()
    if "/" in dataset or dataset.startswith("."):
        raise UnknownDatasetError(f"{dataset} is not a LeRobot dataset (no {INFO_FILE})")
    return resolve(root, dataset)


def list_datasets(root: Path) -> list[DatasetSummary]:
    """Every dataset directly under ``root`` (none when it does not exist), by name. A directory
    that is not a readable dataset is skipped."""
    if not root.is_dir():
        return []
    base = root.resolve()
    out = []
    for path in sorted(root.iterdir()):
        # Only what ``resolve`` would open: a link out of the root is not a dataset of it.
        if path.resolve().parent != base:
            continue
        if path.is_dir() and NAME_PATTERN.match(path.name) and (path / INFO_FILE).is_file():
            try:
                out.append(summary(path))
            except DatasetError:
                continue
    return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: unreadable ({exc})") from None
    if not isinstance(value, dict):
        raise DatasetError(f"{path}: not a JSON object")
    return value


def _info(path: Path) -> dict[str, Any]:
    info = _read_json(path / INFO_FILE)
    if "fps" not in info or "features" not in info:
        raise DatasetError(f"{path / INFO_FILE}: not a LeRobot dataset's info (no fps or features)")
    return info


def sidecar(path: Path) -> dict[str, Any]:
    """``meta/dynamical.json`` (empty for a dataset not recorded here)."""
    return _read_json(path / protocol.DATASET_SIDECAR)


def _tasks(path: Path) -> list[str]:
    file = path / "meta" / "tasks.parquet"
    if not file.is_file():
        return []
    import pyarrow.parquet as pq

    table = pq.read_table(file)
    column = "task" if "task" in table.column_names else (table.column_names[0] if table.column_names else None)
    if column is None or column == "task_index":
        # Some writers keep the text in the pandas index.
        frame = table.to_pandas()
        return [str(t) for t in frame.index]
    return [str(t) for t in table.column(column).to_pylist()]


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def summary(path: Path) -> DatasetSummary:
    return DatasetSummary(**_summary_fields(path, _info(path), sidecar(path)))


def _summary_fields(path: Path, info: dict[str, Any], side: dict[str, Any]) -> dict[str, Any]:
    fps = int(info["fps"])
    frames = int(info.get("total_frames", 0))
    recorded = side.get("episodes")
    return {
        "name": path.name,
        "codebase_version": str(info.get("codebase_version", "?")),
        "robot": side.get("robot") or info.get("robot_type"),
        "skill": side.get("skill"),
        "fps": fps,
        "episodes": int(info.get("total_episodes", 0)),
        "frames": frames,
        "duration_s": round(frames / fps, 3) if fps else 0.0,
        "cameras": [
            k.removeprefix(protocol.IMAGE_PREFIX) for k, v in info["features"].items() if v.get("dtype") == "video"
        ],
        "tasks": _tasks(path),
        "successes": sum(bool(e.get("success")) for e in recorded) if isinstance(recorded, list) else None,
        "size_bytes": _size(path),
        "modified_at": datetime.fromtimestamp((path / INFO_FILE).stat().st_mtime, tz=UTC),
    }


def info(path: Path) -> DatasetInfo:
    raw, side = _info(path), sidecar(path)
    features = [
        FeatureInfo(name=k, dtype=str(v.get("dtype")), shape=list(v.get("shape", [])), names=_names(v.get("names")))
        for k, v in raw["features"].items()
    ]
    return DatasetInfo(
        **_summary_fields(path, raw, side),
        features=features,
        params=side.get("params", {}),
        randomization=side.get("randomization", {}),
        joint_names=side.get("joint_names", []),
        object_names=side.get("object_names", []),
    )


def _names(names: Any) -> list[str] | None:
    if isinstance(names, list):
        return [str(n) for n in names]
    if isinstance(names, dict):  # LeRobot's older {"motors": [...]} form
        return [str(n) for values in names.values() for n in values]
    return None


def _episode_rows(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    files = sorted((path / EPISODES_DIR).glob("chunk-*/file-*.parquet"))
    rows: list[dict[str, Any]] = []
    for file in files:
        table = pq.read_table(file)
        keep = [c for c in table.column_names if not c.startswith("stats/")]
        rows.extend(table.select(keep).to_pylist())
    return sorted(rows, key=lambda r: int(r["episode_index"]))


def episodes(path: Path) -> list[EpisodeSummary]:
    raw = _info(path)
    fps = int(raw["fps"])
    video_keys = [k for k, v in raw["features"].items() if v.get("dtype") == "video"]
    template = str(raw.get("video_path", "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"))
    recorded = {int(e["episode_index"]): e for e in sidecar(path).get("episodes", []) if "episode_index" in e}
    out = []
    for row in _episode_rows(path):
        index = int(row["episode_index"])
        videos = []
        for key in video_keys:
            chunk, file_index = row.get(f"videos/{key}/chunk_index"), row.get(f"videos/{key}/file_index")
            if chunk is None or file_index is None:
                continue
            videos.append(
                EpisodeVideo(
                    camera=key.removeprefix(protocol.IMAGE_PREFIX),
                    file=template.format(video_key=key, chunk_index=int(chunk), file_index=int(file_index)),
                    from_s=float(row[f"videos/{key}/from_timestamp"]),
                    to_s=float(row[f"videos/{key}/to_timestamp"]),
                )
            )
        extra = recorded.get(index, {})
        length = int(row["length"])
        out.append(
            EpisodeSummary(
                episode_index=index,
                length=length,
                duration_s=round(length / fps, 3),
                tasks=[str(t) for t in row.get("tasks") or []],
                success=extra.get("success"),
                seed=extra.get("seed"),
                failure=extra.get("failure"),
                videos=videos,
            )
        )
    return out


def episode(path: Path, index: int) -> EpisodeSummary:
    for entry in episodes(path):
        if entry.episode_index == index:
            return entry
    raise UnknownDatasetError(f"dataset {path.name!r} has no episode {index}")


def stats(path: Path) -> list[FeatureStats]:
    """Per-feature mean, std, min and max over the whole dataset (LeRobot's ``meta/stats.json``);
    images are left out (their statistics are per channel, not per named value)."""
    raw, data = _info(path), _read_json(path / STATS_FILE)
    out = []
    for name, feature in raw["features"].items():
        values = data.get(name)
        if feature.get("dtype") == "video" or name in INDEX_FEATURES or not isinstance(values, dict):
            continue
        try:
            out.append(
                FeatureStats(
                    feature=name,
                    names=_names(feature.get("names")),
                    **{
                        k: np.asarray(values[k], dtype=float).reshape(-1).tolist()
                        for k in ("mean", "std", "min", "max")
                    },
                )
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise DatasetError(f"{path / STATS_FILE}: bad statistics for {name} ({exc})") from None
    return out


def frames(path: Path, index: int) -> dict[str, np.ndarray]:
    """The episode's non-image features: name → (T, d) float32 arrays, plus ``timestamp`` (T,)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    raw = _info(path)
    entry = next((r for r in _episode_rows(path) if int(r["episode_index"]) == index), None)
    if entry is None:
        raise UnknownDatasetError(f"dataset {path.name!r} has no episode {index}")
    template = str(raw.get("data_path", "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"))
    file = path / template.format(chunk_index=int(entry["data/chunk_index"]), file_index=int(entry["data/file_index"]))
    table = pq.read_table(file)
    table = table.filter(pc.equal(table.column("episode_index"), index))
    out: dict[str, np.ndarray] = {"timestamp": np.asarray(table.column("timestamp").to_pylist(), dtype=float)}
    for name, feature in raw["features"].items():
        if feature.get("dtype") in ("video", "image", "string") or name not in table.column_names:
            continue
        if name in INDEX_FEATURES:
            continue
        out[name] = np.asarray(table.column(name).to_pylist(), dtype=np.float32).reshape(table.num_rows, -1)
    return out


def write_episode_video(path: Path, index: int, out: Path, cameras: list[str] | None = None) -> Path:
    """An H.264 MP4 of the episode's camera videos side by side (or ``cameras`` only), at ``out``."""
    import imageio_ffmpeg

    entry = episode(path, index)
    chosen = [v for v in entry.videos if cameras is None or v.camera in cameras]
    if not chosen:
        have = [v.camera for v in entry.videos]
        raise UnknownDatasetError(
            f"episode {index} of {path.name!r} has no video of {cameras or 'any camera'} (it has {have})"
        )
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    for video in chosen:
        command += ["-ss", f"{video.from_s:.6f}", "-to", f"{video.to_s:.6f}", "-i", str(path / video.file)]
    if len(chosen) > 1:
        inputs = "".join(f"[{i}:v]" for i in range(len(chosen)))
        command += ["-filter_complex", f"{inputs}hstack=inputs={len(chosen)}[v]", "-map", "[v]"]
    # Written beside and renamed: a reader (two requests for one preview) never sees half a file.
    partial = out.with_name(f".{out.stem}.{os.getpid()}.{threading.get_ident()}.mp4")
    command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-an", str(partial)]
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=VIDEO_TIMEOUT_S)
        os.replace(partial, out)
    except subprocess.CalledProcessError as exc:
        raise DatasetError(f"ffmpeg could not cut episode {index}: {exc.stderr.strip()[-300:]}") from None
    finally:
        partial.unlink(missing_ok=True)
    return out
