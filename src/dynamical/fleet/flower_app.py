"""Flower ServerApp and ClientApp of fleet learning (run in the fleet environment, ``.venv-fleet``).

Flower 1.42 pins protobuf < 7 while the runtime's OpenTelemetry needs protobuf 7, so Flower lives
in its own environment (``make fleet``) and this module is its entry point; what crosses is files
(the job directory) and Flower messages, never pickles. The same apps run in Flower's simulation
engine (``python -m dynamical.fleet.flower_app JOB``: one SuperNode per robot, Ray) and in the
deployment engine (``flower-superlink`` + one ``flower-supernode`` per robot).

Round r: the ServerApp sends every node the previous round's *encrypted* sum (uint8 ArrayRecord);
each ClientApp (a robot) decrypts it with the fleet key it opened from its sealed bundle, updates
its copy of the global expert, fine-tunes with DP-SGD (its ledger on its own disk), and replies
with its seeded BFV ciphertexts, or a decline. The ServerApp sums with ``RoundCollector`` (no
secret key) and appends the round's report to ``rounds.jsonl``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

from dynamical.fleet.job import FleetJob, load_robot, save_expert

JOB_ENV = "DYNAMICAL_FLEET_JOB"
client = ClientApp()
server = ServerApp()


def _job() -> FleetJob:
    return FleetJob.load(Path(os.environ[JOB_ENV]))


def _bytes_record(data: bytes) -> ArrayRecord:
    return ArrayRecord([np.frombuffer(data, dtype=np.uint8).copy()])


def _record_bytes(record: ArrayRecord) -> bytes:
    return bytes(next(iter(record.to_numpy_ndarrays())).astype(np.uint8).tobytes())


@client.train()
def train(msg: Message, context: Context) -> Message:
    job = _job()
    robot = load_robot(job, int(context.node_config["partition-id"]))
    cfg = msg.content["config"]
    round_ = int(cfg["round"])
    expert = robot.global_expert()
    if int(cfg["contributors"]) > 0:
        expert = robot.fleet.apply_round(expert, _record_bytes(msg.content["aggregate"]), int(cfg["contributors"]))
        save_expert(robot.expert_path, expert)
    sent = robot.fleet.train(expert, round_)
    if not hasattr(sent, "payload"):
        reply = RecordDict(
            {
                "status": ConfigRecord(
                    {"robot_id": robot.fleet.robot_id, "declined": sent.reason, "epsilon": float(sent.epsilon)}
                )
            }
        )
        return Message(content=reply, reply_to=msg)
    reply = RecordDict(
        {
            "update": _bytes_record(sent.payload),
            "status": ConfigRecord(
                {
                    "robot_id": sent.robot_id,
                    "key_id": sent.key_id,
                    "values": sent.values,
                    "epsilon": float(sent.result.epsilon),
                }
            ),
            "metrics": MetricRecord({"loss": float(sent.result.loss), "examples": sent.result.examples}),
        }
    )
    return Message(content=reply, reply_to=msg)


@server.main()
def main(grid: Grid, context: Context) -> None:
    job = _job()
    try:
        _rounds(grid, job)
    except Exception as exc:
        # Flower logs a ServerApp's exception and may still exit 0: the job's record says it too.
        job.append_round({"stopped": f"{type(exc).__name__}: {exc}"})
        raise


def _rounds(grid: Grid, job: FleetJob) -> None:
    from dynamical.fleet.aggregator import RoundCollector

    registered = {r.robot_id for r in job.robots}
    aggregate = b""
    contributors = 0
    for round_ in range(1, job.rounds + 1):
        nodes = list(grid.get_node_ids())
        messages = []
        for node in nodes:
            content = RecordDict({"config": ConfigRecord({"round": round_, "contributors": contributors})})
            if contributors:
                content["aggregate"] = _bytes_record(aggregate)
            messages.append(Message(content=content, message_type="train", dst_node_id=node, group_id=str(round_)))
        collector = RoundCollector(
            round_, job.key_id, job.values, job.config, registered, min_participants=job.min_participants
        )
        declined: dict[str, str] = {}
        epsilon: dict[str, float] = {}
        losses = []
        for reply in grid.send_and_receive(messages, timeout=job.round_timeout_s):
            if reply.has_error():
                continue  # a robot that failed or dropped out is not in the sum
            status = reply.content["status"]
            robot_id = str(status["robot_id"])
            epsilon[robot_id] = float(status["epsilon"])
            if "declined" in status:
                declined[robot_id] = str(status["declined"])
                continue
            try:
                collector.submit(
                    robot_id,
                    round_,
                    str(status["key_id"]),
                    int(status["values"]),
                    _record_bytes(reply.content["update"]),
                )
            except ValueError as exc:
                declined[robot_id] = f"rejected: {exc}"
                continue
            losses.append(float(reply.content["metrics"]["loss"]))
        if len(collector.received) < collector.min_participants:
            job.append_round({"round": round_, "stopped": "too few updates", "declined": declined, "epsilon": epsilon})
            break
        closed = collector.close()
        aggregate, contributors = closed.payload, len(closed.contributors)
        (job.root / f"round-{round_}.bin").write_bytes(aggregate)
        job.append_round(
            {
                "round": round_,
                "participants": closed.contributors,
                "declined": declined,
                "epsilon": epsilon,
                "bytes_up": closed.bytes_up,
                "bytes_down": closed.bytes_down,
                "aggregation_s": closed.aggregation_s,
                "local_loss": float(np.mean(losses)),
                "time": time.time(),
            }
        )


def run(job_dir: Path) -> None:
    """The simulation engine: one SuperNode per robot of the job, on this machine."""
    from flwr.simulation import run_simulation

    os.environ[JOB_ENV] = str(job_dir)
    os.environ.setdefault("FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION", "1")
    job = FleetJob.load(job_dir)
    run_simulation(
        server_app=server,
        client_app=client,
        num_supernodes=len(job.robots),
        backend_config={
            "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
            "init_args": {"num_cpus": 2, "include_dashboard": False},
        },
    )


if __name__ == "__main__":
    run(Path(sys.argv[1]))
    print(json.dumps({"event": "done"}))
