"""Robot descriptions: an MJCF plus a small YAML profile.

The profile names what the runtime needs and an MJCF cannot say: which joints are commanded and
in which group, velocity limits, the sites that skills use, the cameras, the rest pose. Position
limits come from the MJCF joint ranges; effort limits from the joints' ``actuatorfrcrange`` or the
actuator ``forcerange`` unless the profile sets them. Every commanded joint must be a 1-DoF joint
driven by exactly one position actuator.

A user brings another robot by writing a profile for its MJCF; see ``profiles/aloha.yaml``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import mujoco
import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from dynamical.robot.errors import ProfileError, UnknownNameError

GroupName = Literal["arm_left", "arm_right", "hand_left", "hand_right", "head", "waist", "legs"]
GROUP_NAMES: tuple[str, ...] = GroupName.__args__  # type: ignore[attr-defined]

PROFILES_DIR = Path(__file__).parent / "profiles"


class CameraProfile(BaseModel):
    """A camera the robot carries (an MJCF camera of the same name)."""

    model_config = ConfigDict(extra="forbid")
    depth: bool = False


class RobotProfile(BaseModel):
    """The YAML profile, validated. Limits are SI: rad, rad/s, N·m (m, m/s, N for slide joints)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    mjcf: str
    """Path of the MJCF, relative to the profile file, or to ``mjcf_package`` when that is set."""
    mjcf_package: str | None = None
    """An installed Python package whose directory holds the MJCF (found without importing it)."""
    groups: dict[GroupName, list[str]]
    velocity_limits: dict[str, float]
    """By group name or joint name; a joint name overrides its group."""
    effort_limits: dict[str, float] = {}
    """By group or joint name; overrides what the MJCF says."""
    acceleration_limits: dict[str, float] = {}
    """rad/s² by group or joint name; a joint left out may reach its speed limit in 0.1 s."""
    safety_points: dict[str, float] = {}
    """Sites the safety kernel keeps out of zones and away from people, with their radius, m."""
    end_effectors: dict[GroupName, str] = {}
    grasp_sites: dict[GroupName, str] = {}
    fingertips: dict[GroupName, list[str]] = {}
    cameras: dict[str, CameraProfile] = {}
    home: dict[str, float] = {}

    @field_validator("velocity_limits", "effort_limits", "acceleration_limits", "safety_points")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for key, limit in value.items():
            if not np.isfinite(limit) or limit <= 0:
                raise ValueError(f"limit for {key!r} must be a positive finite number, got {limit}")
        return value

    @field_validator("groups")
    @classmethod
    def _unique_joints(cls, groups: dict[str, list[str]]) -> dict[str, list[str]]:
        seen: dict[str, str] = {}
        for group, joints in groups.items():
            for joint in joints:
                if joint in seen:
                    raise ValueError(f"joint {joint!r} is in both {seen[joint]!r} and {group!r}")
                seen[joint] = group
        return groups


@dataclass(frozen=True)
class RobotDescription:
    """What the runtime knows of a robot. Arrays are indexed like ``joint_names`` (n,)."""

    name: str
    profile_path: Path
    mjcf_path: Path
    joint_names: tuple[str, ...]
    groups: dict[str, tuple[str, ...]]
    q_min: np.ndarray
    """(n,) lower position limits."""
    q_max: np.ndarray
    """(n,) upper position limits."""
    v_max: np.ndarray
    """(n,) speed limits, symmetric."""
    tau_max: np.ndarray
    """(n,) effort limits, symmetric."""
    a_max: np.ndarray
    """(n,) acceleration limits, symmetric; also the braking deceleration."""
    kp: np.ndarray
    """(n,) position gains of the drives, N·m/rad."""
    kv: np.ndarray
    """(n,) damping gains of the drives, N·m·s/rad."""
    home: np.ndarray
    """(n,) rest pose."""
    end_effectors: dict[str, str] = field(default_factory=dict)
    grasp_sites: dict[str, str] = field(default_factory=dict)
    fingertips: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cameras: dict[str, CameraProfile] = field(default_factory=dict)
    safety_points: dict[str, float] = field(default_factory=dict)

    @property
    def n_joints(self) -> int:
        return len(self.joint_names)

    def index(self, joint: str) -> int:
        """Position of ``joint`` in every (n,) array."""
        try:
            return self.joint_names.index(joint)
        except ValueError:
            raise UnknownNameError(f"robot {self.name!r} has no commanded joint {joint!r}") from None

    def group_indices(self, group: str) -> np.ndarray:
        """Indices (k,) of the joints of ``group`` in every (n,) array."""
        if group not in self.groups:
            raise UnknownNameError(f"robot {self.name!r} has no joint group {group!r}; it has {sorted(self.groups)}")
        return np.array([self.index(j) for j in self.groups[group]], dtype=int)

    def with_limit_scales(self, velocity: float = 1.0, effort: float = 1.0) -> RobotDescription:
        """A copy whose speed and effort limits are scaled by factors in (0, 1]."""
        for name, scale in (("velocity", velocity), ("effort", effort)):
            if not 0 < scale <= 1:
                raise ProfileError(f"{name} limit scale must be in (0, 1], got {scale}")
        return replace(self, v_max=self.v_max * velocity, tau_max=self.tau_max * effort)

    @classmethod
    def load(cls, profile: str | Path) -> RobotDescription:
        """Load a profile by path, or a built-in one by name (``humanoid``, ``aloha``)."""
        path = resolve_profile_path(profile)
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ProfileError(f"{path}: not valid YAML: {exc}") from None
        try:
            spec = RobotProfile.model_validate(raw)
        except ValidationError as exc:
            raise ProfileError(f"{path}: {_first_error(exc)}") from None
        mjcf_path = _resolve_mjcf(spec, path)
        try:
            model = mujoco.MjModel.from_xml_path(str(mjcf_path))
        except ValueError as exc:
            raise ProfileError(f"{mjcf_path}: MuJoCo cannot compile it: {exc}") from None
        return _describe(spec, path, mjcf_path, model)


def joint_actuators(model: mujoco.MjModel, joint_id: int) -> list[int]:
    """Ids of the actuators that drive joint ``joint_id`` directly."""
    return [
        a
        for a in range(model.nu)
        if model.actuator_trntype[a] == mujoco.mjtTrn.mjTRN_JOINT and model.actuator_trnid[a, 0] == joint_id
    ]


def resolve_profile_path(profile: str | Path) -> Path:
    path = Path(profile)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise ProfileError(f"robot profile {path} does not exist")
        return path
    builtin = PROFILES_DIR / f"{profile}.yaml"
    if builtin.is_file():
        return builtin
    names = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
    raise ProfileError(f"unknown robot profile {str(profile)!r}: give a .yaml path or one of {names}")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err["loc"]) or "profile"
    return f"{where}: {err['msg']}"


def _resolve_mjcf(spec: RobotProfile, profile_path: Path) -> Path:
    if spec.mjcf_package is None:
        base = profile_path.parent
    else:
        # find_spec locates the package without running its __init__ (which may pull heavy deps).
        found = importlib.util.find_spec(spec.mjcf_package)
        if found is None or not found.submodule_search_locations:
            raise ProfileError(f"{profile_path}: package {spec.mjcf_package!r} holding the MJCF is not installed")
        base = Path(next(iter(found.submodule_search_locations)))
    path = (base / spec.mjcf).resolve()
    if not path.is_file():
        raise ProfileError(f"{profile_path}: MJCF {path} does not exist")
    return path


def _per_joint(values: dict[str, float], groups: dict[str, list[str]], joints: list[str]) -> dict[str, float]:
    """Expand a {group or joint: value} mapping to {joint: value}; joint entries win."""
    unknown = set(values) - set(groups) - set(joints)
    if unknown:
        raise ProfileError(f"limits name unknown groups or joints: {sorted(unknown)}")
    out: dict[str, float] = {}
    for group, members in groups.items():
        if group in values:
            out.update(dict.fromkeys(members, values[group]))
    out.update({k: v for k, v in values.items() if k in joints})
    return out


def _describe(spec: RobotProfile, profile_path: Path, mjcf_path: Path, model: mujoco.MjModel) -> RobotDescription:
    where = f"{profile_path.name} ({mjcf_path.name})"
    joints = [j for members in spec.groups.values() for j in members]
    n = len(joints)
    q_min, q_max, tau_mjcf = np.zeros(n), np.zeros(n), np.full(n, np.nan)
    kp, kv = np.zeros(n), np.zeros(n)

    for i, name in enumerate(joints):
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
        if jid < 0:
            raise ProfileError(f"{where}: profile names joint {name!r}, which the MJCF does not have")
        if int(model.jnt_type[jid]) not in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)):
            raise ProfileError(f"{where}: joint {name!r} is not a hinge or slide joint")
        if not model.jnt_limited[jid]:
            raise ProfileError(f"{where}: joint {name!r} has no position range in the MJCF")
        q_min[i], q_max[i] = model.jnt_range[jid]
        actuators = joint_actuators(model, jid)
        if len(actuators) != 1:
            raise ProfileError(
                f"{where}: joint {name!r} must be driven by exactly one actuator, found {len(actuators)}"
            )
        act = actuators[0]
        if model.actuator_biasprm[act, 1] >= 0:  # position servos have bias -kp·q
            raise ProfileError(f"{where}: the actuator of joint {name!r} is not a position servo")
        kp[i], kv[i] = model.actuator_gainprm[act, 0], -model.actuator_biasprm[act, 2]
        if model.jnt_actfrclimited[jid]:
            tau_mjcf[i] = np.max(np.abs(model.jnt_actfrcrange[jid]))
        elif model.actuator_forcelimited[act]:
            tau_mjcf[i] = np.max(np.abs(model.actuator_forcerange[act]))

    v_map = _per_joint(spec.velocity_limits, spec.groups, joints)
    missing_v = [j for j in joints if j not in v_map]
    if missing_v:
        raise ProfileError(f"{where}: no velocity limit for joints {missing_v}")
    tau_map = _per_joint(spec.effort_limits, spec.groups, joints)
    tau_max = np.array([tau_map.get(j, tau_mjcf[i]) for i, j in enumerate(joints)])
    if np.isnan(tau_max).any():
        missing = [j for j, t in zip(joints, tau_max, strict=True) if np.isnan(t)]
        raise ProfileError(
            f"{where}: no effort limit for joints {missing}: set actuatorfrcrange in the MJCF "
            "or effort_limits in the profile"
        )

    a_map = _per_joint(spec.acceleration_limits, spec.groups, joints)
    a_max = np.array([a_map.get(j, 10.0 * v_map[j]) for j in joints])

    unknown_home = set(spec.home) - set(joints)
    if unknown_home:
        raise ProfileError(f"{where}: home names joints that are not commanded: {sorted(unknown_home)}")
    outside = [j for j, v in spec.home.items() if not q_min[joints.index(j)] <= v <= q_max[joints.index(j)]]
    if outside:
        raise ProfileError(f"{where}: home pose is outside the joint range for {outside}")
    # A joint the profile leaves out rests at 0, or at the range limit nearest 0.
    home = np.array([spec.home.get(j, float(np.clip(0.0, q_min[i], q_max[i]))) for i, j in enumerate(joints)])

    sites = [*spec.end_effectors.values(), *spec.grasp_sites.values(), *spec.safety_points]
    sites += [s for tips in spec.fingertips.values() for s in tips]
    for site in sites:
        if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, site) < 0:
            raise ProfileError(f"{where}: profile names site {site!r}, which the MJCF does not have")
    for camera in spec.cameras:
        if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera) < 0:
            raise ProfileError(f"{where}: profile names camera {camera!r}, which the MJCF does not have")

    return RobotDescription(
        name=spec.name,
        profile_path=profile_path,
        mjcf_path=mjcf_path,
        joint_names=tuple(joints),
        groups={g: tuple(m) for g, m in spec.groups.items()},
        q_min=q_min,
        q_max=q_max,
        v_max=np.array([v_map[j] for j in joints]),
        tau_max=tau_max,
        a_max=a_max,
        kp=kp,
        kv=kv,
        home=home,
        end_effectors=dict(spec.end_effectors),
        grasp_sites=dict(spec.grasp_sites),
        fingertips={g: tuple(t) for g, t in spec.fingertips.items()},
        cameras=dict(spec.cameras),
        safety_points=dict(spec.safety_points),
    )
