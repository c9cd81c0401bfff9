"""Learn-side dataset writer: recorded episodes in, a LeRobotDataset v3 out (LeRobot's own writer).

Run by the recorder (``dynamical record``) as
``python -m dynamical.learning.lerobot_side.record_writer --root DIR --spec SPEC.json``.
SPEC.json holds ``repo_id``, ``fps``, ``robot_type``, ``features`` (LeRobot's features, shapes as
lists) and ``sidecar`` (the ``meta/dynamical.json`` object without its episodes).

It reads ``EpisodeCommand`` lines on stdin: each names a spool directory holding the episode's
arrays (``arrays.npz``: one array per feature, first axis time); it adds the frames, saves the
episode (video encoded here), records the episode in ``meta/dynamical.json``, deletes the spool and
answers ``{"event": "episode_saved", ...}``. ``{"command": "finish"}`` (or stdin closing)
finalizes the dataset and answers ``done``. Runs only in the learning environment.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from dynamical.learning import protocol


def _features(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {**value, "shape": tuple(value["shape"])} for name, value in spec.items()}


def _write_json(path: Path, value: dict[str, Any]) -> None:
    """Whole or not at all: a reader (the API) never sees a half-written sidecar."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(value, indent=1))
    os.replace(tmp, path)


class Writer:
    def __init__(self, root: Path, spec: dict[str, Any], channel: protocol.MessageChannel) -> None:
        import torch

        threads = os.environ.get(protocol.ENV_TORCH_THREADS)
        if threads:
            torch.set_num_threads(int(threads))
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        self.channel = channel
        self.features = _features(spec["features"])
        self.video_keys = [k for k, v in self.features.items() if v["dtype"] == "video"]
        self.dataset = LeRobotDataset.create(
            repo_id=spec["repo_id"],
            fps=int(spec["fps"]),
            features=self.features,
            root=root,
            robot_type=spec.get("robot_type"),
            use_videos=bool(self.video_keys),
            # Frames go to the encoder as they are added, not through PNG files on disk.
            streaming_encoding=bool(self.video_keys),
        )
        self.sidecar_path = root / protocol.DATASET_SIDECAR
        self.sidecar: dict[str, Any] = {**spec["sidecar"], "episodes": []}
        _write_json(self.sidecar_path, self.sidecar)
        self.frames = 0

    def episode(self, command: dict[str, Any]) -> None:
        spool = Path(command["spool"])
        t0 = time.monotonic()
        with np.load(spool / protocol.SPOOL_ARRAYS, allow_pickle=False) as arrays:
            data = {name: arrays[name] for name in self.features}
        length = int(command["frames"])
        for name, values in data.items():
            if values.shape[0] != length:
                raise ValueError(f"{spool}: {name} has {values.shape[0]} frames, the episode {length}")
        task = str(command["task"])
        for i in range(length):
            self.dataset.add_frame({name: data[name][i] for name in self.features} | {"task": task})
        index = self.dataset.meta.total_episodes
        self.dataset.save_episode()
        self.frames += length
        entry = {"episode_index": index, "frames": length, "success": bool(command["success"]), **command["meta"]}
        self.sidecar["episodes"].append(entry)
        _write_json(self.sidecar_path, self.sidecar)
        shutil.rmtree(spool, ignore_errors=True)
        self.channel.send(
            {
                "event": "episode_saved",
                "episode_index": index,
                "frames": length,
                "encode_s": round(time.monotonic() - t0, 3),
            }
        )

    def finish(self) -> None:
        self.dataset.finalize()
        self.channel.send(
            protocol.done(
                episodes=self.dataset.meta.total_episodes,
                frames=self.frames,
                root=str(self.dataset.root),
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--spec", type=Path, required=True)
    args = parser.parse_args(argv)
    channel = protocol.MessageChannel()
    try:
        spec = json.loads(args.spec.read_text())
        writer = Writer(args.root, spec, channel)
        channel.send(protocol.log("writer ready"))
        for command in channel.commands():
            if command.get("command") == "episode":
                writer.episode(command)
            elif command.get("command") == "finish":
                break
            else:
                raise ValueError(f"unknown command {command!r}")
        # Stdin closing without "finish" (the recorder interrupted) still leaves a valid dataset
        # of the episodes saved so far.
        writer.finish()
    except Exception as exc:  # one line for the recorder's user; the traceback stays on stderr
        import traceback

        traceback.print_exc(file=sys.stderr)
        channel.send(protocol.error(f"{type(exc).__name__}: {exc}"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
