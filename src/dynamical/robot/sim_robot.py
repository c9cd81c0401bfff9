"""SimRobot: the Robot protocol on MuJoCo physics.

Each ``step()`` is one physics tick (1 ms by default). Commands go to position servos with a
torque feed-forward channel (see ``scene.py``); efforts read back are what the drives applied,
gravity compensation included, after MuJoCo clamped them to the effort limits.
"""

from __future__ import annotations

import mujoco
import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.robot.errors import ProfileError, UnknownNameError
from dynamical.robot.protocol import CameraFrame, JointCommand, RobotState, check_command
from dynamical.robot.scene import JointIndex, build_model
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
        m, d = self.model, self.data
        lowest = np.inf
        for g in np.flatnonzero(m.geom_bodyid == bid):
            # int(): a mujoco enum compares unequal to a numpy integer, which breaks `in (...)`.
            rot, size, kind = d.geom_xmat[g].reshape(3, 3), m.geom_size[g], int(m.geom_type[g])
            if kind == mujoco.mjtGeom.mjGEOM_BOX:
                extent = np.abs(rot[2]) @ size
            elif kind == mujoco.mjtGeom.mjGEOM_SPHERE:
                extent = size[0]
            elif kind in (mujoco.mjtGeom.mjGEOM_CYLINDER, mujoco.mjtGeom.mjGEOM_CAPSULE):
                axis = abs(rot[2, 2])  # the local z axis's vertical part
                cap = size[0] if kind == mujoco.mjtGeom.mjGEOM_CAPSULE else 0.0
                extent = axis * size[1] + np.sqrt(max(0.0, 1 - axis * axis)) * size[0] + cap * axis
            else:
                extent = m.geom_rbound[g]
            lowest = min(lowest, float(d.geom_xpos[g][2] - extent))
        return lowest

    def subtree(self, body: str) -> set[str]:
        """Names of ``body`` and every body below it in the kinematic tree."""
        root = self._id(mujoco.mjtObj.mjOBJ_BODY, body, "body")
        names, parents = set(), self.model.body_parentid
        for b in range(self.model.nbody):
            walk = b
            while walk > 0 and walk != root:
                walk = parents[walk]
            if walk == root:
                names.add(self.model.body(b).name)
        return names

    def site_body(self, site: str) -> str:
        """Name of the body a site is attached to."""
        return self.model.body(self.model.site_bodyid[self._id(mujoco.mjtObj.mjOBJ_SITE, site, "site")]).name

    def geom_box(self, geom: str) -> tuple[np.ndarray, np.ndarray, str]:
        """World centre (3,), half sizes (3,) and body name of a box geom (a table top, a shelf board)."""
        gid = self._id(mujoco.mjtObj.mjOBJ_GEOM, geom, "geom")
        body = self.model.body(self.model.geom_bodyid[gid]).name
        return self.data.geom_xpos[gid].copy(), self.model.geom_size[gid].copy(), body

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

    def site_body(self, site: str) -> str:
        return self._robot.site_body(site)

    def joint_positions(self) -> np.ndarray:
        """The robot's measured joint positions (n,)."""
        return self._robot.read_state().q
