"""Training sentences for the router, generated from each skill's manifest.

Nothing here is specific to the built-in skills: verbs come from the manifest's name and tags,
arguments from its parameters schema, so a newly registered skill gets its examples the same way.
The benchmark's held-out sentences come from other templates (``dynamical.bench.orchestration``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from dynamical.skills.manifest import SkillManifest

OBJECTS = ("red cube", "green block", "blue cube", "cup", "bottle", "box", "tool", "part", "ball", "can", "plate",
           "book", "bowl", "pen", "cloth", "glass", "phone", "toy")  # fmt: skip
SURFACES = ("table", "shelf", "upper shelf", "tray", "counter", "bin", "desk", "floor", "cabinet")
SIDES = ("left", "right")

# Frames by what the skill takes; {v} is a verb phrase, {o} an object, {s} a surface, {t} a target.
_FRAMES = {
    "none": ("{v}", "let's {v}", "time to {v}", "{v} again"),
    "obj": ("{v} the {o}", "{v} this {o}", "let's {v} the {o}", "time to {v} the {o}"),
    "obj_target": ("{v} the {o} into the {t}", "{v} the {o} onto the {t}"),
    "obj_surface": ("{v} the {o} on the {s}", "{v} the {o} onto the {s}", "please {v} the {o} to the {s}"),
    "surface": ("{v} the {s}", "{v} this {s}", "let's {v} the {s}", "time to {v} the {s}"),
    "target": ("{v} the {t}", "{v} this {t}", "let's {v} the {t}", "time to {v} the {t}"),
    "side": ("{v} with your {h} hand", "{v} using the {h} hand"),
    "obj_side": ("{v} the {o} with the {h} hand", "{v} the {o} using your {h} hand"),
    "hands": (
        "{v} the {o} from your {h} hand to your {g} hand",
        "{v} the {o} to the {g} hand",
        "{v} the {o} to your other hand",
        "{v} the {o} from one hand to the other",
    ),
}
# A small English thesaurus of verbs of physical action and interaction, keyed by word (not by
# skill): a skill whose name or tags use a key is also trained on its synonyms, so a skill
# registered with three tags still hears the words people use for them.
THESAURUS: dict[str, tuple[str, ...]] = {
    "grasp": ("grip", "seize", "clasp", "take hold of"),
    "grab": ("snatch", "seize"),
    "pick": ("pick up",),
    "take": ("get", "fetch"),
    "lift": ("raise", "hoist", "lift up"),
    "raise": ("elevate", "hold up"),
    "carry": ("bring",),
    "place": ("put", "set", "set down", "put down"),
    "put": ("lay", "rest"),
    "release": ("let go of", "unclench", "loosen your grip", "let go"),
    "handover": ("swap hands", "switch hands", "pass to the other hand"),
    "open": ("open up", "spread"),
    "move": ("shift", "reposition"),
    "transfer": ("relocate",),
    "pass": ("hand", "pass over"),
    "give": ("offer",),
    "wave": ("wave to", "wave hello"),
    "greet": ("say hello to", "welcome"),
    "hello": ("hi",),
    "point": ("point to", "point toward"),
    "indicate": ("point out", "designate"),
    "show": ("show me",),
    "look": ("glance at", "gaze at", "watch", "observe"),
    "gaze": ("stare at", "turn toward"),
    "reach": ("reach for", "reach toward", "extend your arm to"),
    "approach": ("go near", "get close to"),
    "home": ("home position", "rest pose"),
    "reset": ("go back", "return to start"),
    "wipe": ("wipe down", "mop"),
    "clean": ("scrub", "polish"),
    "pour": ("pour out", "empty"),
    "fill": ("top up",),
    "close": ("push closed",),
    "shut": ("slam",),
    "pull": ("pull open", "draw"),
    "push": ("press",),
    "nudge": ("bump",),
    "stack": ("stack up",),
    "pile": ("pile up", "heap"),
    "scan": ("scan in",),
    "read": ("check",),
    "fold": ("fold up", "crease"),
    "press": ("hit", "tap", "push down"),
    "switch": ("toggle", "flip"),
    "activate": ("turn on", "switch on"),
}


# Courtesy around a command: people rarely say a bare verb phrase. Each generated sentence gets one
# prefix and one suffix, drawn, so the gate learns to look past them.
PREFIXES = ("", "", "please ", "can you ", "would you ", "hey robot, ", "go ahead and ", "i want you to ", "now ")
SUFFIXES = ("", "", " please", " now", " carefully", " when you can", " thanks")
# A tag on this many skills or more is a category ("manipulation", "gesture"), not a verb.
CATEGORY_TAG_SKILLS = 3


_LEADING = re.compile(
    r"^(?:(?:hey |ok |okay )?robot\b|please|kindly|now|(?:could|can|would|will) you(?: please)?|"
    r"i(?:'d| would) like you to|i want you to|i need you to|go ahead and|let's|time to)\s*"
)
_TRAILING = re.compile(r"\s*\b(?:please|for me|right away|right now|now|thanks|thank you|carefully|when you can)$")


def normalize(text: str) -> str:
    """A command without the courtesy around it: "could you grab the mug for me?" → "grab the mug".

    The router embeds what is asked, not how politely; training and queries are both normalised."""
    text = re.sub(r"[^\w' -]+", " ", text.lower()).strip()
    while True:
        stripped = _TRAILING.sub("", _LEADING.sub("", text)).strip()
        if stripped == text:
            return text
        text = stripped


def verbs(manifest: SkillManifest, others: Sequence[SkillManifest] = ()) -> list[str]:
    """Verb phrases for a skill: its name, those tags that neither name another skill ("place" on
    pick_and_place belongs to the place skill) nor are categories shared by many skills, and the
    thesaurus's synonyms of their words."""
    other_names = {o.name.lower() for o in others if o.id != manifest.id} | {
        o.id.replace("_", " ") for o in others if o.id != manifest.id
    }
    counts = Counter(tag.lower() for o in others for tag in set(o.tags))
    phrases = [manifest.name.lower()]
    for tag in manifest.tags:
        tag = tag.lower().replace("_", " ")
        if tag not in other_names and counts[tag] < CATEGORY_TAG_SKILLS:
            phrases.append(tag)
    synonyms = [syn for phrase in phrases for word in phrase.split() for syn in THESAURUS.get(word, ())]
    return list(dict.fromkeys([*phrases, *synonyms]))


def training_texts(
    manifest: SkillManifest, verb_phrases: Sequence[str], per_frame: int = 3, seed: int = 0
) -> list[str]:
    """The description, the name and verb × frame sentences with drawn arguments."""
    rng = np.random.default_rng(seed)
    props = manifest.parameters_schema.get("properties", {})
    frames: list[str] = []
    if "obj" in props and "surface" in props:
        frames += _FRAMES["obj_surface"]
    elif "obj" in props and "target" in props:
        frames += _FRAMES["obj_target"]
    elif "obj" in props and "to_side" in props:
        frames += _FRAMES["hands"]
    elif "obj" in props:
        frames += _FRAMES["obj"]
    elif "target" in props:
        frames += _FRAMES["target"]
    elif "surface" in props:
        frames += _FRAMES["surface"]
    else:
        frames += _FRAMES["none"]
    if "side" in props:
        frames += _FRAMES["obj_side"] if "obj" in props else _FRAMES["side"]
    texts = [manifest.description, manifest.name]
    for verb in verb_phrases:
        for frame in frames:
            for _ in range(per_frame):
                h = str(rng.choice(SIDES))
                texts.append(
                    str(rng.choice(PREFIXES))
                    + frame.format(
                        v=verb,
                        o=rng.choice(OBJECTS),
                        s=rng.choice(SURFACES),
                        t=rng.choice(OBJECTS + SURFACES),
                        h=h,
                        g="left" if h == "right" else "right",
                    )
                    + str(rng.choice(SUFFIXES))
                )
    return list(dict.fromkeys(t for t in texts if t))
