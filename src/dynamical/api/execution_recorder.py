"""Keeps each execution's motion on the server (``observability.recording``): the robot's state
reports and safety events from the telemetry stream, its step progress (with planned phases) from
the agent hub, saved when the result comes. Export and root-cause analysis read them back.

It listens beside the dashboards (one more telemetry subscriber, a bounded queue that drops the
oldest state when it falls behind): recording never slows the link down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from dynamical.observability.recording import (
    EventSample,
    ExecutionRecording,
    StateSample,
    StepSample,
    save_recording,
)

log = logging.getLogger(__name__)


class ExecutionRecorder:
    def __init__(self, hub: Any, data_dir: Path) -> None:
        self.hub = hub
        self.data_dir = data_dir
        self.open: dict[str, ExecutionRecording] = {}
        """robot_id → the recording of the execution it runs."""
        self.saved = 0

    def robot_time(self, robot_id: str) -> float:
        """The robot's clock now, s: its last state's time plus the age of that state."""
        connection = self.hub.connections.get(robot_id)
        if connection is None or connection.state is None or connection.state_received is None:
            return float("nan")
        return connection.state.t + (time.monotonic() - connection.state_received)

    def on_progress(self, robot_id: str, report: Any) -> None:
        recording = self.open.get(robot_id)
        if recording is None or recording.request_id != report.request_id:
            recording = self.open[robot_id] = ExecutionRecording(request_id=report.request_id, robot_id=robot_id)
        progress = report.progress
        phases = []
        if progress.planned is not None:
            phases = [p.model_dump(mode="json") for p in progress.planned.phases]
        recording.steps.append(
            StepSample(
                t=self.robot_time(robot_id),
                step_id=progress.step_id,
                skill_id=progress.skill_id,
                status=progress.status,
                failure=progress.outcome.failure if progress.outcome is not None else None,
                phases=phases,
            )
        )

    async def on_result(self, robot_id: str, result: Any) -> None:
        recording = self.open.get(robot_id)
        if recording is None or recording.request_id != result.request_id:
            return
        del self.open[robot_id]
        try:
            await run_in_threadpool(save_recording, self.data_dir, recording)
            self.saved += 1
        except Exception:  # the execution's result is stored apart; its recording is a bonus
            log.exception("could not save the recording of execution %s", recording.request_id)

    def on_telemetry(self, message: dict[str, Any]) -> None:
        recording = self.open.get(str(message.get("robot_id")))
        if recording is None:
            return
        kind = message.get("type")
        if kind == "state":
            state = message["state"]
            if not recording.joint_names:
                recording.joint_names = list(state.get("joint_names") or [])
            safety = state.get("safety") or {}
            objects = {
                o["name"]: [*o["pos"], *o["quat"]] for o in state.get("objects") or [] if o.get("pos") and o.get("quat")
            }
            recording.add(
                StateSample(t=state["t"], q=state["q"], dq=state["dq"], objects=objects, safety_mode=safety.get("mode"))
            )
        elif kind == "safety_event":
            recording.events.append(
                EventSample(
                    t=message["t"],
                    rule=message.get("rule_name") or str(message.get("rule")),
                    joint=message.get("joint_name"),
                    zone=message.get("zone_name"),
                    point=message.get("point_name"),
                    value=message.get("value"),
                    limit=message.get("limit"),
                )
            )


@contextlib.asynccontextmanager
async def recording(app: FastAPI) -> AsyncIterator[ExecutionRecorder | None]:
    """Record while the server runs (nothing without an agent hub and its telemetry)."""
    hub = app.state.agent_hub
    telemetry = getattr(app.state, "telemetry", None)
    if hub is None or telemetry is None or not hasattr(hub, "progress_listeners"):
        yield None
        return
    recorder = ExecutionRecorder(hub, app.state.settings.data_dir)
    app.state.recorder = recorder
    hub.progress_listeners.append(recorder.on_progress)
    hub.result_listeners.append(recorder.on_result)
    queue = telemetry.subscribe()

    async def listen() -> None:
        while True:
            message = await queue.get()
            try:
                recorder.on_telemetry(message)
            except Exception:  # one malformed message must not end the recording of the rest
                log.exception("could not record a %s message", message.get("type"))

    task = asyncio.create_task(listen(), name="execution-recorder")
    try:
        yield recorder
    finally:
        task.cancel()
        telemetry.unsubscribe(queue)
        with contextlib.suppress(asyncio.CancelledError):
            await task
