"""An optional L3 backend: an OpenAI-compatible chat API decomposes the task.

The model is asked for JSON steps (``text``, ``action``, ``args``); its answer is validated like
the parser's output: the schema by pydantic, every object and surface it names resolved against
the world (so a hallucinated "yellow cube" is refused with what is known). When the endpoint is
unreachable, slow, or answers something that does not validate, the offline parser takes over and
the decomposition says why in its notes.
"""

from __future__ import annotations

import json

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dynamical.orchestration.decomposer import ARG_NAMES, ArgName, Decomposition, TaskDecomposer, TaskStep
from dynamical.orchestration.errors import EmptyTaskError, OrchestrationError
from dynamical.orchestration.parser import ParserDecomposer
from dynamical.orchestration.references import Resolver
from dynamical.orchestration.world import WorldSnapshot

_SYSTEM = """You turn a robot task into primitive steps. Answer with JSON only:
{"steps": [{"text": "<short imperative, e.g. grasp the red cube>", "action": "<verb>",
"args": {"obj": "<object name>", "surface": "<surface name>", "target": "<object or surface>",
"side": "left|right", "from_side": "left|right", "to_side": "left|right"}}]}
Use only the names listed. Pick up = grasp then lift; put X on S = grasp, lift, place."""


class LLMConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: str
    """E.g. http://localhost:8000/v1 (the chat completions endpoint is ``{base_url}/chat/completions``)."""
    model: str
    api_key: str | None = None
    timeout_s: float = Field(5.0, gt=0)


class _LLMStep(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str = Field(min_length=1)
    action: str | None = None
    args: dict[str, str] = {}


class _LLMAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    steps: list[_LLMStep] = Field(min_length=1)


class LLMDecomposer:
    """Decompose with an LLM; fall back to ``fallback`` (the parser) when it cannot answer."""

    def __init__(
        self, config: LLMConfig, fallback: TaskDecomposer | None = None, client: httpx.Client | None = None
    ) -> None:
        self.config = config
        self.fallback = fallback or ParserDecomposer()
        self._client = client or httpx.Client(timeout=config.timeout_s)

    def decompose(self, task: str, world: WorldSnapshot) -> Decomposition:
        if not task.strip():
            raise EmptyTaskError("the task is empty: say what to do, e.g. 'pick up the red cube'")
        try:
            return self._ask(task, world)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            reason = _reason(exc)
        decomposition = self.fallback.decompose(task, world)
        return decomposition.model_copy(
            update={"notes": [f"LLM unavailable ({reason}); parser used", *decomposition.notes]}
        )

    def _ask(self, task: str, world: WorldSnapshot) -> Decomposition:
        names = f"objects: {', '.join(world.object_names)}; surfaces: {', '.join(world.surface_names)}"
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        response = self._client.post(
            f"{self.config.base_url.rstrip('/')}/chat/completions",
            headers=headers,
            json={
                "model": self.config.model,
                "temperature": 0,
                "response_format": {"type": "json_object"},
                "messages": [
                    {"role": "system", "content": _SYSTEM},
                    {"role": "user", "content": f"World {names}.\nTask: {task}"},
                ],
            },
        )
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
        answer = _LLMAnswer.model_validate(json.loads(_strip_fence(content)))
        resolver = Resolver(world)
        steps = []
        for step in answer.steps:
            args: dict[ArgName, str] = {}
            for key, value in step.args.items():
                if key not in ARG_NAMES or not value:
                    continue
                if key in ("side", "from_side", "to_side"):
                    if value not in ("left", "right"):
                        raise ValueError(f"LLM step {step.text!r}: {key} must be left or right, got {value!r}")
                    args[key] = value  # type: ignore[index]
                else:
                    args[key] = resolver.name(value)  # type: ignore[index]
            steps.append(TaskStep(text=step.text, source=task, action=step.action, args=args))
        return Decomposition(task=task, steps=steps, backend="llm")


def _strip_fence(content: str) -> str:
    # Chat models often wrap JSON in a ```json fence despite being asked not to.
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text


def _reason(exc: Exception) -> str:
    if isinstance(exc, OrchestrationError | ValidationError):
        return f"invalid answer: {str(exc).splitlines()[0]}"
    return f"{type(exc).__name__}: {exc}"
