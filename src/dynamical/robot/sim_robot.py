"""SimRobot: the Robot protocol on MuJoCo physics.

Each ``step()`` is one physics tick (1 ms by default). Commands go to position servos with a
torque feed-forward channel (see ``scene.py``); efforts read back are what the drives applied,
gravity compensation included, after MuJoCo clamped them to the effort limits.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import mujoco
import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.robot.errors import ProfileError, UnknownNameError
from dynamical.robot.protocol import CameraFrame, JointCommand, RobotState, check_command
from dynamical.robot.scene import JointIndex, build_model
from dynamical.robot.shapes import ObjectShape, object_shape
from dynamical.robot.world import WorldSpec

# The mannequin's envelope: 1.75 m tall, arms hanging beside the torso (see tabletop.xml).
MANNEQUIN_HEIGHT = 1.75
MANNEQUIN_RADIUS = 0.32
# Holding brakes as joint friction: time constant 2 ms (twice the physics step), impedance 0.99.
BRAKE_SOLREF = (0.002, 1.0)
BRAKE_SOLIMP = (0.99, 0.999, 0.001, 0.5, 2.0)


class SimRobot:
    """A simulated robot in a world; deterministic for a given seed."""

    def __init__(
        self,
        description: RobotDescription,
        world: WorldSpec | None = None,
        *,
        timestep: float = 0.001,
        seed: int = 0,
    ) -> None:
        self.description = description
        self.world = world
        self.model = build_model(description, world, timestep)
        self.data = mujoco.MjData(self.model)
        self._joints = JointIndex.of(self.model, description)
        self._object_qpos = {name: self._free_joint_qpos(name) for name in (world.objects if world else {})}
        self._mannequin = self._mocap_id(world.mannequin) if world and world.mannequin else None
        world_cameras = tuple(world.cameras) if world else ()
        self._cameras = tuple(description.cameras) + world_cameras
        for name in self._cameras:
            if mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, name) < 0:
                raise ProfileError(f"camera {name!r} is listed but not in the compiled model")
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        # What power-off changes, kept to restore it: servo gains, gravity compensation, brakes.
        self._servo_gain = self.model.actuator_gainprm[self._joints.servo, 0].copy()
        self._servo_bias = self.model.actuator_biasprm[self._joints.servo, :3].copy()
        self._gravcomp_bodies = np.flatnonzero(self.model.body_gravcomp > 0)
        self._gravcomp = self.model.body_gravcomp[self._gravcomp_bodies].copy()
        self._frictionloss = self.model.dof_frictionloss[self._joints.dof].copy()
        self._friction_solref = self.model.dof_solref[self._joints.dof].copy()
        self._friction_solimp = self.model.dof_solimp[self._joints.dof].copy()
        self.power_on = True
        self.received: list[tuple[float, JointCommand, bool]] | None = None
        """When a list, every command the driver receives is appended as (t, command, power_on):
        the record fault-injection tests assert on."""
        self.seed = seed
        self.reset(seed)

    # ---- the Robot protocol ----

    @property
    def camera_names(self) -> tuple[str, ...]:
        return self._cameras

    def read_state(self) -> RobotState:
        d, ix = self.data, self._joints
        return RobotState(
            t=float(d.time), q=d.qpos[ix.qpos].copy(), dq=d.qvel[ix.dof].copy(), tau=d.qfrc_actuator[ix.dof].copy()
        )

    def write_command(self, command: JointCommand) -> None:
        check_command(command, self.description.n_joints)
        if self.received is not None:
            self.received.append((self.time, command, self.power_on))
        if not self.power_on:
            return  # the drives have no power: targets have nothing to act on
        ctrl, joints = self.data.ctrl, self._joints
        ctrl[joints.servo] = command.q
        feedforward = np.zeros(self.description.n_joints)
        if command.dq is not None:
            feedforward += joints.kv * command.dq
        if command.tau is not None:
            feedforward += command.tau
        ctrl[joints.feedforward] = feedforward

    def read_camera(self, name: str, width: int = 320, height: int = 240, depth: bool = False) -> CameraFrame:
        if name not in self._cameras:
            raise UnknownNameError(f"no camera {name!r}; this robot and world have {list(self._cameras)}")
        max_w, max_h = self.model.vis.global_.offwidth, self.model.vis.global_.offheight
        if not (0 < width <= max_w and 0 < height <= max_h):
            raise ValueError(f"image size {width}x{height} is outside 1x1..{max_w}x{max_h} for this model")
        renderer = self._renderers.get((width, height))
        if renderer is None:
            renderer = self._renderers[(width, height)] = mujoco.Renderer(self.model, height, width)
        renderer.update_scene(self.data, camera=name)
        rgb = renderer.render().copy()
        depth_image = None
        if depth:
            renderer.enable_depth_rendering()
            try:
                depth_image = renderer.render().astype(np.float32)
            finally:
                renderer.disable_depth_rendering()
        return CameraFrame(camera=name, t=float(self.data.time), rgb=rgb, depth=depth_image)

    def set_power(self, on: bool) -> None:
        """Drive power on or off. Off: servos, feed-forward and gravity compensation stop, and
        each joint's holding brake engages (Coulomb friction up to the joint's effort limit)."""
        if on == self.power_on:
            return
        m, ix = self.model, self._joints
        if on:
            m.actuator_gainprm[ix.servo, 0] = self._servo_gain
            m.actuator_biasprm[ix.servo, :3] = self._servo_bias
            m.body_gravcomp[self._gravcomp_bodies] = self._gravcomp
            m.dof_frictionloss[ix.dof] = self._frictionloss
            m.dof_solref[ix.dof] = self._friction_solref
            m.dof_solimp[ix.dof] = self._friction_solimp
        else:
            m.actuator_gainprm[ix.servo, 0] = 0.0
            m.actuator_biasprm[ix.servo, :3] = 0.0
            m.body_gravcomp[self._gravcomp_bodies] = 0.0
            m.dof_frictionloss[ix.dof] = self.description.tau_max
            # A holding brake grips: stiff, near-hard friction (MuJoCo's default is soft and creeps).
            m.dof_solref[ix.dof] = BRAKE_SOLREF
            m.dof_solimp[ix.dof] = BRAKE_SOLIMP
            self.data.ctrl[ix.feedforward] = 0.0
        self.power_on = on

    def mannequin_capsule(self) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The mannequin as a capsule around its whole body: base (3,), top (3,) m, radius m.

        It stands in for a safety-rated person sensor until perception provides people."""
        if self._mannequin is None:
            return None
        pos = self.data.mocap_pos[self._mannequin]
        return np.array([pos[0], pos[1], 0.0]), np.array([pos[0], pos[1], MANNEQUIN_HEIGHT]), MANNEQUIN_RADIUS

    # ---- simulation control ----

    @property
    def time(self) -> float:
        return float(self.data.time)

    @property
    def timestep(self) -> float:
        return float(self.model.opt.timestep)

    def reset(self, seed: int | None = None) -> None:
        """Rest pose, zero velocity, objects drawn from the world's bounds with ``seed``."""
        if seed is not None:
            self.seed = seed
        self.set_power(True)
        mujoco.mj_resetData(self.model, self.data)
        home = self.description.home
        self.data.qpos[self._joints.qpos] = home
        self.data.ctrl[self._joints.servo] = home
        if self.world is not None:
            layout = self.world.sample_layout(np.random.default_rng(self.seed))
            for name, (pos, quat) in layout.items():
                adr = self._object_qpos[name]
                self.data.qpos[adr : adr + 3] = pos
                self.data.qpos[adr + 3 : adr + 7] = quat
        mujoco.mj_forward(self.model, self.data)

    def step(self, n: int = 1) -> None:
        """Advance physics by ``n`` ticks."""
        mujoco.mj_step(self.model, self.data, nstep=n)

    def set_mannequin_pose(self, x: float, y: float, yaw: float = 0.0) -> None:
        """Place the mannequin standing at (x, y) m, facing ``yaw`` rad."""
        if self._mannequin is None:
            raise UnknownNameError("this world has no mannequin")
        self.data.mocap_pos[self._mannequin] = [x, y, 0.0]
        self.data.mocap_quat[self._mannequin] = [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]

    def body_pose(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """World pose of a body: position (3,) m and quaternion (4,) wxyz."""
        bid = self._id(mujoco.mjtObj.mjOBJ_BODY, name, "body")
        return self.data.xpos[bid].copy(), self.data.xquat[bid].copy()

    def site_pose(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """World pose of a site: position (3,) m and rotation matrix (3, 3)."""
        sid = self._id(mujoco.mjtObj.mjOBJ_SITE, name, "site")
        return self.data.site_xpos[sid].copy(), self.data.site_xmat[sid].reshape(3, 3).copy()

    def contacts(self, body: str) -> set[str]:
        """Names of the bodies touching ``body`` now (the simulator's ground truth)."""
        bid = self._id(mujoco.mjtObj.mjOBJ_BODY, body, "body")
        touching = set()
        geom_body = self.model.geom_bodyid
        for contact in self.data.contact[: self.data.ncon]:
            a, b = geom_body[contact.geom1], geom_body[contact.geom2]
            if a == bid and b != bid:
                touching.add(self.model.body(b).name)
            elif b == bid and a != bid:
                touching.add(self.model.body(a).name)
        return touching

    def body_velocity(self, body: str) -> np.ndarray:
        """Linear and angular velocity (6,) of ``body`` in the world frame: (vx, vy, vz, wx, wy, wz)."""
        bid = self._id(mujoco.mjtObj.mjOBJ_BODY, body, "body")
        out = np.zeros(6)
        mujoco.mj_objectVelocity(self.model, self.data, mujoco.mjtObj.mjOBJ_BODY, bid, out, 0)
        return np.concatenate([out[3:], out[:3]])

    def body_bottom(self, body: str) -> float:
        """Lowest world height (m) of the body's geoms (boxes, cylinders, spheres, capsules)."""
        bid = self._id(mujoco.mjtObj.mjOBJ_BODY, body, "body")
        geoms = np.flatnonzero(self.model.geom_bodyid == bid)
        return float(GeomBottoms(self.model, geoms)(self.data).min(initial=np.inf))

    def body_shape(self, body: str) -> ObjectShape:
        """The extent of ``body``'s geoms in its own frame (``robot.shapes``)."""
        return object_shape(self.model, body)

    def subtree(self, body: str) -> set[str]:
        """Names of ``body`` and every body below it in the kinematic tree."""
        root = self._id(mujoco.mjtObj.mjOBJ_BODY, body, "body")
        return {self.model.body(b).name for b in subtree_ids(self.model, root)}

    def site_body(self, site: str) -> str:
        """Name of the body a site is attached to."""
        return self.model.body(self.model.site_bodyid[self._id(mujoco.mjtObj.mjOBJ_SITE, site, "site")]).name

    def geom_box(self, geom: str) -> tuple[np.ndarray, np.ndarray, str]:
        """World centre (3,), half sizes (3,) and body name of a box geom (a table top, a shelf board)."""
        gid = self._id(mujoco.mjtObj.mjOBJ_GEOM, geom, "geom")
        body = self.model.body(self.model.geom_bodyid[gid]).name
        return self.data.geom_xpos[gid].copy(), self.model.geom_size[gid].copy(), body

    def world_probe(self) -> WorldProbe:
        """A vectorised reader of this world's objects for the realtime process's publication."""
        if self.world is None:
            raise UnknownNameError("this robot is not placed in a world: there are no objects to measure")
        return WorldProbe(self.model, self.data, WorldIndex.of(self.model, self.description, self.world))

    def close(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()

    # ---- helpers ----

    def _id(self, kind: mujoco.mjtObj, name: str, label: str) -> int:
        oid = mujoco.mj_name2id(self.model, kind, name)
        if oid < 0:
            raise UnknownNameError(f"no {label} named {name!r} in the simulated world")
        return oid

    def _free_joint_qpos(self, body: str) -> int:
        bid = self._id(mujoco.mjtObj.mjOBJ_BODY, body, "body")
        jid = self.model.body_jntadr[bid]
        if jid < 0 or int(self.model.jnt_type[jid]) != int(mujoco.mjtJoint.mjJNT_FREE):
            raise ProfileError(f"world object {body!r} must have a free joint to be placed")
        return int(self.model.jnt_qposadr[jid])

    def _mocap_id(self, body: str) -> int:
        mocap = int(self.model.body_mocapid[self._id(mujoco.mjtObj.mjOBJ_BODY, body, "body")])
        if mocap < 0:
            raise ProfileError(f"world body {body!r} must be a mocap body")
        return mocap


def subtree_ids(model: mujoco.MjModel, root: int) -> list[int]:
    """Ids of body ``root`` and every body below it, in body-id order."""
    parents = model.body_parentid
    ids = []
    for b in range(model.nbody):
        walk = b
        while walk > 0 and walk != root:
            walk = parents[walk]
        if walk == root:
            ids.append(b)
    return ids


class GeomBottoms:
    """Lowest world height of a fixed set of geoms: exact for boxes, spheres, cylinders and
    capsules, the bounding sphere for anything else.

    A geom's extent below its centre is |R_z| · a + sqrt(1 - R_zz²) · b + c, with R_z the world z
    row of its rotation and (a, b, c) fixed by its type and size, computed once here: a box has
    a = half sizes; a cylinder a = (0, 0, half length), b = radius; a capsule the same plus its
    radius in a_z; a sphere c = radius; anything else c = bounding radius. Element-wise
    arithmetic only, so a geom's value does not depend on which other geoms are in the set."""

    def __init__(self, model: mujoco.MjModel, geoms: np.ndarray) -> None:
        self.geoms = np.asarray(geoms, dtype=np.intp)
        k = len(self.geoms)
        size = model.geom_size[self.geoms]
        kind = model.geom_type[self.geoms].astype(int)
        self._a = np.zeros((k, 3))
        self._b = np.zeros(k)
        self._c = np.zeros(k)
        box = kind == int(mujoco.mjtGeom.mjGEOM_BOX)
        sphere = kind == int(mujoco.mjtGeom.mjGEOM_SPHERE)
        cylinder = kind == int(mujoco.mjtGeom.mjGEOM_CYLINDER)
        capsule = kind == int(mujoco.mjtGeom.mjGEOM_CAPSULE)
        other = ~(box | sphere | cylinder | capsule)
        self._a[box] = size[box]
        self._c[sphere] = size[sphere, 0]
        round_ = cylinder | capsule
        self._a[round_, 2] = size[round_, 1] + np.where(capsule[round_], size[round_, 0], 0.0)
        self._b[round_] = size[round_, 0]
        self._c[other] = model.geom_rbound[self.geoms[other]]

    def __call__(self, data: mujoco.MjData) -> np.ndarray:
        """(k,) m, the lowest point of each geom now."""
        rot_z = np.abs(data.geom_xmat[self.geoms, 6:9])  # (k, 3)
        tilt = np.sqrt(np.maximum(0.0, 1.0 - rot_z[:, 2] * rot_z[:, 2]))
        extent = (rot_z * self._a).sum(axis=1) + tilt * self._b + self._c
        return data.geom_xpos[self.geoms, 2] - extent


SIDES = ("left", "right")
_BODY = mujoco.mjtObj.mjOBJ_BODY


@dataclass(frozen=True)
class WorldIndex:
    """Which bodies a world-state publication covers, and in which order.

    Both processes derive it from their own compiled model of the same RobotDescription and
    WorldSpec (nothing is pickled across): ``objects`` in the WorldSpec's order; the hands' links
    (the subtree of each grasp site's body, in body-id order); ``contact_bodies``, the bodies whose
    contact with an object is published: the left hand's links, the right hand's, the surfaces'
    bodies, then the objects, each body once. ``digest`` fingerprints all of it so that a reader
    can refuse a publication made from other lists."""

    objects: tuple[str, ...]
    hands: dict[str, tuple[str, ...]]
    """side → the hand's link bodies; empty for a side without a grasp site."""
    surfaces: dict[str, str]
    """surface name → its box geom (as in the WorldSpec)."""
    contact_bodies: tuple[str, ...]

    @classmethod
    def of(cls, model: mujoco.MjModel, description: RobotDescription, world: WorldSpec) -> WorldIndex:
        def body_id(name: str) -> int:
            bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)
            if bid < 0:
                raise UnknownNameError(f"no body named {name!r} in the compiled world {world.name!r}")
            return bid

        hands: dict[str, tuple[str, ...]] = {}
        for side in SIDES:
            site = description.grasp_sites.get(f"hand_{side}")
            if site is None:
                hands[side] = ()
                continue
            sid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, site)
            if sid < 0:
                raise UnknownNameError(f"no site named {site!r} in the compiled model")
            hands[side] = tuple(model.body(b).name for b in subtree_ids(model, int(model.site_bodyid[sid])))
        surface_bodies = []
        for geom in world.surfaces.values():
            gid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, geom)
            if gid < 0:
                raise UnknownNameError(f"world {world.name!r}: no surface geom named {geom!r}")
            surface_bodies.append(model.body(int(model.geom_bodyid[gid])).name)
        objects = tuple(world.objects)
        for name in objects:
            body_id(name)
        ordered = [*hands["left"], *hands["right"], *surface_bodies, *objects]
        return cls(
            objects=objects,
            hands=hands,
            surfaces=dict(world.surfaces),
            contact_bodies=tuple(dict.fromkeys(ordered)),
        )

    @classmethod
    def build(cls, description: RobotDescription, world: WorldSpec) -> WorldIndex:
        """The index of ``world`` with ``description`` in it, from a freshly compiled model: what
        the executive derives without a simulator of its own."""
        return cls.of(build_model(description, world), description, world)

    @property
    def digest(self) -> int:
        """A signed 64-bit fingerprint of every list above (BLAKE2b: the same on every run, unlike
        ``hash``)."""
        text = "\n".join(
            [
                ",".join(self.objects),
                ",".join(self.hands["left"]),
                ",".join(self.hands["right"]),
                ",".join(f"{k}={v}" for k, v in self.surfaces.items()),
                ",".join(self.contact_bodies),
            ]
        )
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little", signed=True)


class WorldProbe:
    """Measures the objects of a world on a compiled model and its data, in ``WorldIndex`` order,
    with the same meaning as ``SimRobot``'s own readers (``body_pose``, ``body_velocity``,
    ``body_bottom``, ``contacts``) restricted to the contact bodies.

    Vectorised and allocation-light: the realtime process calls :meth:`measure` at the
    publication rate inside its 1 kHz loop. Results land in the arrays below, overwritten on
    every call."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, index: WorldIndex) -> None:
        self.model, self.data, self.index = model, data, index
        body = {name: mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name) for name in index.contact_bodies}
        self._objects = np.array([body[name] for name in index.objects], dtype=np.intp)
        self._object_ids = self._objects.tolist()
        k, m = len(index.objects), len(index.contact_bodies)
        # Geom id → its body, its object's row and its body's contact column (-1: not listed),
        # so a contact's two geoms index straight into the result.
        row_of_body = np.full(model.nbody, -1, dtype=np.intp)
        row_of_body[self._objects] = np.arange(k)
        col_of_body = np.full(model.nbody, -1, dtype=np.intp)
        col_of_body[[body[name] for name in index.contact_bodies]] = np.arange(m)
        self._geom_body = model.geom_bodyid.astype(np.intp)
        self._geom_row = row_of_body[self._geom_body]
        self._geom_col = col_of_body[self._geom_body]
        # Every object's geoms, grouped by object for np.minimum.reduceat.
        order = np.argsort(self._geom_row, kind="stable")
        order = order[self._geom_row[order] >= 0]
        self._bottoms = GeomBottoms(model, order)
        rows = self._geom_row[order]
        self._has_geoms = np.isin(np.arange(k), rows)
        self._starts = np.searchsorted(rows, np.arange(k)[self._has_geoms])
        self._velocity = np.zeros(6)
        self.pos = np.zeros((k, 3))
        """(k, 3) m, world frame."""
        self.quat = np.zeros((k, 4))
        """(k, 4) wxyz."""
        self.speed = np.zeros(k)
        """(k,) linear speed of the body's origin, m/s."""
        self.bottom = np.full(k, np.inf)
        """(k,) height of the lowest point, m."""
        self.touching = np.zeros((k, m), dtype=np.uint8)
        """(k, m) 1 where contact body j touches object i."""

    def measure(self) -> None:
        """Read the objects' state now."""
        model, data, objects = self.model, self.data, self._objects
        np.take(data.xpos, objects, axis=0, out=self.pos)
        np.take(data.xquat, objects, axis=0, out=self.quat)
        velocity, linear, speed = self._velocity, self._velocity[3:], self.speed
        for i, bid in enumerate(self._object_ids):
            mujoco.mj_objectVelocity(model, data, _BODY, bid, velocity, 0)  # (angular, linear)
            # What np.linalg.norm computes for a vector, without its checks: the same bits.
            speed[i] = math.sqrt(linear.dot(linear))
        if len(self._starts):
            self.bottom[self._has_geoms] = np.minimum.reduceat(self._bottoms(data), self._starts)
        touching = self.touching
        touching[:] = 0
        if data.ncon:
            geoms = data.contact.geom  # (ncon, 2)
            other = geoms[:, ::-1]
            # Each contact counts both ways: geom 1's object touched by geom 2's body, and back.
            row, col = self._geom_row[geoms], self._geom_col[other]
            hit = (row >= 0) & (col >= 0) & (self._geom_body[geoms] != self._geom_body[other])
            touching[row[hit], col[hit]] = 1


class SimObserver:
    """Read-only view of a simulated world: what a ground-truth perception would report.

    Skills' world models read the simulator through this; it has no way to command the robot."""

    def __init__(self, robot: SimRobot) -> None:
        self._robot = robot

    @property
    def time(self) -> float:
        return self._robot.time

    @property
    def objects(self) -> tuple[str, ...]:
        return tuple(self._robot.world.objects) if self._robot.world else ()

    @property
    def surfaces(self) -> dict[str, str]:
        return dict(self._robot.world.surfaces) if self._robot.world else {}

    def body_pose(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return self._robot.body_pose(name)

    def site_pose(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return self._robot.site_pose(name)

    def contacts(self, body: str) -> set[str]:
        return self._robot.contacts(body)

    def body_velocity(self, body: str) -> np.ndarray:
        return self._robot.body_velocity(body)

    def geom_box(self, geom: str) -> tuple[np.ndarray, np.ndarray, str]:
        return self._robot.geom_box(geom)

    def subtree(self, body: str) -> set[str]:
        return self._robot.subtree(body)

    def body_bottom(self, body: str) -> float:
        return self._robot.body_bottom(body)

    def body_shape(self, body: str) -> ObjectShape:
        return self._robot.body_shape(body)

    def site_body(self, site: str) -> str:
        return self._robot.site_body(site)

    def joint_positions(self) -> np.ndarray:
        """The robot's measured joint positions (n,)."""
        return self._robot.read_state().q

    def scene(self) -> tuple[mujoco.MjModel, mujoco.MjData]:
        """The compiled world and its state, for offscreen rendering (perception's simulated
        cameras) and reading static geometry: callers only read them, never write."""
        return self._robot.model, self._robot.data
