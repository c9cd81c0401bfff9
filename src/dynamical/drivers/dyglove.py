"""DYGlove wire protocol, version 1: a 21-DoF data glove over UDP, and its haptic channel back.

Every datagram is little-endian, fixed size per type, and ends in a CRC-32 (IEEE, ``zlib.crc32``)
of every byte before it::

    header (20 B)  magic "DYGL" | version u8 (=1) | type u8 | flags u8 | reserved u8 |
                   seq u32 (per glove, wraps) | t_us u64 (the glove's clock, µs)
    type 1 sample (140 B): header | 21 × f32 joint angles (rad, ``JOINTS`` order) |
                   wrist quat 4 × f32 (w x y z, IMU, world-aligned) | wrist pos 3 × f32 (m; NaN: no
                   tracker) | battery u8 (%) | status u8 (bit 0: IMU calibrated) | 2 B reserved | crc u32
    type 2 haptic (32 B): header | 5 × u8 vibration per finger (thumb … little, 0-255) | 3 B
                   reserved | crc u32
    flags: bit 0 set = right hand.

A datagram whose size, magic, version, type or CRC is wrong, or whose angles or quaternion are
not finite, is refused with ``GloveProtocolError`` (the receiver counts it, never raises).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

MAGIC = b"DYGL"
VERSION = 1
TYPE_SAMPLE = 1
TYPE_HAPTIC = 2
FLAG_RIGHT = 0x01
STATUS_IMU_CALIBRATED = 0x01

JOINTS: tuple[str, ...] = (
    "thumb_cmc_abduction",
    "thumb_cmc_flexion",
    "thumb_cmc_rotation",
    "thumb_mcp",
    "thumb_ip",
    *(
        f"{finger}_{joint}"
        for finger in ("index", "middle", "ring", "little")
        for joint in ("mcp_abduction", "mcp", "pip", "dip")
    ),
)
"""The 21 human joints a glove measures, in wire order (flexion positive, rad)."""
N_JOINTS = len(JOINTS)
FINGERS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "little")

_HEADER = struct.Struct("<4sBBBBIQ")
_SAMPLE_BODY = struct.Struct(f"<{N_JOINTS}f4f3fBBxx")
_HAPTIC_BODY = struct.Struct("<5Bxxx")
_CRC = struct.Struct("<I")
SAMPLE_BYTES = _HEADER.size + _SAMPLE_BODY.size + _CRC.size
HAPTIC_BYTES = _HEADER.size + _HAPTIC_BODY.size + _CRC.size
MAX_DATAGRAM = 512
"""Bytes a receiver reads per datagram: anything longer is oversized (and refused)."""

Side = Literal["left", "right"]


class GloveProtocolError(ValueError):
    """A datagram that is not a valid DYGlove v1 message; ``kind`` says which check failed."""

    def __init__(self, kind: Literal["short", "oversized", "magic", "version", "type", "crc", "value"], detail: str):
        super().__init__(detail)
        self.kind = kind


@dataclass(frozen=True)
class GloveSample:
    """One glove reading."""

    seq: int
    t_us: int
    side: Side
    joints: np.ndarray
    """(21,) rad, ``JOINTS`` order."""
    wrist_quat: np.ndarray
    """(4,) w x y z, unit."""
    wrist_pos: np.ndarray | None
    """(3,) m, or None without a position tracker."""
    battery: int
    """%."""
    imu_calibrated: bool


@dataclass(frozen=True)
class HapticCommand:
    """Per-finger vibration, thumb … little, each 0-255."""

    seq: int
    t_us: int
    side: Side
    intensity: tuple[int, int, int, int, int]


def _header(kind: int, side: Side, seq: int, t_us: int) -> bytes:
    return _HEADER.pack(MAGIC, VERSION, kind, FLAG_RIGHT if side == "right" else 0, 0, seq & 0xFFFFFFFF, t_us)


def _seal(body: bytes) -> bytes:
    return body + _CRC.pack(zlib.crc32(body))


def encode_sample(sample: GloveSample) -> bytes:
    if sample.joints.shape != (N_JOINTS,):
        raise ValueError(f"a glove sample has {N_JOINTS} joint angles, got shape {sample.joints.shape}")
    pos = sample.wrist_pos if sample.wrist_pos is not None else np.full(3, np.nan)
    status = STATUS_IMU_CALIBRATED if sample.imu_calibrated else 0
    body = _SAMPLE_BODY.pack(*sample.joints.astype(np.float32), *sample.wrist_quat, *pos, sample.battery, status)
    return _seal(_header(TYPE_SAMPLE, sample.side, sample.seq, sample.t_us) + body)


def encode_haptic(command: HapticCommand) -> bytes:
    levels = [min(255, max(0, int(x))) for x in command.intensity]
    return _seal(_header(TYPE_HAPTIC, command.side, command.seq, command.t_us) + _HAPTIC_BODY.pack(*levels))


def _check(data: bytes) -> tuple[int, Side, int, int]:
    if len(data) > MAX_DATAGRAM:
        raise GloveProtocolError("oversized", f"{len(data)} bytes: a DYGlove datagram is at most {MAX_DATAGRAM}")
    if len(data) < _HEADER.size + _CRC.size:
        raise GloveProtocolError("short", f"{len(data)} bytes: shorter than a DYGlove header")
    magic, version, kind, flags, _, seq, t_us = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise GloveProtocolError("magic", f"not a DYGlove datagram (magic {magic!r})")
    if version != VERSION:
        raise GloveProtocolError("version", f"DYGlove protocol version {version}; this receiver speaks {VERSION}")
    size = {TYPE_SAMPLE: SAMPLE_BYTES, TYPE_HAPTIC: HAPTIC_BYTES}.get(kind)
    if size is None:
        raise GloveProtocolError("type", f"unknown DYGlove message type {kind}")
    if len(data) != size:
        raise GloveProtocolError(
            "short" if len(data) < size else "oversized", f"type {kind} is {size} bytes, got {len(data)}"
        )
    (crc,) = _CRC.unpack_from(data, size - _CRC.size)
    if zlib.crc32(data[: size - _CRC.size]) != crc:
        raise GloveProtocolError("crc", f"CRC mismatch in datagram seq {seq}")
    return kind, "right" if flags & FLAG_RIGHT else "left", seq, t_us


def decode(data: bytes) -> GloveSample | HapticCommand:
    """The message in one datagram; ``GloveProtocolError`` when it is not a valid one."""
    kind, side, seq, t_us = _check(data)
    if kind == TYPE_HAPTIC:
        levels = _HAPTIC_BODY.unpack_from(data, _HEADER.size)
        return HapticCommand(seq, t_us, side, tuple(levels))  # type: ignore[arg-type]
    values = _SAMPLE_BODY.unpack_from(data, _HEADER.size)
    joints = np.array(values[:N_JOINTS], dtype=float)
    quat = np.array(values[N_JOINTS : N_JOINTS + 4], dtype=float)
    pos = np.array(values[N_JOINTS + 4 : N_JOINTS + 7], dtype=float)
    battery, status = values[N_JOINTS + 7], values[N_JOINTS + 8]
    if not (np.isfinite(joints).all() and np.isfinite(quat).all()):
        raise GloveProtocolError("value", f"datagram seq {seq}: joint angles and wrist orientation must be finite")
    norm = float(np.linalg.norm(quat))
    if not 0.5 < norm < 2.0:
        raise GloveProtocolError("value", f"datagram seq {seq}: wrist quaternion norm {norm:.3g} is not a rotation")
    if battery > 100:
        raise GloveProtocolError("value", f"datagram seq {seq}: battery {battery} % is not a percentage")
    return GloveSample(
        seq=seq,
        t_us=t_us,
        side=side,
        joints=joints,
        wrist_quat=quat / norm,
        wrist_pos=pos if np.isfinite(pos).all() else None,
        battery=battery,
        imu_calibrated=bool(status & STATUS_IMU_CALIBRATED),
    )


def seq_after(previous: int, seq: int) -> int:
    """How far ``seq`` is after ``previous`` on the wrapping u32 counter: 1 next, >1 a gap, ≤0 old
    or repeated (a reordered or duplicated datagram)."""
    delta = (seq - previous) & 0xFFFFFFFF
    return delta - (1 << 32) if delta >= 1 << 31 else delta

