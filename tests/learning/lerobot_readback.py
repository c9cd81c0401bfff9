"""Read a recorded dataset back with LeRobot's own ``LeRobotDataset`` (run in .venv-learn by the tests).

Usage: python lerobot_readback.py DATASET_DIR EXPECTED_DIR. EXPECTED_DIR holds ``episode_<k>.npz``,
the frames the recorder produced for episode k. Prints one JSON object: the dataset's features and
fps as LeRobot sees them, each episode's frame range, and the largest difference between what
LeRobot decodes and what was recorded (exact features; images as mean and max absolute error).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset


def main() -> None:
    root, expected_dir = Path(sys.argv[1]), Path(sys.argv[2])
    dataset = LeRobotDataset(f"local/{root.name}", root=root, video_backend="pyav", return_uint8=True)
    meta = dataset.meta
    episodes = []
    for row in meta.episodes:
        index = int(row["episode_index"])
        start, stop = int(row["dataset_from_index"]), int(row["dataset_to_index"])
        with np.load(expected_dir / f"episode_{index}.npz", allow_pickle=False) as npz:
            expected = {k: npz[k] for k in npz.files}
        exact: dict[str, float] = {}
        image_mean: dict[str, float] = {}
        image_max: dict[str, float] = {}
        episode_ids, frame_ids, tasks, timestamps = set(), [], set(), []
        for i in range(start, stop):
            item = dataset[i]
            k = int(item["frame_index"])
            frame_ids.append(k)
            episode_ids.add(int(item["episode_index"]))
            tasks.add(item["task"])
            timestamps.append(float(item["timestamp"]))
            for key, values in expected.items():
                got = item[key].numpy()
                if values.dtype == np.uint8:
                    got = np.transpose(got, (1, 2, 0)) if got.shape[0] == 3 else got
                    err = np.abs(got.astype(np.int16) - values[k].astype(np.int16))
                    image_mean[key] = max(image_mean.get(key, 0.0), float(err.mean()))
                    image_max[key] = max(image_max.get(key, 0.0), float(err.max()))
                else:
                    exact[key] = max(exact.get(key, 0.0), float(np.abs(got - values[k]).max()))
        episodes.append(
            {
                "episode_index": index,
                "from": start,
                "to": stop,
                "expected_frames": len(next(iter(expected.values()))),
                "episode_ids": sorted(episode_ids),
                "frame_ids_in_order": frame_ids == list(range(stop - start)),
                "tasks": sorted(tasks),
                "max_timestamp_step_error": float(np.abs(np.diff(timestamps) - 1.0 / meta.fps).max())
                if len(timestamps) > 1
                else 0.0,
                "exact_error": exact,
                "image_mean_error": image_mean,
                "image_max_error": image_max,
            }
        )
    print(
        json.dumps(
            {
                "fps": meta.fps,
                "total_episodes": meta.total_episodes,
                "total_frames": meta.total_frames,
                "len": len(dataset),
                "features": {k: {"dtype": v["dtype"], "shape": list(v["shape"])} for k, v in meta.features.items()},
                "video_keys": list(meta.video_keys),
                "episodes": episodes,
            }
        )
    )


if __name__ == "__main__":
    main()
