"""The task text stored with every recorded frame: what a person would say to ask for the episode.

Language-conditioned policies and the dashboard read it; it is made from the skill and its
parameters (``red_cube`` → "red cube", a height in m → cm) so one dataset holds one phrasing.
"""

from __future__ import annotations

from typing import Any

TEMPLATES: dict[str, str] = {
    "pick_and_place": "pick up the {obj} and place it on the {surface}",
    "lift": "pick up the {obj} and lift it {height}",
    "grasp": "grasp the {obj}",
    "place": "place the {obj} on the {surface}",
    "handover": "hand over the {obj}",
    "reach": "reach for the {target}",
    "point_at": "point at the {target}",
    "look_at": "look at the {target}",
    "open_hand": "open the hand",
    "go_home": "go back to the rest pose",
    "wave": "wave",
}


def task_text(skill: str, params: dict[str, Any]) -> str:
    """``skill`` with ``params`` (the episode's, setup skills' included) as a sentence."""
    words = {key: _words(key, value) for key, value in params.items()}
    template = TEMPLATES.get(skill)
    if template is not None:
        try:
            return template.format(**words)
        except KeyError:
            pass
    shown = ", ".join(f"{k} {v}" for k, v in words.items())
    return skill.replace("_", " ") + (f" ({shown})" if shown else "")


def _words(key: str, value: Any) -> str:
    if key == "height" and isinstance(value, int | float):
        return f"{round(float(value) * 100)} cm"
    return str(value).replace("_", " ")
