"""Contract check: every step's preconditions must hold given the world and the steps before it.

The check is symbolic and runs on the server, without a simulator:

- ``holding``, ``hand_empty`` and ``on`` are tracked exactly: they start from the world snapshot
  (what each hand holds, where each object rests) and change with each step's postconditions.
  A step that needs one of them false is refused, naming the step, the predicate and why.
- A hand a step leaves to the skill (no ``side`` parameter) is a variable: ``holding(obj, $side)``
  binds it to the hand that holds the object; ``hand_empty($side)`` needs some free hand.
- Every other predicate (``reachable``, ``at_home``, ``near``, ...) is geometric. It holds if an
  earlier step promised it; otherwise the injected ``oracle`` decides (True, False, or None for
  "cannot tell"), and without an answer it becomes an *assumption* listed in the plan, which the
  plan runner checks on the live world before the step starts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dynamical.orchestration.errors import ContractError
from dynamical.orchestration.world import WorldSnapshot
from dynamical.skills.manifest import Predicate, SkillManifest

GeometricOracle = Callable[[Predicate], bool | None]
"""Evaluates a bound geometric predicate on the world (e.g. ``reachable`` through IK); None: unknown."""

HANDS = ("left", "right")
SYMBOLIC = {"holding", "hand_empty", "on"}


@dataclass
class _State:
    held: dict[str, str]
    """object → hand token: "left", "right", or "?n" for a hand a skill will choose."""
    on: dict[str, str]
    """object → the board it rests on."""
    names: dict[str, str]
    """board → the surface name users say (shelf_lower → shelf), for messages."""
    facts: set[tuple[str, frozenset]] = field(default_factory=set)
    fresh: int = 0

    def new_hand(self) -> str:
        self.fresh += 1
        return f"?{self.fresh}"

    def free_hands(self) -> int:
        known = {h for h in self.held.values() if h in HANDS}
        unknown = sum(1 for h in self.held.values() if h not in HANDS)
        return len(HANDS) - len(known) - unknown

    def describe_hands(self) -> str:
        if not self.held:
            return "both hands are empty"
        return ", ".join(
            f"{obj} in the {hand if hand in HANDS else 'skill-chosen'} hand" for obj, hand in self.held.items()
        )


def check_contract(
    steps: Sequence[tuple[SkillManifest, dict[str, Any]]],
    world: WorldSnapshot,
    oracle: GeometricOracle | None = None,
) -> list[str]:
    """Check the chain of ``(manifest, parameters)``; return the assumptions, raise ``ContractError``."""
    boards = {s.name: s.board for s in world.surfaces}
    state = _State(
        names={s.board: world.surface_on_board(s.board) for s in world.surfaces},
        held={obj: side for side, obj in world.holding.items()},
        on={o.name: o.resting_on for o in world.objects if o.resting_on and o.name not in world.holding.values()},
    )
    assumptions: list[str] = []
    for index, (manifest, params) in enumerate(steps):
        label = f"step {index + 1} {manifest.id}({', '.join(f'{k}={v}' for k, v in params.items())})"
        hands: dict[str, str] = {}
        """Skill-chosen hand variables of this step ($side) → the hand token they stand for."""
        for predicate in manifest.preconditions:
            args = _bind(predicate, params, hands)
            if predicate.name in SYMBOLIC:
                holds, why = _symbolic(predicate.name, args, state, boards, hands)
                if holds == predicate.negate:
                    shown = Predicate(name=predicate.name, args=_shown(args), negate=predicate.negate)
                    raise ContractError(f"{label} needs {shown}, but {why}")
                continue
            bound = Predicate(name=predicate.name, args=_shown(args), negate=predicate.negate)
            if (predicate.name, frozenset(bound.args.items())) in state.facts:
                continue
            verdict = oracle(bound) if oracle is not None else None
            if verdict is None:
                assumptions.append(f"{label}: {bound} assumed (checked on the live world before the step)")
            elif verdict == predicate.negate:
                raise ContractError(f"{label} needs {bound}, but it does not hold in the world")
        for predicate in manifest.postconditions:
            _apply(predicate, _bind(predicate, params, hands), state, boards, hands)
    return assumptions


def _bind(predicate: Predicate, params: dict[str, Any], hands: dict[str, str]) -> dict[str, str]:
    """Arguments with parameters filled in; an absent (skill-chosen) one stays ``$name``."""
    bound = {}
    for arg, value in predicate.args.items():
        if value.startswith("$") and value[1:] in params:
            bound[arg] = str(params[value[1:]])
        elif value.startswith("$") and value in hands:
            bound[arg] = hands[value]
        else:
            bound[arg] = value
    return bound


def _shown(args: dict[str, str]) -> dict[str, str]:
    return {k: ("?" if v.startswith(("$", "?")) else v) for k, v in args.items()}


def _symbolic(
    name: str, args: dict[str, str], state: _State, boards: dict[str, str], hands: dict[str, str]
) -> tuple[bool, str]:
    """Whether a symbolic precondition holds, why not, and the hand variables it binds."""
    if name == "holding":
        obj, side = args["obj"], args["side"]
        holder = state.held.get(obj)
        if holder is None:
            rests = state.on.get(obj)
            return False, f"nothing holds {obj}" + (
                f" (it rests on the {state.names.get(rests, rests)})" if rests else ""
            )
        if side.startswith("$"):
            hands[side] = holder
            return True, ""
        if holder not in HANDS:  # the skill chose that hand: it must have been this one
            state.held[obj] = side
            return True, ""
        return holder == side, f"{obj} is in the {holder} hand"
    if name == "hand_empty":
        side = args["side"]
        if side.startswith("$"):
            if state.free_hands() <= 0:
                return False, f"no hand is free ({state.describe_hands()})"
            hands[side] = state.new_hand()
            return True, ""
        holding = [obj for obj, hand in state.held.items() if hand == side]
        if holding:
            return False, f"the {side} hand holds {holding[0]}"
        unknown = [obj for obj, hand in state.held.items() if hand not in HANDS]
        if unknown and state.free_hands() < 1:
            return False, f"{unknown[0]} is in a hand an earlier step left to the skill; name that hand"
        return True, ""
    obj, surface = args["obj"], args["surface"]
    where = state.on.get(obj)
    shown = state.names.get(where, where) if where else "nothing"
    return where is not None and where == boards.get(surface, surface), f"{obj} rests on {shown}"


def _apply(
    predicate: Predicate, args: dict[str, str], state: _State, boards: dict[str, str], hands: dict[str, str]
) -> None:
    if predicate.name == "holding" and not predicate.negate:
        side = args["side"]
        if side.startswith("$"):
            side = hands.setdefault(side, state.new_hand())
        state.held[args["obj"]] = side
        state.on.pop(args["obj"], None)
    elif predicate.name == "on" and not predicate.negate:
        state.on[args["obj"]] = boards.get(args["surface"], args["surface"])
        state.held.pop(args["obj"], None)
    elif predicate.name == "hand_empty" and not predicate.negate:
        side = hands.get(args["side"], args["side"])
        for obj in [o for o, hand in state.held.items() if hand == side]:
            del state.held[obj]
    elif predicate.name not in SYMBOLIC:
        key = (predicate.name, frozenset(_shown(args).items()))
        if predicate.negate:
            state.facts.discard(key)
        else:
            state.facts.add(key)
