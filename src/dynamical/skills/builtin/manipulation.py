"""Built-in manipulation skills of the default humanoid: reach, grasp, lift, place, pick and
place, handover. The grasp comes from the object's shape (``skills.grasps``: from above for a
small box, round its side for a cup); ``arm``, ``grasping`` and ``placing`` hold their parts."""

from __future__ import annotations

from typing import Any

import numpy as np

from dynamical.skills.builtin.arm import (
    LEVEL,
    SLOW,
    ArmHand,
    ArmSkill,
    held_from_above,
    holding_gate,
    top_grasp_rotation_yaw,
)
from dynamical.skills.builtin.grasping import grasp_phases, resolve_grasp_side, resolve_object_side
from dynamical.skills.builtin.placing import CARRY_CLEARANCE, free_spots, held_grasp, place_phases
from dynamical.skills.builtin.posture import withdraw_arm
from dynamical.skills.builtin.scripted import MotionPlan, ScriptedSkill, SkillPlanError
from dynamical.skills.builtin.sides import hand_is_empty, held_objects, other
from dynamical.skills.grasps import HandGrasp, shape_summary
from dynamical.skills.hands import HAND_CLOSED, HAND_CUPPED, HAND_OPEN
from dynamical.skills.motion import top_grasp_rotation
from dynamical.skills.targets import approach_point

HANDOVER_POINT = np.array([0.30, 0.0, 1.00])
"""m, world: where the giving hand holds the object for the other hand."""
HANDOVER_BELOW = 0.12
"""m below the object the taking hand starts its way up."""


class Reach(ArmSkill):
    skill_id = "reach"

    def resolve(self) -> dict[str, Any]:
        target = self.params["target"]
        resolve_object_side(self, target, [approach_point(self.world, target)])
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        target = self.params["target"]
        rot = self._target_rotation(target)
        plan = MotionPlan(self.description, q_start)
        self._approach(plan, approach_point(self.world, target), rot, HAND_OPEN)
        return plan

    def _target_rotation(self, target: str) -> np.ndarray:
        if target in self.world.object_names():
            return top_grasp_rotation(self.world.object(target).quat)
        return LEVEL


class Grasp(ArmSkill):
    skill_id = "grasp"

    def resolve(self) -> dict[str, Any]:
        resolve_grasp_side(self, self.params["obj"])
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        plan = MotionPlan(self.description, q_start)
        grasp_phases(self, plan, self.params["obj"])
        return plan


def _resolve_held(skill: ArmSkill) -> str:
    """Fill ``obj`` and ``side`` from what the hands hold; returns the object."""
    side, obj = skill.params.get("side"), skill.params.get("obj")
    for candidate in [side] if side is not None else ["right", "left"]:
        held = held_objects(skill.world, candidate)
        if obj is None and held:
            obj = held[0]
        if obj is not None and obj in held:
            skill._use(candidate)
            skill.params["obj"] = obj
            return obj
    what = obj or "anything"
    hands = f"the {side} hand does not hold" if side else "neither hand holds"
    raise SkillPlanError(f"{skill.name}: {hands} {what}")


class Lift(ArmSkill):
    skill_id = "lift"

    def resolve(self) -> dict[str, Any]:
        _resolve_held(self)
        self._lean_if_leaning()
        self.params.setdefault("height", 0.1)
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        plan = MotionPlan(self.description, q_start)
        self.held_as = (self.params["obj"], held_grasp(self, self.params["obj"]))
        pose = self._site_pose(q_start)
        fingers = q_start[self._hand]
        top = pose.pos + np.array([0.0, 0.0, float(self.params["height"])])
        plan.go("lift", self._line(q_start, pose.pos, top, pose.rot, fingers), speed=SLOW)
        plan.hold("check the grip", 0.2, gate=holding_gate(self.params["obj"], self.side))
        return plan


class Place(ArmSkill):
    skill_id = "place"

    def resolve(self) -> dict[str, Any]:
        _resolve_held(self)
        self._lean_if_leaning()
        self.world.surface(self.params["surface"])  # an unknown surface fails here, with the known ones
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        plan = MotionPlan(self.description, q_start)
        obj = self.params["obj"]
        place_phases(self, plan, obj, self.params["surface"], held_grasp(self, obj))
        return plan


class PickAndPlace(ArmSkill):
    skill_id = "pick_and_place"

    def resolve(self) -> dict[str, Any]:
        obj, surface = self.params["obj"], self.params["surface"]
        state = self.world.object(obj)
        spots = free_spots(self.world, surface, obj)
        if not spots:
            raise SkillPlanError(f"{self.name}: no free spot on {surface} for {obj}")

        def over_first_spot(grasp: HandGrasp) -> list[np.ndarray]:
            # Where the grasp site lets go on the first spot, and above it at carry height (a
            # top grasp turns level on the way; the check keeps the grasp's frame, close enough).
            release = spots[0] + grasp.site - state.pos
            return [release + np.array([0.0, 0.0, CARRY_CLEARANCE + 0.02]), release]

        resolve_grasp_side(self, obj, over_first_spot)
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        plan = MotionPlan(self.description, q_start)
        obj, surface = self.params["obj"], self.params["surface"]
        # A grasp counts only if the place plans after it: another grasp of the same object
        # may be the one that carries it to a far spot.
        grasp_phases(self, plan, obj, lambda trial, grasp: place_phases(self, trial, obj, surface, grasp))
        return plan


class Handover(ScriptedSkill):
    """The giving hand brings the object in front of the chest, palm down; the other hand comes
    from below, palm up and fingers across, closes; the giver lets go and goes to rest."""

    skill_id = "handover"

    def resolve(self) -> dict[str, Any]:
        obj, giver, taker = self.params.get("obj"), self.params.get("from_side"), self.params.get("to_side")
        if giver is None and taker is not None:
            giver = other(taker)
        if giver is None:
            holders = [s for s in ("right", "left") if obj in held_objects(self.world, s)]
            if not holders:
                raise SkillPlanError(f"{self.name}: neither hand holds {obj}")
            giver = holders[0]
        taker = taker or other(giver)
        if giver == taker:
            raise SkillPlanError(f"{self.name}: from_side and to_side are both {giver}")
        if not hand_is_empty(self.world, taker):
            raise SkillPlanError(f"{self.name}: the {taker} hand is not empty")
        if obj in held_objects(self.world, giver) and not held_from_above(self, giver):
            # Held round its side, the object's sides are taken by the giving hand's palm, thumb
            # and fingers, and its base is too wide for the taking palm to come up under it
            # without meeting them.
            shape = self.world.object_shape(obj)
            raise SkillPlanError(
                f"{self.name}: the {giver} hand holds {obj} round its side ({shape_summary(shape)}): "
                f"the {taker} hand has no free side or base to take it by; put it down and grasp it again"
            )
        self.params.update(from_side=giver, to_side=taker)
        self.groups = ("arm_left", "arm_right", "hand_left", "hand_right")
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        obj, giver, taker = self.params["obj"], self.params["from_side"], self.params["to_side"]
        give, take = ArmHand(self, giver), ArmHand(self, taker)
        plan = MotionPlan(self.description, q_start)
        start = give.pose(q_start)
        fingers = q_start[give.hand]
        point = HANDOVER_POINT
        # The giver's fingers point across the body and hold two faces; the taker comes from below,
        # palm up with its fingers forward, and closes on the other two.
        across = top_grasp_rotation_yaw(np.pi / 2 if giver == "right" else -np.pi / 2)
        palm_up = np.eye(3)  # fingers forward (x), palm up (z)
        up = np.array([start.pos[0], start.pos[1], point[2]])
        plan.go("raise", give.line(plan.end, start.pos, up, start.rot, fingers), speed=SLOW)
        plan.go("bring to the chest", give.line(plan.end, up, point, start.rot, fingers, across), speed=SLOW)
        # Where the object will be: it sits in the giving hand where the grasp left it, not
        # exactly at the grasp site.
        in_hand = start.rot.T @ (self.world.object(obj).pos - start.pos)
        held_at = point + across @ in_hand
        below = held_at - np.array([0.0, 0.0, HANDOVER_BELOW])
        # Up beside the body first: rising from rest in front, the forward fingers would catch the
        # table's edge.
        rest = take.pose(plan.end)
        side_start = np.array([min(rest.pos[0], 0.10), 0.22 if taker == "left" else -0.22, below[2]])
        plan.set_joints("cup the other hand", take.hand, HAND_CUPPED, 0.4)
        raise_hand = take.line(plan.end, rest.pos, side_start, rest.rot, HAND_CUPPED, palm_up)
        plan.go("raise the other hand", raise_hand, speed=SLOW)
        plan.go("under the object", take.line(plan.end, side_start, below, palm_up, HAND_CUPPED), speed=SLOW)
        plan.go("up to the object", take.line(plan.end, below, held_at, palm_up, HAND_CUPPED), speed=SLOW)
        # The giver lets go first and the object settles into the cupped palm; closing while the
        # giver's fingers still wrap it would leave the taker's fingers nothing to close on.
        plan.set_joints("let go", give.hand, HAND_OPEN, 0.5)
        clear = point + np.array([0.0, 0.0, 0.10])
        plan.go("clear the object", give.line(plan.end, point, clear, across, HAND_OPEN), speed=SLOW)
        plan.set_joints("close the other hand", take.hand, HAND_CLOSED, 0.6)
        withdraw_arm(self, plan, giver)
        plan.hold("check the grip", 0.2, gate=holding_gate(obj, taker))
        return plan
