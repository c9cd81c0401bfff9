"""A stand-in executive, run as its own process by test_processes: starts the realtime process,
writes its channel names and the realtime pid to a file, then streams the demo motion forever."""

import json
import sys
import time

from dynamical.config import load_settings
from dynamical.launch import realtime_process
from dynamical.robot.demo_motion import demo_targets
from dynamical.robot.description import RobotDescription


def main(out_path: str) -> None:
    settings = load_settings()
    process = realtime_process(settings)
    link = process.start()
    description = RobotDescription.load(settings.robot)
    with open(out_path + ".tmp", "w") as f:
        json.dump({"names": process.names.model_dump(), "pid": process.process.pid}, f)
    import os

    os.replace(out_path + ".tmp", out_path)
    start = time.monotonic()
    while True:
        link.send(demo_targets(description, time.monotonic() - start))
        time.sleep(0.005)


if __name__ == "__main__":
    main(sys.argv[1])
