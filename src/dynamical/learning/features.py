"""The one definition of what a learned policy sees and commands: joints, objects, cameras.

The recorder builds every dataset frame with these functions and the policy executor builds every
run-time observation with the same ones, so a policy never meets a vector laid out differently
from the one it was trained on. The layout travels with the data (the dataset's feature ``names``
and ``meta/dynamical.json``; a policy package's ``policy.json``) and ``FeatureLayout.from_json``
restores it; ``check_compatible`` refuses a robot or world it does not fit.

- ``observation.state`` (2n,) float32: the commanded joints' measured positions (rad), then their
  velocities (rad/s), in ``joint_names`` order.
- ``observation.environment_state`` (7k,) float32: per object of ``object_names``, its position
  xyz (m, world frame) then its orientation as a unit quaternion wxyz with w ≥ 0 (q and -q are the
  same rotation; one sign keeps the feature single-valued).
- ``action`` (n,) float32: the joint targets (rad) the executive sent for the commanded joints,
  before the safety kernel filtered them.
- ``observation.images.<camera>`` (H, W, 3) uint8 RGB.

The commanded joints are every joint of the robot except its legs: the humanoid stands while it
manipulates, and the executive holds the legs where they are (``full_command``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dynamical.learning import protocol
from dynamical.robot.description import RobotDescription
from dynamical.runtime.channels.state import StateSample
from dynamical.skills.world_model import WorldModel

HELD_GROUPS: tuple[str, ...] = ("legs",)
"""Joint groups a learned manipulation policy never commands: they hold their target."""
POSE_SIZE = 7
"""Numbers per object in ``observation.environment_state``: xyz + wxyz."""


class FeatureLayoutError(ValueError):
    """A layout that does not fit the robot or world it is used with; the message says what differs."""


@dataclass(frozen=True)
class FeatureLayout:
    """Joint set, object order and cameras of one dataset or policy."""

    robot: str
    joint_names: tuple[str, ...]
    joint_indices: tuple[int, ...]
    """Index of each commanded joint in the robot description's joint order."""
    object_names: tuple[str, ...]
    cameras: tuple[str, ...] = protocol.CAMERAS
    image_height: int = protocol.IMAGE_HEIGHT
    image_width: int = protocol.IMAGE_WIDTH

    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    @property
    def state_size(self) -> int:
        return 2 * self.n_joints

    @property
    def environment_size(self) -> int:
        return POSE_SIZE * len(self.object_names)

    def state(self, q: np.ndarray, dq: np.ndarray) -> np.ndarray:
        """(2n,) float32 from the robot's full joint positions ``q`` (N,) rad and velocities ``dq`` (N,) rad/s."""
        idx = list(self.joint_indices)
        return np.concatenate([np.asarray(q)[idx], np.asarray(dq)[idx]]).astype(np.float32)

    def state_from_sample(self, sample: StateSample) -> np.ndarray:
        """(2n,) float32 from a state sample of the link (measured at tier 0)."""
        return self.state(sample.q, sample.dq)

    def environment_state(self, world: WorldModel) -> np.ndarray:
        """(7k,) float32: every object's pose as the world model holds it, in ``object_names`` order."""
        out = np.empty((len(self.object_names), POSE_SIZE), dtype=np.float32)
        for i, name in enumerate(self.object_names):
            obj = world.object(name)
            quat = np.asarray(obj.quat, dtype=float)
            out[i, :3] = obj.pos
            out[i, 3:] = -quat if quat[0] < 0 else quat
        return out.reshape(-1)

    def action(self, target: np.ndarray) -> np.ndarray:
        """(n,) float32: the commanded joints of a full joint target (N,) rad."""
        return np.asarray(target)[list(self.joint_indices)].astype(np.float32)

    def full_command(self, action: np.ndarray, hold: np.ndarray) -> np.ndarray:
        """(N,) float64: ``hold`` (N,) rad with the commanded joints replaced by ``action`` (n,) rad."""
        action = np.asarray(action, dtype=float)
        if action.shape != (self.n_joints,):
            raise FeatureLayoutError(f"an action has {self.n_joints} values, got shape {action.shape}")
        out = np.asarray(hold, dtype=float).copy()
        out[list(self.joint_indices)] = action
        return out

    def state_names(self) -> list[str]:
        return [f"{j}.pos" for j in self.joint_names] + [f"{j}.vel" for j in self.joint_names]

    def environment_names(self) -> list[str]:
        return [f"{o}.{c}" for o in self.object_names for c in ("x", "y", "z", "qw", "qx", "qy", "qz")]

    def lerobot_features(self, images: bool = True) -> dict[str, dict[str, Any]]:
        """LeRobot's ``features`` argument, JSON-able (shapes as lists): what the writer creates."""
        features: dict[str, dict[str, Any]] = {
            protocol.STATE: {"dtype": "float32", "shape": [self.state_size], "names": self.state_names()},
            protocol.ENVIRONMENT_STATE: {
                "dtype": "float32",
                "shape": [self.environment_size],
                "names": self.environment_names(),
            },
            protocol.ACTION: {"dtype": "float32", "shape": [self.n_joints], "names": list(self.joint_names)},
        }
        if images:
            for camera in self.cameras:
                features[protocol.IMAGE_PREFIX + camera] = {
                    "dtype": "video",
                    "shape": [self.image_height, self.image_width, 3],
                    "names": ["height", "width", "channels"],
                }
        return features

    def to_json(self) -> dict[str, Any]:
        return {
            "robot": self.robot,
            "joint_names": list(self.joint_names),
            "object_names": list(self.object_names),
            "cameras": list(self.cameras),
            "image_height": self.image_height,
            "image_width": self.image_width,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], description: RobotDescription) -> FeatureLayout:
        """The layout recorded in ``data`` (``to_json``), bound to ``description``'s joint order.

        Raises FeatureLayoutError if the robot lacks a joint the layout commands."""
        try:
            joints = tuple(str(j) for j in data["joint_names"])
            objects = tuple(str(o) for o in data["object_names"])
            cameras = tuple(str(c) for c in data.get("cameras", protocol.CAMERAS))
            height = int(data.get("image_height", protocol.IMAGE_HEIGHT))
            width = int(data.get("image_width", protocol.IMAGE_WIDTH))
        except (KeyError, TypeError, ValueError) as exc:
            raise FeatureLayoutError(f"not a feature layout: {exc}") from None
        missing = [j for j in joints if j not in description.joint_names]
        if missing:
            raise FeatureLayoutError(f"robot {description.name!r} has no joints {missing[:5]}")
        return cls(
            robot=str(data.get("robot", description.name)),
            joint_names=joints,
            joint_indices=tuple(description.index(j) for j in joints),
            object_names=objects,
            cameras=cameras,
            image_height=height,
            image_width=width,
        )

    def check_compatible(self, description: RobotDescription, object_names: Sequence[str]) -> None:
        """Raise FeatureLayoutError unless this layout's joints and objects exist here."""
        missing_joints = [j for j in self.joint_names if j not in description.joint_names]
        if missing_joints:
            raise FeatureLayoutError(f"robot {description.name!r} has no joints {missing_joints[:5]}")
        missing_objects = [o for o in self.object_names if o not in object_names]
        if missing_objects:
            raise FeatureLayoutError(f"the world has no objects {missing_objects}; it has {list(object_names)}")


def commanded_joints(description: RobotDescription) -> tuple[str, ...]:
    """The joints a learned policy commands, in the description's joint order (legs excluded)."""
    held = {j for g in HELD_GROUPS for j in description.groups.get(g, ())}
    return tuple(j for j in description.joint_names if j not in held)


def layout_for(
    description: RobotDescription,
    object_names: Sequence[str],
    cameras: Sequence[str] = protocol.CAMERAS,
    image_size: tuple[int, int] = (protocol.IMAGE_WIDTH, protocol.IMAGE_HEIGHT),
) -> FeatureLayout:
    """The layout for a robot in a world whose world model has ``object_names`` (its order is kept).

    ``image_size``: (width, height) px."""
    joints = commanded_joints(description)
    return FeatureLayout(
        robot=description.name,
        joint_names=joints,
        joint_indices=tuple(description.index(j) for j in joints),
        object_names=tuple(object_names),
        cameras=tuple(cameras),
        image_width=int(image_size[0]),
        image_height=int(image_size[1]),
    )
