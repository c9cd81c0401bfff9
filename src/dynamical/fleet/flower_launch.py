"""Run a fleet job in Flower's simulation engine, from the runtime environment.

Writes the job directory (``job``), seals a fresh fleet key to each robot's own key pair (the
admin's step), starts ``.venv-fleet/bin/python -m dynamical.fleet.flower_app JOB`` at low
priority and reads back ``rounds.jsonl``. Flower cannot share the runtime's environment (protobuf
pins), hence the process boundary.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from dynamical.fleet.bfv import BfvSecret
from dynamical.fleet.config import FleetConfig
from dynamical.fleet.demonstrations import Demonstrations
from dynamical.fleet.errors import FleetError
from dynamical.fleet.job import FleetJob, RobotSpec, save_demos, save_policy
from dynamical.fleet.keys import RobotKeyPair, seal_for
from dynamical.fleet.model import FleetPolicy

FLEET_VENV = ".venv-fleet"


def fleet_python() -> Path:
    """The fleet environment's interpreter (``make fleet`` builds it); FleetError if missing."""
    override = os.environ.get("DYNAMICAL_FLEET_PYTHON")
    if override:
        return Path(override)
    root = Path(__file__).resolve().parents[3]
    python = root / FLEET_VENV / "bin" / "python"
    if not python.exists():
        raise FleetError(f"the fleet environment is missing ({python}): run `make fleet`")
    return python


def write_job(
    root: Path, policy: FleetPolicy, sites: list[Demonstrations], config: FleetConfig, rounds: int, seed: int = 0
) -> FleetJob:
    root.mkdir(parents=True, exist_ok=True)
    save_policy(policy, root)
    admin = BfvSecret()
    robots = []
    for i, demos in enumerate(sites):
        robot_id = f"robot-{i}"
        home = root / robot_id
        home.mkdir(exist_ok=True)
        save_demos(demos, home / "demos.npz")
        pair = RobotKeyPair.load_or_create(home / "identity.key")
        sealed = seal_for(robot_id, pair.public_text, admin.secret_key_bytes(), admin.key_id, 1)
        (home / "sealed_key.json").write_text(sealed.model_dump_json())
        robots.append(RobotSpec(robot_id=robot_id, dir=str(home)))
    job = FleetJob(
        root=root,
        config=config,
        rounds=rounds,
        key_id=admin.key_id,
        values=policy.expert_size + 1,
        min_participants=min(2, len(sites)),
        seed=seed,
        robots=robots,
    )
    job.save()
    return job


def run_simulation(job: FleetJob, timeout_s: float = 3600.0) -> list[dict]:  # type: ignore[type-arg]
    env = dict(
        os.environ,
        FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION="1",
        OMP_NUM_THREADS="1",
        FLWR_HOME=str(job.root / "flwr-home"),
        RAY_USAGE_STATS_ENABLED="0",
        # On a loaded 2-core machine Ray's agents took longer to start than the raylet waits by default,
        # and the raylet aborted ("Timed out waiting for file …metrics_agent_port"), leaving Flower waiting.
        RAY_agent_register_timeout_ms="600000",
        RAY_raylet_start_wait_time_s="600",
    )
    env.pop("PYTHONPATH", None)
    # Its own session, so that Ray's daemons (GCS, raylet, agents) go with it on timeout or failure.
    process = subprocess.Popen(
        ["nice", "-n", "10", str(fleet_python()), "-m", "dynamical.fleet.flower_app", str(job.root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        stdout, stderr = "", f"no result within {timeout_s:.0f} s"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    # Flower and Ray log to stderr; kept with the job for whoever reads a failed or short run.
    (job.root / "flower.log").write_text(f"{stdout}\n--- stderr ---\n{stderr}")
    if process.returncode != 0:
        tail = (stderr or stdout).strip().splitlines()[-5:]
        raise FleetError(f"the Flower simulation failed ({process.returncode}): {' | '.join(tail)}")
    return job.rounds_done()
