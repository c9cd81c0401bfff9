"""BVH motion capture files: parse, forward kinematics to joint positions, and write.

BVH (Biovision Hierarchy) is the common exchange format of motion capture: a joint hierarchy
with offsets and channel lists, then one row of channel values per frame. Rotations are Euler
angles in degrees, applied in the order the channels list them (intrinsic); positions are in the
file's own unit (often centimetres: pass ``scale``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAX_JOINTS = 256
MAX_FRAMES = 1_000_000


class BvhError(ValueError):
    """A file that is not valid BVH (the message says where)."""


@dataclass
class BvhJoint:
    name: str
    parent: int
    """Index of the parent joint, -1 for the root."""
    offset: np.ndarray
    """(3,) from the parent, file units."""
    channels: list[str] = field(default_factory=list)
    end_site: np.ndarray | None = None
    """(3,) offset of the end site, if the joint has one."""


@dataclass
class BvhMotion:
    joints: list[BvhJoint]
    frame_time: float
    """s between frames."""
    frames: np.ndarray
    """(T, channels) raw channel values."""

    @property
    def names(self) -> list[str]:
        return [j.name for j in self.joints]

    def positions(self, scale: float = 1.0) -> np.ndarray:
        """World positions (T, J, 3) of every joint in every frame, file units × ``scale``."""
        count = len(self.frames)
        out = np.zeros((count, len(self.joints), 3))
        rotations = np.zeros((count, len(self.joints), 3, 3))
        column = 0
        for i, joint in enumerate(self.joints):
            values = self.frames[:, column : column + len(joint.channels)]
            column += len(joint.channels)
            local_pos = np.broadcast_to(joint.offset, (count, 3)).copy()
            local_rot = np.broadcast_to(np.eye(3), (count, 3, 3)).copy()
            for k, channel in enumerate(joint.channels):
                axis = channel[0].lower()
                if channel.endswith("position"):
                    local_pos[:, "xyz".index(axis)] = values[:, k]  # a position channel replaces the offset
                else:
                    local_rot = local_rot @ _axis_rotation(axis, np.radians(values[:, k]))
            if joint.parent < 0:
                out[:, i] = local_pos
                rotations[:, i] = local_rot
            else:
                parent_rot = rotations[:, joint.parent]
                out[:, i] = out[:, joint.parent] + np.einsum("tij,tj->ti", parent_rot, local_pos)
                rotations[:, i] = parent_rot @ local_rot
        return out * scale


def _axis_rotation(axis: str, angle: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations by ``angle`` (T,) rad about ``axis``."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(angle), np.zeros_like(angle)
    if axis == "x":
        rows = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == "y":
        rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    else:
        rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return np.moveaxis(np.array(rows), (0, 1), (-2, -1))


_CHANNEL = re.compile(r"^[XYZ](position|rotation)$")


def parse(text: str) -> BvhMotion:
    tokens = text.split()
    pos = 0

    def take(expected: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise BvhError(f"unexpected end of file (expected {expected or 'more'})")
        token = tokens[pos]
        pos += 1
        if expected is not None and token.upper() != expected:
            raise BvhError(f"expected {expected!r}, found {token!r} (token {pos})")
        return token

    def number() -> float:
        token = take()
        try:
            value = float(token)
        except ValueError:
            raise BvhError(f"expected a number, found {token!r} (token {pos})") from None
        if not np.isfinite(value):
            raise BvhError(f"non-finite number {token!r} (token {pos})")
        return value

    take("HIERARCHY")
    joints: list[BvhJoint] = []
    stack: list[int] = []
    keyword = take().upper()
    if keyword != "ROOT":
        raise BvhError(f"expected ROOT, found {keyword!r}")
    while True:
        name = take()
        take("{")
        parent = stack[-1] if stack else -1
        take("OFFSET")
        joint = BvhJoint(name, parent, np.array([number(), number(), number()]))
        take("CHANNELS")
        count = int(number())
        if not 0 <= count <= 6:
            raise BvhError(f"joint {name!r}: {count} channels (0-6)")
        for _ in range(count):
            channel = take()
            if not _CHANNEL.match(channel):
                raise BvhError(f"joint {name!r}: unknown channel {channel!r}")
            joint.channels.append(channel)
        joints.append(joint)
        if len(joints) > MAX_JOINTS:
            raise BvhError(f"more than {MAX_JOINTS} joints")
        stack.append(len(joints) - 1)
        # children, end sites and closing braces
        while True:
            keyword = take().upper()
            if keyword == "JOINT":
                break
            if keyword == "END":
                take("SITE")
                take("{")
                take("OFFSET")
                joints[stack[-1]].end_site = np.array([number(), number(), number()])
                take("}")
            elif keyword == "}":
                stack.pop()
                if not stack:
                    break
            else:
                raise BvhError(f"unexpected {keyword!r} in the hierarchy (token {pos})")
        if not stack:
            break
    take("MOTION")
    take("FRAMES:")
    count = int(number())
    take("FRAME")
    take("TIME:")
    frame_time = number()
    if not (0 < count <= MAX_FRAMES and frame_time > 0):
        raise BvhError(f"{count} frames of {frame_time} s: need 1-{MAX_FRAMES} frames and a positive frame time")
    width = sum(len(j.channels) for j in joints)
    values = tokens[pos:]
    if len(values) != count * width:
        raise BvhError(f"{count} frames of {width} channels need {count * width} values, found {len(values)}")
    try:
        frames = np.array(values, dtype=float).reshape(count, width)
    except ValueError:
        raise BvhError("the motion holds a value that is not a number") from None
    if not np.isfinite(frames).all():
        raise BvhError("the motion holds a non-finite value")
    return BvhMotion(joints, frame_time, frames)


def load(path: Path) -> BvhMotion:
    try:
        return parse(path.read_text())
    except UnicodeDecodeError:
        raise BvhError(f"{path}: not a text file") from None


def dump(motion: BvhMotion) -> str:
    """BVH text of ``motion``."""
    lines = ["HIERARCHY"]
    children: dict[int, list[int]] = {}
    for i, joint in enumerate(motion.joints):
        children.setdefault(joint.parent, []).append(i)

    def emit(i: int, depth: int) -> None:
        joint, pad = motion.joints[i], "  " * depth
        lines.append(f"{pad}{'ROOT' if joint.parent < 0 else 'JOINT'} {joint.name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {' '.join(f'{v:.6f}' for v in joint.offset)}")
        lines.append(f"{pad}  CHANNELS {len(joint.channels)} {' '.join(joint.channels)}")
        for child in children.get(i, []):
            emit(child, depth + 1)
        if joint.end_site is not None:
            end = " ".join(f"{v:.6f}" for v in joint.end_site)
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {end}", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    emit(children[-1][0], 0)
    lines.extend(["MOTION", f"Frames: {len(motion.frames)}", f"Frame Time: {motion.frame_time:.6f}"])
    lines.extend(" ".join(f"{v:.4f}" for v in row) for row in motion.frames)
    return "\n".join(lines) + "\n"
