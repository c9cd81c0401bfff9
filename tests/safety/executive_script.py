"""A stand-in executive, run as its own process by test_processes: starts the realtime process,
writes its channel names and the realtime pid to a file, then streams the demo motion forever
through the skill executor (trajectory segments with their lookahead, as every executive does)."""

import json
import sys
import time

from dynamical.bench.loop import DemoMotion
from dynamical.config import load_settings
from dynamical.launch import realtime_process
from dynamical.robot.description import RobotDescription
from dynamical.runtime.clock import RealtimeClock
from dynamical.skills.executor import Executor


def main(out_path: str) -> None:
    settings = load_settings()
    process = realtime_process(settings)
    link = process.start()
    description = RobotDescription.load(settings.robot)
    with open(out_path + ".tmp", "w") as f:
        json.dump({"names": process.names.model_dump(), "pid": process.process.pid}, f)
    import os

    os.replace(out_path + ".tmp", out_path)
    clock = RealtimeClock(0.005, realtime=False)
    executor = Executor(link, description, clock.period)
    executor.run(DemoMotion(description), timeout_s=3600.0)
    while True:
        clock.wait_next()
        executor.tick(time.monotonic())


if __name__ == "__main__":
    main(sys.argv[1])
