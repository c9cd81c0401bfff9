"""The world model of a robot whose simulator runs in another process (the realtime process).

``ChannelWorldModel`` reads the objects from the world-state channel the realtime process
publishes (100 Hz by default), the joint positions from the state snapshot (every tick), and the
surfaces from its own compiled model of the same robot and world: surfaces are static boxes, so
they need no channel. It means what ``SimWorldModel`` means: for one simulator state, every
predicate gives the same answer on both (tests check it), with one difference a reader may see:
``ObjectState.touching`` lists only the ``WorldIndex``'s contact bodies.
"""

from __future__ import annotations

import mujoco
import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.robot.errors import ProfileError, UnknownNameError
from dynamical.robot.scene import build_model
from dynamical.robot.shapes import ObjectShape, object_shapes
from dynamical.robot.sim_robot import WorldIndex
from dynamical.robot.world import WorldSpec
from dynamical.runtime.bundle import ChannelBundle
from dynamical.runtime.channels import ChannelError, WorldSample
from dynamical.skills.world_model import SIDES, ObjectState, Surface


class WorldUnavailableError(RuntimeError):
    """The realtime process has not published the world (or the joint state) yet."""


def static_surfaces(model: mujoco.MjModel, world: WorldSpec) -> dict[str, Surface]:
    """The world's surfaces as ``SimRobot.geom_box`` reports them, from a compiled model.

    Refuses a surface on a moving body: its box would go stale, and nothing publishes it."""
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    surfaces = {}
    for name, geom in world.surfaces.items():
        gid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, geom)
        if gid < 0:
            raise UnknownNameError(f"world {world.name!r}: no surface geom named {geom!r}")
        body = int(model.geom_bodyid[gid])
        if body != 0 and int(model.body_weldid[body]) != 0:
            raise ProfileError(
                f"world {world.name!r}: surface {name!r} ({geom}) is on a moving body; "
                "only static surfaces can be read from the model"
            )
        surfaces[name] = Surface(
            name=name, center=data.geom_xpos[gid].copy(), half=model.geom_size[gid].copy(), body=model.body(body).name
        )
    return surfaces


class ChannelWorldModel:
    """The ``WorldModel`` over a robot's shared-memory channels (they must have a world channel)."""

    def __init__(
        self,
        channels: ChannelBundle,
        description: RobotDescription,
        index: WorldIndex,
        surfaces: dict[str, Surface],
        shapes: dict[str, ObjectShape] | None = None,
    ) -> None:
        world = channels.world
        if world is None:
            raise ChannelError("these channels have no world channel: the robot publishes no objects")
        if world.digest != index.digest:
            raise ChannelError(
                f"the world channel was made for other object or contact-body lists (digest {world.digest}, "
                f"this index {index.digest})"
            )
        self.description = description
        self.index = index
        self._channels = channels
        self._world = world
        self._surfaces = surfaces
        self._shapes = dict(shapes or {})
        self._row = {name: i for i, name in enumerate(index.objects)}
        self._bodies = np.array(index.contact_bodies, dtype=object)
        self._hands = {side: frozenset(index.hands[side]) for side in SIDES}

    @classmethod
    def build(
        cls,
        channels: ChannelBundle,
        description: RobotDescription,
        world: WorldSpec,
        model: mujoco.MjModel | None = None,
    ) -> ChannelWorldModel:
        """From the robot's and world's files: ``model`` (the compiled robot in the world) is
        built when not given; the index and the surfaces both come from it."""
        model = build_model(description, world) if model is None else model
        index = WorldIndex.of(model, description, world)
        return cls(channels, description, index, static_surfaces(model, world), object_shapes(model, index.objects))

    # ---- the WorldModel protocol ----

    def object_names(self) -> tuple[str, ...]:
        return self.index.objects

    def object(self, name: str) -> ObjectState:
        row = self._row.get(name)
        if row is None:
            raise UnknownNameError(f"no object {name!r} in the world; there are {list(self.index.objects)}")
        sample = self.sample()
        return ObjectState(
            name=name,
            pos=sample.pos[row],
            quat=sample.quat[row],
            speed=float(sample.speed[row]),
            bottom=float(sample.bottom[row]),
            touching=frozenset(self._bodies[sample.touching[row]].tolist()),
        )

    def object_shape(self, name: str) -> ObjectShape:
        shape = self._shapes.get(name)
        if shape is None:
            raise UnknownNameError(f"no shape of object {name!r}: this world model knows {list(self._shapes)}")
        return shape

    def surface_names(self) -> tuple[str, ...]:
        return tuple(self._surfaces)

    def surface(self, name: str) -> Surface:
        surface = self._surfaces.get(name)
        if surface is None:
            raise UnknownNameError(f"no surface {name!r} in the world; there are {list(self._surfaces)}")
        return surface

    def hand_bodies(self, side: str) -> frozenset[str]:
        if side not in SIDES:
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        return self._hands[side]

    def grasp_site(self, side: str) -> str:
        if side not in SIDES:
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        hand = f"hand_{side}"
        site = self.description.grasp_sites.get(hand)
        if site is None:
            raise UnknownNameError(f"robot {self.description.name!r} has no grasp site for {hand}")
        return site

    def joint_positions(self) -> np.ndarray:
        """(n,) rad, the latest measured joint positions."""
        state = self._channels.state.read()
        if state is None:
            raise WorldUnavailableError("the realtime process has not published a joint state yet")
        return state.q

    # ---- beyond the protocol ----

    def sample(self) -> WorldSample:
        """The latest publication of the objects (every object, one instant)."""
        sample = self._world.read()
        if sample is None:
            raise WorldUnavailableError("the realtime process has not published the world state yet")
        return sample
