"""Words the offline task parser knows: synonyms mapped to the names worlds use.

Object and surface names in a world are ``modifier_noun`` (``red_cube``) or ``noun_modifier``
(``shelf_upper``); the parser reads a mention's words through these tables and compares the
resulting tokens with the name's tokens.
"""

from __future__ import annotations

import re

# Colour words → the palette name a world's object is described with.
COLOURS = {
    "red": "red", "crimson": "red", "scarlet": "red", "ruby": "red", "cherry": "red", "maroon": "red",
    "green": "green", "emerald": "green", "lime": "green", "olive": "green",
    "blue": "blue", "azure": "blue", "navy": "blue", "cobalt": "blue", "sapphire": "blue",
    "yellow": "yellow", "golden": "yellow", "orange": "orange", "purple": "purple", "violet": "purple",
    "pink": "pink", "brown": "brown", "black": "black", "white": "white", "grey": "grey", "gray": "grey",
}  # fmt: skip

# Nouns people use for an object kind → the kind (the head noun of object names).
OBJECT_NOUNS = {
    "cube": "cube", "cubes": "cube", "block": "cube", "blocks": "cube", "box": "cube", "brick": "cube",
    "cup": "cup", "mug": "cup", "glass": "cup", "beaker": "cup", "tumbler": "cup",
    "object": "*", "thing": "*", "item": "*", "one": "*",
}  # fmt: skip

# Surface nouns and the modifiers that pick a board.
SURFACE_NOUNS = {"table": "table", "desk": "table", "tabletop": "table", "shelf": "shelf", "shelves": "shelf",
                 "rack": "shelf", "bookshelf": "shelf", "ledge": "shelf"}  # fmt: skip
SURFACE_MODIFIERS = {"upper": "upper", "top": "upper", "higher": "upper", "high": "upper", "uppermost": "upper",
                     "lower": "lower", "bottom": "lower", "low": "lower", "lowest": "lower",
                     "middle": "middle", "centre": "middle", "center": "middle"}  # fmt: skip

# Where an object is, as the robot sees it ("the cube on the left", "the leftmost cup"): world +y is
# the robot's left (it faces +x).
PLACE_WORDS = {"left": "left", "leftmost": "left", "right": "right", "rightmost": "right"}
# A relative clause after the noun: "the block which is blue", "the cup that's red" ('s is dropped).
RELATIVE_PRONOUNS = {"which", "that", "who"}
COPULAS = {"is", "are", "looks", "appears", "seems", "coloured", "colored", "painted"}
# Prepositions that put an object at a place ("on the left"); "to the left" is a hand or a direction.
PLACE_PREPOSITIONS = {"on", "at"}

PRONOUNS = {"it", "that", "this", "them"}
DETERMINERS = {"the", "a", "an", "that", "this", "your", "my", "its"}
SIDE_WORDS = {"left": "left", "right": "right"}
# Prepositions that introduce where something goes; "from" introduces where it comes from.
DESTINATION_PREPOSITIONS = {"on", "onto", "to", "into", "in", "at", "atop", "over", "toward", "towards"}
SOURCE_PREPOSITIONS = {"from", "off"}
STOP_PREPOSITIONS = DESTINATION_PREPOSITIONS | SOURCE_PREPOSITIONS | {"with", "using", "and", "up", "down"}

# Verb classes the parser decomposes; every other clause passes through to the router as said.
ACQUIRE_VERBS = {"grab", "grasp", "grip", "seize", "take", "get", "fetch", "snatch", "pick", "collect", "hold"}
LIFT_VERBS = {"lift", "raise", "hoist", "elevate"}
TRANSPORT_VERBS = {"put", "place", "set", "move", "bring", "carry", "transfer", "relocate", "shift", "stow",
                   "store", "deposit", "drop", "stack", "lay", "leave", "return", "slide"}  # fmt: skip
HANDOVER_VERBS = {"hand", "pass", "give", "switch", "swap", "handover"}
# Particles that turn "pick"/"take" into "pick up": the object is raised after the grasp.
RAISING_PARTICLES = {"up"}

# Clause boundaries, longest first so that "and then" is not split at "and".
_SEPARATORS = re.compile(
    r"\s*(?:,\s*and then|,\s*then|\band then\b|\bafter that\b|\bafterwards\b|\bthen\b|\band\b|[,;.!?])\s*"
)
FILLER = {"please", "now", "kindly", "robot", "could", "can", "would", "you", "will", "go", "ahead", "next",
           "first", "finally", "also", "just", "i", "want", "need", "to", "me"}  # fmt: skip


def split_clauses(text: str) -> list[str]:
    """The task's clauses in order, lower case, without empty or filler-only ones."""
    parts = _SEPARATORS.split(text.lower())
    clauses = [" ".join(words(p)) for p in parts]
    return [c for c in clauses if c and not set(c.split()) <= FILLER]


def words(text: str) -> list[str]:
    """Lower-case word tokens; possessive 's dropped."""
    return re.findall(r"[a-z0-9]+", text.lower().replace("'s", ""))


def name_phrase(name: str) -> str:
    """How a world name reads in a sentence: ``red_cube`` → "red cube", ``shelf_upper`` → "upper shelf"."""
    tokens = name.split("_")
    if tokens[0] in SURFACE_NOUNS and len(tokens) > 1:
        tokens = tokens[1:] + tokens[:1]
    return " ".join(tokens)
