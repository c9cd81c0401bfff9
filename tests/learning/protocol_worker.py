"""A learn-side worker for the launcher's tests: speaks the JSON-lines protocol, no LeRobot.

``python -m tests.learning.protocol_worker MODE``: ``report`` says what the OS gave it (scheduler,
niceness, thread variables) after a stray print on stdout; ``error`` sends an error; ``crash``
dies without a word; ``child`` starts a grandchild that sleeps and waits to be killed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from dynamical.learning import protocol


def main() -> None:
    mode = sys.argv[1]
    channel = protocol.MessageChannel()
    if mode == "report":
        print("a library printing to stdout")  # must not reach the protocol
        policy = os.sched_getscheduler(0)
        channel.send(protocol.progress(1, 2))
        channel.send(
            protocol.done(
                idle=policy == getattr(os, "SCHED_IDLE", -1),
                nice=os.nice(0),
                omp=os.environ.get("OMP_NUM_THREADS"),
                torch_threads=os.environ.get(protocol.ENV_TORCH_THREADS),
                echo=[c for c in channel.commands()],
            )
        )
    elif mode == "error":
        channel.send(protocol.error("the dataset has no action feature"))
    elif mode == "crash":
        print("Traceback: something broke", file=sys.stderr)
        sys.exit(3)
    elif mode == "child":
        child = subprocess.Popen(["sleep", "60"])
        channel.send(protocol.log(str(child.pid)))
        time.sleep(60)


if __name__ == "__main__":
    main()
