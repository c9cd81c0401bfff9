"""The offline L3 decomposer: a rule-based reading of verbs, colours, objects, surfaces and hands.

Clauses whose verb it knows are decomposed into primitive steps, so that the contract check and
the plan runner see every hand-off: "pick up X" → grasp X, lift X; "put/move X on S" → (grasp X,
lift X if not done yet) place X on S; "hand X to your left hand" → (grasp X with the right hand)
pass X to the left hand. Every other clause ("wave with your left hand", "look at the cup") is one
step in the user's words, with whatever objects, surfaces and hands it names: the router decides
which skill it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dynamical.orchestration.decomposer import Decomposition, TaskStep
from dynamical.orchestration.errors import EmptyTaskError, UnknownObjectError, UnparsableTaskError
from dynamical.orchestration.lexicon import (
    ACQUIRE_VERBS,
    COLOURS,
    COPULAS,
    DESTINATION_PREPOSITIONS,
    DETERMINERS,
    FILLER,
    HANDOVER_VERBS,
    LIFT_VERBS,
    OBJECT_NOUNS,
    PLACE_PREPOSITIONS,
    PLACE_WORDS,
    PRONOUNS,
    RAISING_PARTICLES,
    RELATIVE_PRONOUNS,
    SIDE_WORDS,
    SOURCE_PREPOSITIONS,
    STOP_PREPOSITIONS,
    SURFACE_MODIFIERS,
    SURFACE_NOUNS,
    TRANSPORT_VERBS,
    name_phrase,
    split_clauses,
    words,
)
from dynamical.orchestration.references import Resolver
from dynamical.orchestration.world import WorldSnapshot

_OTHER = {"left": "right", "right": "left"}


@dataclass
class _Clause:
    """What one clause says, references resolved."""

    text: str
    verb: str | None
    raising: bool
    objects: list[str] = field(default_factory=list)
    destination: str | None = None
    surfaces: list[str] = field(default_factory=list)
    side: str | None = None
    """The hand that acts ("with your left hand")."""
    to_hand: str | None = None
    """The hand something goes to ("to your left hand"); "other" until the giving hand is known."""
    says_down: bool = False


@dataclass
class _State:
    """What the steps emitted so far leave in the hands."""

    held: dict[str, str | None]
    """object → the hand holding it (None: a hand the skill will choose)."""
    lifted: set[str] = field(default_factory=set)
    last_object: str | None = None


class ParserDecomposer:
    """Rule-based decomposition; needs no network and no model."""

    def decompose(self, task: str, world: WorldSnapshot) -> Decomposition:
        clauses = split_clauses(task)
        if not clauses:
            raise EmptyTaskError("the task is empty: say what to do, e.g. 'pick up the red cube'")
        resolver = Resolver(world)
        state = _State(held={obj: side for side, obj in world.holding.items()})
        steps: list[TaskStep] = []
        notes: list[str] = []
        for text in clauses:
            clause = self._read(text, resolver, state)
            steps.extend(self._steps(clause, world, state, notes))
        return Decomposition(task=task, steps=steps, backend="parser", notes=notes)

    # -- reading a clause -------------------------------------------------------------------

    def _read(self, text: str, resolver: Resolver, state: _State) -> _Clause:
        tokens = words(text)
        # The verb leads the clause (imperative), after any filler: "please hand the cup ..." but not
        # the "hand" of "wave with your left hand".
        first = next((i for i, t in enumerate(tokens) if t not in FILLER), None)
        verb_at = first if first is not None and tokens[first] in _VERBS else None
        verb = tokens[verb_at] if verb_at is not None else None
        raising = verb_at is not None and verb_at + 1 < len(tokens) and tokens[verb_at + 1] in RAISING_PARTICLES
        clause = _Clause(text=text, verb=verb, raising=raising, says_down="down" in tokens or "back" in tokens)
        mentions = {m.noun: m for m in _object_mentions(tokens)}
        inside = {j for m in mentions.values() for j in range(m.start, m.end)}
        for i, token in enumerate(tokens):
            if i == verb_at:
                continue
            if i in mentions:
                mention = mentions[i]
                said_words = tokens[mention.start : mention.end]
                while said_words[-1] in COPULAS or said_words[-1] in RELATIVE_PRONOUNS:
                    said_words.pop()  # "the block that is" on the table
                said = " ".join(said_words)
                clause.objects.append(resolver.object(OBJECT_NOUNS[token], mention.attributes, said))
            elif i in inside:
                continue  # an attribute of an object: "left" in "the cube on the left" is no hand
            elif token in SIDE_WORDS or (token == "other" and _next(tokens, i) in ("hand", "arm")):
                side = SIDE_WORDS.get(token, "other")
                if _preposition_before(tokens, i) in DESTINATION_PREPOSITIONS:
                    clause.to_hand = side
                else:
                    clause.side = side
            elif token in PRONOUNS and _next(tokens, i) not in OBJECT_NOUNS:
                clause.objects.append(self._pronoun(text, state))
            elif token in SURFACE_NOUNS:
                modifiers = [t for t in _adjectives(tokens, i) if t in SURFACE_MODIFIERS]
                said = " ".join([*modifiers, token])
                surface = resolver.surface(SURFACE_NOUNS[token], modifiers, said)
                clause.surfaces.append(surface)
                preposition = _preposition_before(tokens, i)
                if preposition in DESTINATION_PREPOSITIONS and not _in_relative_clause(tokens, i):
                    clause.destination = surface
        if verb in _NEEDS_OBJECT and not clause.objects:
            clause.objects.append(self._unsaid_object(tokens, verb_at, text, resolver, state))
        if clause.objects:
            state.last_object = clause.objects[0]
        return clause

    @staticmethod
    def _pronoun(text: str, state: _State) -> str:
        if state.last_object is not None:
            return state.last_object
        held = list(state.held)
        if len(held) == 1:
            return held[0]
        raise UnparsableTaskError(f"'it' in {text!r} refers to nothing named before; name the object")

    @staticmethod
    def _unsaid_object(tokens: list[str], verb_at: int | None, text: str, resolver: Resolver, state: _State) -> str:
        """The object of a verb that needs one when no known noun was said: refuse with what was said."""
        start = (verb_at or 0) + 1
        while start < len(tokens) and (tokens[start] in DETERMINERS or tokens[start] in RAISING_PARTICLES):
            start += 1
        end = start
        while end < len(tokens) and tokens[end] not in STOP_PREPOSITIONS:
            end += 1
        said = " ".join(tokens[start:end])
        if not said and len(state.held) == 1:
            return next(iter(state.held))  # "put down" with one object in hand
        if not said:
            raise UnparsableTaskError(f"{text!r} names no object; known objects: {resolver.known_objects()}")
        raise UnknownObjectError(f"there is no {said!r} in the world; known objects: {resolver.known_objects()}")

    # -- steps ------------------------------------------------------------------------------

    def _steps(self, clause: _Clause, world: WorldSnapshot, state: _State, notes: list[str]) -> list[TaskStep]:
        if clause.to_hand is not None and clause.objects:
            return self._handover(clause, state)
        if clause.verb in HANDOVER_VERBS and clause.objects and not clause.destination:
            clause.to_hand = "other"
            return self._handover(clause, state)
        if clause.verb in TRANSPORT_VERBS or (clause.verb in ACQUIRE_VERBS and clause.destination):
            return self._transport(clause, world, state)
        if clause.verb in ACQUIRE_VERBS:
            obj = clause.objects[0]
            steps = self._acquire(clause, obj, state, notes)
            if clause.raising or clause.verb == "fetch":
                steps += self._lift(clause, obj, state)
            return steps
        if clause.verb in LIFT_VERBS:
            obj = clause.objects[0]
            return self._acquire(clause, obj, state, notes) + self._lift(clause, obj, state)
        return [self._passthrough(clause)]

    def _acquire(self, clause: _Clause, obj: str, state: _State, notes: list[str]) -> list[TaskStep]:
        if obj in state.held:
            notes.append(f"{obj} is already in hand: no grasp for {clause.text!r}")
            return []
        state.held[obj] = clause.side
        state.lifted.discard(obj)
        args = {"obj": obj, **({"side": clause.side} if clause.side else {})}
        hand = f" with the {clause.side} hand" if clause.side else ""
        return [TaskStep(text=f"grasp the {name_phrase(obj)}{hand}", source=clause.text, action="grasp", args=args)]

    def _lift(self, clause: _Clause, obj: str, state: _State) -> list[TaskStep]:
        state.lifted.add(obj)
        side = state.held.get(obj)
        args = {"obj": obj, **({"side": side} if side else {})}
        return [TaskStep(text=f"lift the {name_phrase(obj)}", source=clause.text, action="lift", args=args)]

    def _transport(self, clause: _Clause, world: WorldSnapshot, state: _State) -> list[TaskStep]:
        obj = clause.objects[0]
        surface = clause.destination
        if surface is None and clause.says_down:
            # "put it down" / "put it back": where it rested before it was picked up.
            resting = world.object(obj).resting_on
            surface = world.surface_on_board(resting) if resting else None
        if surface is None:
            raise UnparsableTaskError(
                f"{clause.text!r} does not say where the {name_phrase(obj)} should go; "
                f"name a surface: {', '.join(world.surface_names)}"
            )
        steps = self._acquire(clause, obj, state, []) if obj not in state.held else []
        if obj not in state.lifted:
            steps += self._lift(clause, obj, state)
        side = state.held.pop(obj)
        state.lifted.discard(obj)
        args = {"obj": obj, "surface": surface, **({"side": side} if side else {})}
        # "held" is what tells place (put down what the hand holds) from pick_and_place (fetch it first).
        text = f"put the held {name_phrase(obj)} down on the {name_phrase(surface)}"
        return [*steps, TaskStep(text=text, source=clause.text, action="place", args=args)]

    def _handover(self, clause: _Clause, state: _State) -> list[TaskStep]:
        obj = clause.objects[0]
        held_by = state.held.get(obj)
        to_side = clause.to_hand if clause.to_hand != "other" else None
        from_side = held_by or clause.side or (_OTHER[to_side] if to_side else "right")
        to_side = to_side or _OTHER[from_side]
        if from_side == to_side:
            raise UnparsableTaskError(f"{clause.text!r}: the {name_phrase(obj)} is already in the {to_side} hand")
        steps: list[TaskStep] = []
        if obj not in state.held:
            clause.side = from_side
            steps = self._acquire(clause, obj, state, [])
        state.held[obj] = to_side
        args = {"obj": obj, "from_side": from_side, "to_side": to_side}
        text = f"pass the {name_phrase(obj)} from the {from_side} hand to the {to_side} hand"
        return [*steps, TaskStep(text=text, source=clause.text, action="handover", args=args)]

    @staticmethod
    def _passthrough(clause: _Clause) -> TaskStep:
        args: dict[str, str] = {}
        if clause.objects:
            args["obj"] = clause.objects[0]
        if clause.surfaces:
            args["surface"] = clause.destination or clause.surfaces[0]
        if clause.objects or clause.surfaces:
            args["target"] = clause.objects[0] if clause.objects else args["surface"]
        if clause.side in ("left", "right"):
            args["side"] = clause.side
        return TaskStep(text=clause.text, source=clause.text, action=None, args=args)  # type: ignore[arg-type]


_VERBS = ACQUIRE_VERBS | LIFT_VERBS | TRANSPORT_VERBS | HANDOVER_VERBS
_NEEDS_OBJECT = ACQUIRE_VERBS | LIFT_VERBS | TRANSPORT_VERBS | HANDOVER_VERBS


@dataclass(frozen=True)
class _Mention:
    """An object named in a clause: its noun, the words around it that describe it, its span."""

    noun: int
    start: int
    end: int
    """One past the last word of the mention (the noun or its last attribute after it)."""
    attributes: list[str]
    """Colour and place words before and after the noun ("red", "left")."""


def _object_mentions(tokens: list[str]) -> list[_Mention]:
    """Every object noun of a clause with its attributes: before it ("the red cube", "the left cup")
    and after it ("the block which is blue", "the cup that's red", "the red one on the left")."""
    mentions = []
    for i, token in enumerate(tokens):
        if token not in OBJECT_NOUNS:
            continue
        before = _adjectives(tokens, i)
        after, end = _attributes_after(tokens, i)
        # "one" is a noun only with something that picks it ("the blue one"), not in "one cube".
        if token == "one" and not before and not after:
            continue
        mentions.append(_Mention(noun=i, start=i - len(before), end=end, attributes=[*before, *after]))
    return mentions


def _attributes_after(tokens: list[str], i: int) -> tuple[list[str], int]:
    """Colour and place words after the noun at ``i``, and where they end (``i + 1`` if none).

    A relative clause ("which is blue", "that's red", "that is on the left") or a place ("on the
    left", "on your right-hand side"); anything else after the noun is not about the object."""
    j = i + 1
    relative = j < len(tokens) and tokens[j] in RELATIVE_PRONOUNS
    if relative:
        j += 1
        while j < len(tokens) and tokens[j] in COPULAS:
            j += 1
    attributes: list[str] = []
    # "that is" belongs to the object even when what follows is no attribute ("that is on the
    # table"): it is no pronoun.
    end = j
    while j < len(tokens):
        if relative and tokens[j] in COLOURS:
            attributes.append(tokens[j])
            j += 1
        elif tokens[j] in PLACE_PREPOSITIONS:
            k = j + 1
            while k < len(tokens) and tokens[k] in DETERMINERS:
                k += 1
            if k >= len(tokens) or tokens[k] not in PLACE_WORDS:
                break
            place, rest = tokens[k], tokens[k + 1 : k + 3]
            if rest[:1] == ["side"]:
                k += 1
            elif rest == ["hand", "side"]:
                k += 2
            elif rest[:1] in (["hand"], ["arm"]):
                break  # "on your left hand": a hand, not a place
            attributes.append(place)
            j = k + 1
        else:
            break
        end = j
    return attributes, end


def _in_relative_clause(tokens: list[str], i: int) -> bool:
    """Whether the noun phrase ending at ``i`` follows "which is"/"that's" ("the cube that is on the
    table"): it says where the object is, not where it goes."""
    j = i - 1
    while j >= 0 and tokens[j] not in _PREPOSITIONS:
        j -= 1
    while j > 0 and tokens[j - 1] in COPULAS:
        j -= 1
    return j > 0 and tokens[j - 1] in RELATIVE_PRONOUNS


def _next(tokens: list[str], i: int) -> str | None:
    return tokens[i + 1] if i + 1 < len(tokens) else None


def _adjectives(tokens: list[str], i: int) -> list[str]:
    """The words between the noun at ``i`` and the determiner, preposition or verb before it."""
    start = i
    while start > 0 and tokens[start - 1] not in _BOUNDARY:
        start -= 1
    return tokens[start:i]


def _preposition_before(tokens: list[str], i: int) -> str | None:
    """The preposition that governs the noun phrase ending at ``i`` ("on" in "on the upper shelf")."""
    j = i - 1
    while j >= 0 and (tokens[j] in DETERMINERS or tokens[j] not in _PREPOSITIONS) and tokens[j] not in _VERBS:
        if tokens[j] in _PREPOSITIONS:
            break
        j -= 1
        if i - j > 4:
            return None
    return tokens[j] if j >= 0 and tokens[j] in _PREPOSITIONS else None


_PREPOSITIONS = DESTINATION_PREPOSITIONS | SOURCE_PREPOSITIONS | {"with", "using"}
_BOUNDARY = DETERMINERS | _PREPOSITIONS | _VERBS | PRONOUNS | {"and", "up", "down", "of", "hand", "arm"}
