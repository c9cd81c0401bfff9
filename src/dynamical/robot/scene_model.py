"""What a viewer needs to draw a robot in its world: bodies, joints and primitive geoms.

A dashboard (or any viewer) redraws the robot from the joint positions it streams, so it needs
the kinematic tree and the shapes, not the MJCF. ``scene_model`` reads both from the compiled
MuJoCo model — the same one the simulator and the safety kernel use — so what is drawn is what
is simulated. Conventions are MuJoCo's: metres, z up, quaternions (w, x, y, z), geom sizes as
in the MJCF (box half extents, capsule radius and half-length along local z).

A body's world pose is ``T_world(parent) · T(pos, quat) · J_1 · J_2 …`` with, for a hinge,
``J = Trans(p) · Rot(axis, θ) · Trans(−p)`` and for a slide ``J = Trans(axis · θ)``;
``θ = q − qpos0``. Joints the robot does not command but that follow another joint through a
MuJoCo joint equality (a distal finger link) carry that coupling, so the viewer can follow too.
"""

from __future__ import annotations

from typing import Literal

import mujoco
import numpy as np
from pydantic import BaseModel, ConfigDict

from dynamical.robot.description import RobotDescription
from dynamical.robot.world import WorldSpec

GeomType = Literal["plane", "sphere", "capsule", "ellipsoid", "cylinder", "box"]
BodyRole = Literal["world", "robot", "object", "mannequin", "scenery"]

_GEOM_TYPES: dict[int, GeomType] = {
    int(mujoco.mjtGeom.mjGEOM_PLANE): "plane",
    int(mujoco.mjtGeom.mjGEOM_SPHERE): "sphere",
    int(mujoco.mjtGeom.mjGEOM_CAPSULE): "capsule",
    int(mujoco.mjtGeom.mjGEOM_ELLIPSOID): "ellipsoid",
    int(mujoco.mjtGeom.mjGEOM_CYLINDER): "cylinder",
    int(mujoco.mjtGeom.mjGEOM_BOX): "box",
}
_JOINT_TYPES = {
    int(mujoco.mjtJoint.mjJNT_HINGE): "hinge",
    int(mujoco.mjtJoint.mjJNT_SLIDE): "slide",
    int(mujoco.mjtJoint.mjJNT_BALL): "ball",
    int(mujoco.mjtJoint.mjJNT_FREE): "free",
}
VISIBLE_GROUPS = (0, 1, 2)
"""MuJoCo's viewer shows geom groups 0–2 by default; 3–5 are by convention collision-only."""


def _floats(values: np.ndarray, digits: int = 6) -> list[float]:
    return [round(float(v), digits) for v in values]


class Coupling(BaseModel):
    """θ = Σ_k polycoef[k] · θ_joint^k (a MuJoCo joint equality, both angles from qpos0)."""

    model_config = ConfigDict(frozen=True)
    joint: str
    polycoef: list[float]


class JointModel(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    type: Literal["hinge", "slide", "ball", "free"]
    axis: list[float]
    """Unit axis in the body frame."""
    pos: list[float]
    """Anchor in the body frame, m."""
    qpos0: float
    """The joint's reference position (hinge/slide): θ is measured from it."""
    state_index: int | None
    """Index into the streamed state's ``q``; None for a joint the robot does not command."""
    coupled: Coupling | None = None


class GeomModel(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    type: GeomType
    size: list[float]
    pos: list[float]
    quat: list[float]
    rgba: list[float]


class BodyModel(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    parent: int
    """Index of the parent body (always smaller than this body's); -1 for the world."""
    pos: list[float]
    quat: list[float]
    role: BodyRole
    joints: list[JointModel]
    geoms: list[GeomModel]


class SiteModel(BaseModel):
    model_config = ConfigDict(frozen=True)
    body: int
    pos: list[float]
    """In the body's frame, m."""


class SceneModel(BaseModel):
    """The robot in its world, for drawing. Objects and the mannequin are posed by the streamed
    state (their bodies' joints are free or mocap); everything else follows ``q``."""

    model_config = ConfigDict(frozen=True)
    joint_names: list[str]
    """The order of the streamed state's ``q``."""
    bodies: list[BodyModel]
    objects: list[str]
    mannequin: str | None
    hand_sites: dict[str, SiteModel]
    """Side (left, right) → the grasp site the skills steer."""


def scene_model(model: mujoco.MjModel, description: RobotDescription, world: WorldSpec | None) -> SceneModel:
    """The drawable scene of ``model`` (the robot compiled into ``world``, see ``build_model``)."""
    state_index = {name: i for i, name in enumerate(description.joint_names)}
    objects = list(world.objects) if world is not None else []
    mannequin = world.mannequin if world is not None else None
    robot_root = _robot_root(model, description)
    couplings = _couplings(model)

    bodies: list[BodyModel] = []
    for b in range(model.nbody):
        name = model.body(b).name
        joints = [
            JointModel(
                name=model.joint(j).name,
                type=_JOINT_TYPES[int(model.jnt_type[j])],  # type: ignore[arg-type]
                axis=_floats(model.jnt_axis[j]),
                pos=_floats(model.jnt_pos[j]),
                qpos0=round(float(model.qpos0[model.jnt_qposadr[j]]), 9),
                state_index=state_index.get(model.joint(j).name),
                coupled=couplings.get(j),
            )
            for j in range(model.body_jntadr[b], model.body_jntadr[b] + model.body_jntnum[b])
        ]
        geoms = [
            GeomModel(
                name=model.geom(g).name,
                type=_GEOM_TYPES[int(model.geom_type[g])],
                size=_floats(model.geom_size[g]),
                pos=_floats(model.geom_pos[g]),
                quat=_floats(model.geom_quat[g]),
                rgba=_floats(_rgba(model, g), 3),
            )
            for g in range(model.body_geomadr[b], model.body_geomadr[b] + model.body_geomnum[b])
            if int(model.geom_type[g]) in _GEOM_TYPES and int(model.geom_group[g]) in VISIBLE_GROUPS
        ]
        bodies.append(
            BodyModel(
                name=name,
                parent=-1 if b == 0 else int(model.body_parentid[b]),
                pos=_floats(model.body_pos[b]),
                quat=_floats(model.body_quat[b]),
                role=_role(model, b, name, objects, mannequin, robot_root),
                joints=joints,
                geoms=geoms,
            )
        )

    hand_sites: dict[str, SiteModel] = {}
    for side in ("left", "right"):
        site = description.grasp_sites.get(f"hand_{side}")  # type: ignore[call-overload]
        sid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, site) if site else -1
        if sid >= 0:
            hand_sites[side] = SiteModel(body=int(model.site_bodyid[sid]), pos=_floats(model.site_pos[sid]))
    return SceneModel(
        joint_names=list(description.joint_names),
        bodies=bodies,
        objects=objects,
        mannequin=mannequin,
        hand_sites=hand_sites,
    )


def follow_couplings(model: mujoco.MjModel, qpos: np.ndarray) -> None:
    """Set every coupled joint in ``qpos`` (nq,) to what its joint equality asks, exactly, from
    its leader (the simulator holds it up to the constraint solver's slack): the pose a viewer
    following ``JointModel.coupled`` draws."""
    for follower, coupling in _couplings(model).items():
        leader = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, coupling.joint)
        a, b = model.jnt_qposadr[follower], model.jnt_qposadr[leader]
        x = qpos[b] - model.qpos0[b]
        qpos[a] = model.qpos0[a] + sum(c * x**k for k, c in enumerate(coupling.polycoef))


def _rgba(model: mujoco.MjModel, geom: int) -> np.ndarray:
    """The colour MuJoCo draws: the material's when the geom has one and keeps the default rgba."""
    material = int(model.geom_matid[geom])
    if material >= 0 and np.allclose(model.geom_rgba[geom], [0.5, 0.5, 0.5, 1.0]):
        return model.mat_rgba[material]
    return model.geom_rgba[geom]


def _robot_root(model: mujoco.MjModel, description: RobotDescription) -> int:
    """The body below the world whose subtree holds the robot's commanded joints."""
    first = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, description.joint_names[0])
    body = int(model.jnt_bodyid[first])
    while int(model.body_parentid[body]) != 0:
        body = int(model.body_parentid[body])
    return body


def _role(
    model: mujoco.MjModel, body: int, name: str, objects: list[str], mannequin: str | None, robot_root: int
) -> BodyRole:
    if body == 0:
        return "world"
    top = body
    while int(model.body_parentid[top]) != 0:
        top = int(model.body_parentid[top])
    if top == robot_root:
        return "robot"
    top_name = model.body(top).name
    if top_name in objects:
        return "object"
    if top_name == mannequin:
        return "mannequin"
    return "scenery"


def _couplings(model: mujoco.MjModel) -> dict[int, Coupling]:
    """Joint equalities (``joint1 = poly(joint2)``), by the id of the joint that follows."""
    out: dict[int, Coupling] = {}
    for e in range(model.neq):
        if (
            int(model.eq_type[e]) != int(mujoco.mjtEq.mjEQ_JOINT)
            or int(model.eq_obj2id[e]) < 0
            or not model.eq_active0[e]
        ):
            continue
        follower, leader = int(model.eq_obj1id[e]), int(model.eq_obj2id[e])
        out[follower] = Coupling(joint=model.joint(leader).name, polycoef=_floats(model.eq_data[e, :5], 9))
    return out
