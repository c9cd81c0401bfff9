"""The soak's tasks: plain-language requests covering every built-in skill, object and surface.

Seeded and reproducible: task ``k`` of seed ``s`` is the same sentence on every machine. Skills
come round in a shuffled order each cycle, so any 11 consecutive tasks exercise all 11 skills;
objects, surfaces and hands rotate the same way, and each mention is phrased one of several ways
("the red cube", "the crimson block", "the block which is red", "the one that is green"), always
one the world resolves without ambiguity.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict

from dynamical.orchestration.lexicon import name_phrase
from dynamical.orchestration.world import WorldSnapshot

# Per skill, sentences with {o} (an object), {s} (a surface) and {side} (a hand).
TEMPLATES: dict[str, list[str]] = {
    "go_home": ["go home", "go to your rest pose", "go back to the home position", "head back home"],
    "look_at": ["look at {o}", "look at {s}", "turn your head toward {o}", "please look at {o}"],
    "reach": ["reach for {o} with your {side} hand", "reach toward {o}", "reach over {s} with your {side} hand"],
    "open_hand": ["open your {side} hand", "open the fingers of your {side} hand", "please open your {side} hand"],
    "grasp": ["pick up {o}", "grab {o}", "grasp {o} with your {side} hand", "take {o}"],
    "lift": ["lift {o}", "raise {o}", "lift {o} with your {side} hand"],
    "place": ["pick up {o} and put it on {s}", "grab {o}, then place it on {s}", "pick up {o} and set it on {s}"],
    "pick_and_place": ["put {o} on {s}", "move {o} onto {s}", "take {o} to {s}", "place {o} on {s}"],
    "handover": ["hand {o} to your left hand", "pass {o} to your right hand", "give {o} to your other hand"],
    "wave": ["wave with your {side} hand", "wave hello", "wave", "wave with your {side} hand twice"],
    "point_at": ["point at {o}", "point at {s} with your {side} hand", "point to {o}"],
}
# Other words for the world's colours and kinds (the parser's lexicon knows them all).
COLOUR_WORDS = {"red": ["red", "crimson", "scarlet"], "green": ["green", "emerald"], "blue": ["blue", "azure", "navy"]}
KIND_WORDS = {"cube": ["cube", "block", "brick"], "cup": ["cup", "mug"]}
SURFACE_WORDS = {
    "table": ["the table", "the desk"],
    "shelf": ["the shelf"],
    "shelf_lower": ["the lower shelf", "the bottom shelf"],
    "shelf_upper": ["the upper shelf", "the top shelf"],
}


class SoakTask(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    index: int
    skill: str
    """The built-in skill the sentence is written for."""
    text: str
    world_seed: int
    """The object layout the world is reset to before the task."""
    objects: list[str] = []
    surfaces: list[str] = []


def generate_tasks(world: WorldSnapshot, count: int, seed: int, skills: list[str] | None = None) -> list[SoakTask]:
    """``count`` tasks for ``world``; ``skills`` limits them to those skills (default: all)."""
    rng = random.Random(seed)
    families = sorted(skills if skills is not None else TEMPLATES)
    unknown = set(families) - set(TEMPLATES)
    if unknown:
        raise ValueError(f"no soak sentences for skills {sorted(unknown)}; known: {sorted(TEMPLATES)}")
    skill_cycle = _cycle(families, rng)
    object_cycle = _cycle([o.name for o in world.objects], rng)
    surface_cycle = _cycle([s for s in world.surface_names if s in SURFACE_WORDS], rng)
    side_cycle = _cycle(["left", "right"], rng)
    tasks = []
    for index in range(count):
        skill = next(skill_cycle)
        template = rng.choice(TEMPLATES[skill])
        obj = next(object_cycle) if "{o}" in template else None
        surface = next(surface_cycle) if "{s}" in template else None
        text = template.format(
            o=_object_phrase(world, obj, rng) if obj else "",
            s=rng.choice(SURFACE_WORDS[surface]) if surface else "",
            side=next(side_cycle),
        )
        tasks.append(
            SoakTask(
                index=index,
                skill=skill,
                text=text,
                world_seed=seed * 100_000 + index,
                objects=[obj] if obj else [],
                surfaces=[surface] if surface else [],
            )
        )
    return tasks


def _cycle(items: list[str], rng: random.Random) -> Iterator[str]:
    """Every item once per round, in a new order each round."""
    while True:
        order = list(items)
        rng.shuffle(order)
        yield from order


def _object_phrase(world: WorldSnapshot, name: str, rng: random.Random) -> str:
    """One of several ways to say object ``name`` that pick it alone in ``world``."""
    info = world.object(name)
    colour, kind = info.colour, info.kind
    if colour not in COLOUR_WORDS or kind not in KIND_WORDS:
        return f"the {name_phrase(name)}"
    c, k = rng.choice(COLOUR_WORDS[colour]), rng.choice(KIND_WORDS[kind])
    phrases = [f"the {c} {k}", f"the {k} which is {c}", f"the {k} that is {c}"]
    if sum(o.colour == colour for o in world.objects) == 1:
        phrases += [f"the {c} one", f"the one that is {c}"]
    return rng.choice(phrases)
