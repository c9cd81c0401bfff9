"""Training sentences for the router, generated from each skill's manifest.

Nothing here is specific to the built-in skills: verbs come from the manifest's name and tags,
arguments from its parameters schema, so a newly registered skill gets its examples the same way.
The benchmark's held-out sentences come from other templates (``dynamical.bench.orchestration``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from dynamical.skills.manifest import SkillManifest

OBJECTS = ("red cube", "green block", "blue cube", "cup", "bottle", "box", "tool", "part")
SURFACES = ("table", "shelf", "upper shelf", "tray", "counter", "bin")
SIDES = ("left", "right")

# Frames by what the skill takes; {v} is a verb phrase, {o} an object, {s} a surface, {t} a target.
_FRAMES = {
    "none": ("{v}", "{v} now", "please {v}", "{v} please"),
    "obj": ("{v} the {o}", "please {v} the {o}", "{v} the {o} now"),
    "obj_surface": ("{v} the {o} on the {s}", "{v} the {o} onto the {s}", "please {v} the {o} to the {s}"),
    "target": ("{v} the {t}", "please {v} the {t}", "{v} the {t} now"),
    "side": ("{v} with your {h} hand", "{v} using the {h} hand"),
    "obj_side": ("{v} the {o} with the {h} hand", "{v} the {o} using your {h} hand"),
    "hands": ("{v} the {o} from your {h} hand to your {g} hand", "{v} the {o} to the {g} hand"),
}
# A tag on this many skills or more is a category ("manipulation", "gesture"), not a verb.
CATEGORY_TAG_SKILLS = 3


def verbs(manifest: SkillManifest, others: Sequence[SkillManifest] = ()) -> list[str]:
    """Verb phrases for a skill: its name and those tags that neither name another skill ("place"
    on pick_and_place belongs to the place skill) nor are categories shared by many skills."""
    other_names = {o.name.lower() for o in others if o.id != manifest.id} | {
        o.id.replace("_", " ") for o in others if o.id != manifest.id
    }
    counts = Counter(tag.lower() for o in others for tag in set(o.tags))
    phrases = [manifest.name.lower()]
    for tag in manifest.tags:
        tag = tag.lower().replace("_", " ")
        if tag not in other_names and counts[tag] < CATEGORY_TAG_SKILLS:
            phrases.append(tag)
    return list(dict.fromkeys(phrases))


def training_texts(
    manifest: SkillManifest, others: Sequence[SkillManifest] = (), per_frame: int = 3, seed: int = 0
) -> list[str]:
    """The description, the name and verb × frame sentences with drawn arguments.

    ``others`` are the other registered skills: they decide which tags are this skill's verbs."""
    rng = np.random.default_rng(seed)
    props = manifest.parameters_schema.get("properties", {})
    frames: list[str] = []
    if "obj" in props and "surface" in props:
        frames += _FRAMES["obj_surface"]
    elif "obj" in props and "to_side" in props:
        frames += _FRAMES["hands"]
    elif "obj" in props:
        frames += _FRAMES["obj"]
    elif "target" in props:
        frames += _FRAMES["target"]
    else:
        frames += _FRAMES["none"]
    if "side" in props:
        frames += _FRAMES["obj_side"] if "obj" in props else _FRAMES["side"]
    texts = [manifest.description, manifest.name]
    for verb in verbs(manifest, others):
        for frame in frames:
            for _ in range(per_frame):
                h = str(rng.choice(SIDES))
                texts.append(
                    frame.format(
                        v=verb,
                        o=rng.choice(OBJECTS),
                        s=rng.choice(SURFACES),
                        t=rng.choice(OBJECTS + SURFACES),
                        h=h,
                        g="left" if h == "right" else "right",
                    )
                )
    return list(dict.fromkeys(t for t in texts if t))
