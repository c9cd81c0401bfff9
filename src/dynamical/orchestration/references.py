"""Resolve what a task says ("the crimson block", "the upper shelf") to names in the world snapshot.

An unknown reference is refused with the list of what the world has; an ambiguous one with the
candidates and how to tell them apart. Both the parser and the LLM backend resolve through here.
"""

from __future__ import annotations

from dynamical.orchestration.errors import AmbiguousObjectError, UnknownObjectError
from dynamical.orchestration.lexicon import (
    COLOURS,
    OBJECT_NOUNS,
    PLACE_WORDS,
    SURFACE_MODIFIERS,
    SURFACE_NOUNS,
    name_phrase,
    words,
)
from dynamical.orchestration.world import WorldSnapshot

PLACE_MARGIN_M = 0.05
"""How much further left (or right) than every other candidate an object must be to be "the one on
the left": closer than this, which one the user means is a guess."""


class Resolver:
    """Object and surface references of one world snapshot."""

    def __init__(self, world: WorldSnapshot) -> None:
        self.world = world

    def known_objects(self) -> str:
        return ", ".join(f"{o.name} ({o.colour or '?'} {o.kind})" for o in self.world.objects)

    def known_surfaces(self) -> str:
        return ", ".join(self.world.surface_names) or "none"

    def object(self, kind: str, adjectives: list[str], said: str) -> str:
        """The one object of ``kind`` (or any kind for ``*``) with the colours among ``adjectives``;
        a place word among them ("left", "rightmost") picks the one furthest that way."""
        colours = {COLOURS[a] for a in adjectives if a in COLOURS}
        candidates = [
            o.name
            for o in self.world.objects
            if (kind == "*" or o.kind == kind) and all(o.colour == c for c in colours)
        ]
        if not candidates:
            raise UnknownObjectError(f"there is no {said!r} in the world; known objects: {self.known_objects()}")
        places = [PLACE_WORDS[a] for a in adjectives if a in PLACE_WORDS]
        if len(candidates) > 1 and places:
            return self._furthest(candidates, places[-1], said)
        if len(candidates) > 1:
            hints = " or ".join(f"'the {name_phrase(c)}'" for c in candidates)
            raise AmbiguousObjectError(f"{said!r} could be any of {', '.join(candidates)}; say which one, e.g. {hints}")
        return candidates[0]

    def _furthest(self, candidates: list[str], place: str, said: str) -> str:
        """The candidate furthest to the robot's ``place`` (left: world +y), if clearly so."""
        sign = 1.0 if place == "left" else -1.0
        positions = {name: self.world.object(name).position for name in candidates}
        if any(p is None for p in positions.values()):
            raise AmbiguousObjectError(
                f"{said!r} could be any of {', '.join(candidates)}: their places are not known; say which one"
            )
        ranked = sorted(candidates, key=lambda n: -sign * positions[n][1])  # type: ignore[index]
        first, second = (sign * positions[n][1] for n in ranked[:2])  # type: ignore[index]
        if first - second < PLACE_MARGIN_M:
            raise AmbiguousObjectError(
                f"{said!r}: the {name_phrase(ranked[0])} and the {name_phrase(ranked[1])} are about as far "
                f"{place}; say which one, e.g. 'the {name_phrase(ranked[0])}'"
            )
        return ranked[0]

    def surface(self, noun: str, modifiers: list[str], said: str) -> str:
        """The surface called ``noun`` with ``modifiers`` (``shelf`` + ``upper`` → ``shelf_upper``)."""
        wanted = {SURFACE_MODIFIERS[m] for m in modifiers if m in SURFACE_MODIFIERS}
        candidates = []
        for name in self.world.surface_names:
            tokens = name.split("_")
            nouns = {SURFACE_NOUNS[t] for t in tokens if t in SURFACE_NOUNS} or {tokens[0]}
            mods = {SURFACE_MODIFIERS.get(t, t) for t in tokens if t not in SURFACE_NOUNS and t not in nouns}
            if noun in nouns and wanted <= mods:
                candidates.append((len(mods - wanted), name))
        if not candidates:
            raise UnknownObjectError(f"there is no {said!r} in the world; known surfaces: {self.known_surfaces()}")
        # The name with nothing unsaid wins: "shelf" is the surface called shelf, not shelf_upper.
        candidates.sort()
        if len(candidates) > 1 and candidates[0][0] == candidates[1][0]:
            names = [n for extra, n in candidates if extra == candidates[0][0]]
            raise AmbiguousObjectError(f"{said!r} could be any of {', '.join(names)}; say which one")
        return candidates[0][1]

    def name(self, value: str) -> str:
        """A world name given as the name itself or as a phrase ("red cube", "upper shelf")."""
        if value in self.world.object_names or value in self.world.surface_names:
            return value
        tokens = words(value.replace("_", " "))
        for i, token in enumerate(tokens):
            if token in OBJECT_NOUNS and OBJECT_NOUNS[token] != "*":
                # Attributes before or after the noun: "blue cube", "cube that is blue", "cup on the left".
                return self.object(OBJECT_NOUNS[token], tokens[:i] + tokens[i + 1 :], value)
            if token in SURFACE_NOUNS:
                return self.surface(SURFACE_NOUNS[token], tokens[:i] + tokens[i + 1 :], value)
        raise UnknownObjectError(
            f"there is no {value!r} in the world; known objects: {self.known_objects()}; "
            f"known surfaces: {self.known_surfaces()}"
        )
