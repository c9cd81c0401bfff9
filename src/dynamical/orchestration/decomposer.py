"""L3: a task in words → ordered steps, each a short instruction with resolved arguments.

A step names no skill: its ``text`` is what the router (L4) reads, its ``args`` the world names
the chosen skill's parameters are filled from (``obj``, ``surface``, ``target``, ``side``,
``from_side``, ``to_side``; a skill takes those its schema declares).
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from dynamical.orchestration.world import WorldSnapshot

ArgName = Literal["obj", "surface", "target", "side", "from_side", "to_side"]
ARG_NAMES: tuple[str, ...] = ("obj", "surface", "target", "side", "from_side", "to_side")


class TaskStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1)
    """The instruction the router reads, e.g. "grasp the red cube"."""
    source: str
    """The clause of the task it comes from."""
    action: str | None = None
    """The decomposer's own reading (grasp, lift, place, handover), or None when the clause passed through."""
    args: dict[ArgName, str] = {}


class Decomposition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: str
    steps: list[TaskStep] = Field(min_length=1)
    backend: Literal["parser", "llm"]
    notes: list[str] = []
    """What the decomposer decided on its own (a fallback, an object already held)."""


class TaskDecomposer(Protocol):
    def decompose(self, task: str, world: WorldSnapshot) -> Decomposition: ...
