"""The manifests of the built-in skills of the default humanoid.

These are the catalogue the orchestrator routes on and the contract the runner checks: the
parameters each skill takes, the predicates that must hold before it starts and the ones it
promises at the end. ``side`` is optional wherever it appears: the skill chooses the hand itself
(see ``sides.choose_side``) and the runner binds the predicates after that choice.
"""

from __future__ import annotations

from typing import Any

from dynamical.skills.manifest import ActionSpace, Predicate, SkillManifest

BUILTIN_VERSION = "1.0.0"
EMBODIMENT = "dynamical-humanoid"

_SIDE = {"type": "string", "enum": ["left", "right"], "description": "which hand; chosen by the skill when absent"}
_OBJ = {"type": "string", "description": "object name in the world model, e.g. red_cube"}
_SURFACE = {"type": "string", "description": "surface name in the world model, e.g. shelf, table"}
_TARGET = {"type": "string", "description": "an object or surface name in the world model"}


def _schema(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _p(name: str, negate: bool = False, **args: str) -> Predicate:
    return Predicate(name=name, args=args, negate=negate)  # type: ignore[arg-type]


def _manifest(
    skill_id: str,
    name: str,
    description: str,
    tags: list[str],
    module: str,
    cls: str,
    groups: list[str],
    schema: dict[str, Any],
    pre: list[Predicate],
    post: list[Predicate],
    duration: float,
    roles: list[str] | None = None,
    observations: list[str] | None = None,
) -> SkillManifest:
    return SkillManifest(
        id=skill_id,
        version=BUILTIN_VERSION,
        name=name,
        description=description,
        tags=tags,
        kind="scripted",
        embodiment=EMBODIMENT,
        action_space=ActionSpace(type="joint_positions", groups=groups),  # type: ignore[arg-type]
        observations=observations or ["joint_positions", "object_poses"],
        parameters_schema=schema,
        preconditions=pre,
        postconditions=post,
        roles=roles or ["independent"],  # type: ignore[arg-type]
        nominal_duration_s=duration,
        entry_point=f"dynamical.skills.builtin.{module}:{cls}",
    )


def builtin_manifests() -> list[SkillManifest]:
    """One manifest per built-in skill, in a stable order.

    ``action_space.groups`` names the right-hand variant; a skill that chooses the left hand
    drives the mirrored groups (``arm_left``, ``hand_left``)."""
    arm, hand = "arm_right", "hand_right"
    return [
        _manifest(
            "go_home",
            "Go home",
            "Move every joint back to the rest pose, slowly and smoothly.",
            ["posture", "reset", "home"],
            "posture",
            "GoHome",
            ["waist", "head", "arm_left", "arm_right", "hand_left", "hand_right"],
            _schema([]),
            [],
            [_p("at_home")],
            3.0,
            ["independent", "follower", "assistant"],
            ["joint_positions"],
        ),
        _manifest(
            "look_at",
            "Look at",
            "Turn the head so that the head camera looks at an object or a surface.",
            ["perception", "gaze", "head", "look"],
            "gaze",
            "LookAt",
            ["head"],
            _schema(["target"], target=_TARGET),
            [],
            [_p("looking_at", target="$target")],
            1.5,
            ["independent", "observer", "leader", "follower", "assistant"],
        ),
        _manifest(
            "reach",
            "Reach",
            "Move one hand to just above an object or a surface, ready to act on it.",
            ["manipulation", "approach", "reach", "arm"],
            "manipulation",
            "Reach",
            [arm, hand],
            _schema(["target"], target=_TARGET, side=_SIDE),
            [],
            [_p("hand_over", target="$target", side="$side")],
            2.5,
            ["independent", "leader", "follower", "assistant"],
        ),
        _manifest(
            "open_hand",
            "Open hand",
            "Open the fingers of one hand, releasing whatever it holds.",
            ["manipulation", "hand", "release", "open"],
            "posture",
            "OpenHand",
            [hand],
            _schema([], side=_SIDE),
            [],
            [_p("hand_open", side="$side")],
            1.0,
            ["independent", "leader", "follower", "assistant"],
        ),
        _manifest(
            "grasp",
            "Grasp",
            "Pick up an object: approach it from above, close the hand around it and lift it clear.",
            ["manipulation", "grasp", "pick", "grab", "take"],
            "manipulation",
            "Grasp",
            [arm, hand],
            _schema(["obj"], obj=_OBJ, side=_SIDE),
            [_p("hand_empty", side="$side"), _p("reachable", obj="$obj", side="$side")],
            [_p("holding", obj="$obj", side="$side")],
            4.5,
            ["independent", "leader", "follower", "assistant"],
        ),
        _manifest(
            "lift",
            "Lift",
            "Raise the object held in one hand by a given height; object and hand default to what is held.",
            ["manipulation", "lift", "raise", "carry"],
            "manipulation",
            "Lift",
            [arm, hand],
            _schema(
                [],
                obj=_OBJ,
                side=_SIDE,
                height={
                    "type": "number",
                    "minimum": 0.0,
                    "maximum": 0.3,
                    "default": 0.1,
                    "description": "m to raise the object",
                },
            ),
            [_p("holding", obj="$obj", side="$side")],
            [_p("holding", obj="$obj", side="$side")],
            1.5,
            ["independent", "leader", "follower", "assistant"],
        ),
        _manifest(
            "place",
            "Place",
            "Put the object held in one hand down on a surface and let go of it.",
            ["manipulation", "place", "put", "release", "drop off"],
            "manipulation",
            "Place",
            [arm, hand],
            _schema(["obj", "surface"], obj=_OBJ, surface=_SURFACE, side=_SIDE),
            [_p("holding", obj="$obj", side="$side")],
            [_p("on", obj="$obj", surface="$surface"), _p("hand_empty", side="$side")],
            5.5,
            ["independent", "leader", "follower", "assistant"],
        ),
        _manifest(
            "pick_and_place",
            "Pick and place",
            "Pick an object up from where it lies and put it down on a surface: grasp, lift, carry, place, release.",
            ["manipulation", "pick", "place", "move", "transfer", "tidy"],
            "manipulation",
            "PickAndPlace",
            [arm, hand],
            _schema(["obj", "surface"], obj=_OBJ, surface=_SURFACE, side=_SIDE),
            [_p("hand_empty", side="$side"), _p("reachable", obj="$obj", side="$side")],
            [_p("on", obj="$obj", surface="$surface"), _p("hand_empty", side="$side")],
            10.0,
            ["independent", "leader", "follower", "assistant"],
        ),
        _manifest(
            "handover",
            "Hand over",
            "Pass a held object from one hand to the other in front of the chest.",
            ["manipulation", "bimanual", "handover", "pass", "transfer", "give"],
            "manipulation",
            "Handover",
            ["arm_left", "arm_right", "hand_left", "hand_right"],
            _schema(["obj"], obj=_OBJ, from_side=_SIDE, to_side=_SIDE),
            [_p("holding", obj="$obj", side="$from_side"), _p("hand_empty", side="$to_side")],
            [_p("holding", obj="$obj", side="$to_side"), _p("hand_empty", side="$from_side")],
            8.0,
            ["independent", "leader", "follower"],
        ),
        _manifest(
            "wave",
            "Wave",
            "Raise one hand and wave it to greet someone, then lower it.",
            ["gesture", "social", "wave", "greet", "hello"],
            "gestures",
            "Wave",
            [arm, hand],
            _schema([], side=_SIDE, cycles={"type": "integer", "minimum": 1, "maximum": 6, "default": 3}),
            [_p("hand_empty", side="$side")],
            [_p("hand_empty", side="$side"), _p("arm_at_rest", side="$side")],
            5.0,
            ["independent", "observer", "assistant"],
            ["joint_positions"],
        ),
        _manifest(
            "point_at",
            "Point at",
            "Point the index finger of one hand at an object or a surface.",
            ["gesture", "point", "indicate", "show"],
            "gestures",
            "PointAt",
            [arm, hand],
            _schema(["target"], target=_TARGET, side=_SIDE),
            [_p("hand_empty", side="$side")],
            [_p("pointing_at", target="$target", side="$side")],
            2.5,
            ["independent", "observer", "leader", "assistant"],
        ),
    ]
