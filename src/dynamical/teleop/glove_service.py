"""The platform's gloves: one UDP receiver per glove in use, calibration runs, stored per-user
calibrations, and a glove bound to a robot's teleop session.

Framework-free (the API router wraps it). Calibrations are JSON files under
``<root>/<glove id>/<user>.json``: a user calibrates once per glove and is remembered.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from dynamical.drivers.dyglove import GloveSample
from dynamical.drivers.glove_receiver import GloveReceiver, GloveStats
from dynamical.robot.description import RobotDescription
from dynamical.teleop.glove_calibration import CalibrationRun, CalibrationStatus, GloveCalibration
from dynamical.teleop.glove_teleop import GloveTeleop
from dynamical.teleop.hand_retarget import HandRetargeter
from dynamical.teleop.inputs import TeleopInput

USER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class GloveUnavailableError(LookupError):
    """The glove cannot be used as asked (not registered as a UDP glove, not calibrated...)."""


class GloveStatus(BaseModel):
    glove_id: str
    side: Literal["left", "right"]
    listen: str = Field(description="host:port the receiver listens on (UDP)")
    stats: GloveStats
    calibrated_users: list[str]
    calibration: CalibrationStatus | None = Field(None, description="the last calibration run")
    bound_robot: str | None = Field(None, description="the robot whose teleop session the glove drives")
    bound_user: str | None = None
    retarget_ms_p50: float | None = Field(None, description="hand retargeting per sample while bound")
    hand_q: list[float] | None = Field(None, description="the robot hand's retargeted joints, rad (last sample)")
    glove_joints: list[float] | None = Field(None, description="the operator's calibrated hand angles, rad")


class _Glove:
    def __init__(self, glove_id: str, side: Literal["left", "right"], host: str, port: int) -> None:
        self.glove_id, self.side = glove_id, side
        self.receiver = GloveReceiver(host, port, on_sample=self._on_sample)
        self.listen = f"{host}:{self.receiver.port}"
        self.run: CalibrationRun | None = None
        self.bridge: GloveTeleop | None = None
        self.robot: str | None = None
        self.user: str | None = None
        self.human: np.ndarray | None = None

    def _on_sample(self, sample: GloveSample, received_at: float) -> None:
        run, bridge = self.run, self.bridge
        if run is not None:
            run.take(sample.joints, received_at)
        if bridge is not None:
            self.human = bridge.calibration.apply(sample.joints)
            bridge.on_sample(sample, received_at)


class GloveService:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._gloves: dict[str, _Glove] = {}

    def close(self) -> None:
        with self._lock:
            for glove in self._gloves.values():
                glove.receiver.close()
            self._gloves.clear()

    def open(self, glove_id: str, side: Literal["left", "right"], address: str) -> _Glove:
        """The glove's receiver, listening on ``address`` (host:port; port 0: any) from now on."""
        with self._lock:
            glove = self._gloves.get(glove_id)
            if glove is not None:
                return glove
            host, sep, port_text = address.rpartition(":")
            if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
                raise GloveUnavailableError(
                    f"glove {glove_id!r}: address {address!r} is not host:port; this server receives DYGlove over "
                    "UDP (a Bluetooth or USB glove needs a bridge that forwards its samples there)"
                )
            try:
                glove = _Glove(glove_id, side, host or "0.0.0.0", int(port_text))
            except OSError as exc:
                raise GloveUnavailableError(f"glove {glove_id!r}: cannot listen on {address}: {exc}") from None
            self._gloves[glove_id] = glove
            return glove

    def glove(self, glove_id: str) -> _Glove:
        glove = self._gloves.get(glove_id)
        if glove is None:
            raise GloveUnavailableError(f"glove {glove_id!r} is not open")
        return glove

    # ---- calibration ----

    def start_calibration(self, glove_id: str, user: str, settle_s: float, capture_s: float) -> CalibrationStatus:
        glove = self.glove(glove_id)
        self._check_user(user)
        glove.run = CalibrationRun(
            glove_id, user, glove.side, settle_s, capture_s, on_done=lambda c: self._save(c)
        )
        return glove.run.status()

    def calibration_status(self, glove_id: str) -> CalibrationStatus | None:
        run = self.glove(glove_id).run
        return run.status() if run is not None else None

    def calibration(self, glove_id: str, user: str) -> GloveCalibration:
        self._check_user(user)
        path = self.root / glove_id / f"{user}.json"
        if not path.exists():
            raise GloveUnavailableError(f"user {user!r} has not calibrated glove {glove_id!r}: calibrate first")
        try:
            return GloveCalibration.model_validate_json(path.read_text())
        except ValidationError as exc:
            why = exc.errors()[0]["msg"]
            raise GloveUnavailableError(f"the stored calibration {path.name} is unreadable ({why}): redo it") from None

    def _save(self, calibration: GloveCalibration) -> None:
        folder = self.root / calibration.glove_id
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{calibration.user}.json.tmp"
        tmp.write_text(calibration.model_dump_json(indent=2))
        tmp.replace(folder / f"{calibration.user}.json")  # never a half-written calibration

    @staticmethod
    def _check_user(user: str) -> None:
        if not USER_PATTERN.match(user):
            raise ValueError(f"user {user!r}: letters, digits, _ . - only, at most 64")

    # ---- teleop ----

    def bind(
        self,
        glove_id: str,
        user: str,
        robot_id: str,
        description: RobotDescription,
        send: Callable[[TeleopInput, float], None],
        palm_anchor: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        glove = self.glove(glove_id)
        calibration = self.calibration(glove_id, user)
        glove.bridge = GloveTeleop(calibration, HandRetargeter(description, glove.side), send, palm_anchor)
        glove.robot, glove.user = robot_id, user

    def unbind(self, glove_id: str) -> None:
        glove = self.glove(glove_id)
        glove.bridge, glove.robot, glove.user = None, None, None

    def status(self, glove_id: str) -> GloveStatus:
        glove = self.glove(glove_id)
        folder = self.root / glove_id
        users = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        bridge = glove.bridge
        timings = list(bridge.retarget_s) if bridge is not None else []
        return GloveStatus(
            glove_id=glove_id,
            side=glove.side,
            listen=glove.listen,
            stats=glove.receiver.stats(),
            calibrated_users=users,
            calibration=glove.run.status() if glove.run is not None else None,
            bound_robot=glove.robot,
            bound_user=glove.user,
            retarget_ms_p50=float(np.median(timings) * 1e3) if timings else None,
            hand_q=bridge.retargeter.q.tolist() if bridge is not None else None,
            glove_joints=glove.human.tolist() if glove.human is not None else None,
        )
