"""The skill manifest: what a skill is, what it needs, and what it promises.

A manifest is the catalogue entry the orchestrator routes on (kind, embodiment, action space,
pre/postconditions) and the contract the executor enforces (parameters, roles, entry point or
weights). It travels inside the signed artifact as ``manifest.json``.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dynamical.names import DisplayName
from dynamical.robot.description import GroupName
from dynamical.skills.errors import SkillParameterError
from dynamical.skills.parameters import check_schema, check_value

SKILL_ID_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"
# Semantic Versioning 2.0.0 (ASCII digits only) without build metadata: a build suffix would make two distinct
# artifacts compare equal, which an immutable registry cannot allow.
_PRERELEASE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER_PATTERN = (
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    rf"(?:-({_PRERELEASE_ID}(?:\.{_PRERELEASE_ID})*))?$"
)
_SEMVER = re.compile(SEMVER_PATTERN)
_ENTRY_POINT = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$", re.ASCII)
_WEIGHT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

SkillKind = Literal["scripted", "policy", "vla"]
Role = Literal["independent", "leader", "follower", "observer", "assistant"]
PredicateName = Literal[
    "holding",
    "on",
    "hand_empty",
    "reachable",
    "at_home",
    "near",
    "hand_open",
    "hand_over",
    "arm_at_rest",
    "looking_at",
    "pointing_at",
]

# Precedence key of one pre-release identifier: numeric ones sort before alphanumeric ones.
_PrereleaseKey = tuple[tuple[int, int, str], ...]
VersionKey = tuple[int, int, int, int, _PrereleaseKey]


def version_key(version: str) -> VersionKey:
    """Sort key giving semver precedence: 1.2.0 < 1.10.0, 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0."""
    match = _SEMVER.fullmatch(version)
    if match is None:
        raise ValueError(f"{version!r} is not a semantic version MAJOR.MINOR.PATCH[-prerelease]")
    major, minor, patch, prerelease = match.groups()
    if prerelease is None:
        # A release sorts after every pre-release of the same MAJOR.MINOR.PATCH.
        return int(major), int(minor), int(patch), 1, ()
    identifiers = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in prerelease.split("."))
    return int(major), int(minor), int(patch), 0, identifiers


class SkillRef(BaseModel):
    """One version of one skill, written ``id@version``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=SKILL_ID_PATTERN)
    version: str = Field(pattern=SEMVER_PATTERN)

    @classmethod
    def parse(cls, text: str) -> SkillRef:
        skill_id, sep, version = text.partition("@")
        if not sep:
            raise ValueError(f"{text!r} is not a skill reference of the form id@version")
        return cls(id=skill_id, version=version)

    def __str__(self) -> str:
        return f"{self.id}@{self.version}"


class ActionSpace(BaseModel):
    """What the skill commands: joint positions or end-effector poses, for these joint groups."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["joint_positions", "ee_poses"]
    groups: list[GroupName] = Field(min_length=1)

    @field_validator("groups")
    @classmethod
    def _unique(cls, groups: list[str]) -> list[str]:
        if len(set(groups)) != len(groups):
            raise ValueError(f"joint groups must be listed once each, got {groups}")
        return groups


class Predicate(BaseModel):
    """A fact about the world, e.g. ``holding(obj=red_cube, side=right)``.

    An argument written ``$name`` stands for the skill parameter ``name``; ``bind`` fills it in.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: PredicateName
    args: dict[str, str] = {}
    negate: bool = False

    def parameter_refs(self) -> set[str]:
        """Names of the skill parameters this predicate refers to."""
        return {value[1:] for value in self.args.values() if value.startswith("$")}

    def bind(self, params: dict[str, Any]) -> Predicate:
        """This predicate with every ``$name`` argument replaced by the value of parameter ``name``."""
        bound: dict[str, str] = {}
        for arg, value in self.args.items():
            if not value.startswith("$"):
                bound[arg] = value
                continue
            param = value[1:]
            if param not in params:
                raise SkillParameterError(
                    f"predicate {self.name!r} argument {arg!r} refers to parameter {param!r}, "
                    f"which was not given (given: {sorted(params)})"
                )
            if not isinstance(params[param], str):
                raise SkillParameterError(
                    f"parameter {param!r} fills predicate {self.name!r} argument {arg!r} and must be "
                    f"a string, got {params[param]!r}"
                )
            bound[arg] = params[param]
        return self.model_copy(update={"args": bound})

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.args.items())
        return f"{'not ' if self.negate else ''}{self.name}({args})"


class SkillManifest(BaseModel):
    """The manifest of one version of one skill (``manifest.json`` inside its artifact)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=SKILL_ID_PATTERN)
    version: str = Field(pattern=SEMVER_PATTERN)
    name: DisplayName
    description: str = ""
    tags: list[str] = []
    kind: SkillKind
    embodiment: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """Name of the robot profile the skill was written or trained for, e.g. ``dynamical-humanoid``."""
    action_space: ActionSpace
    observations: list[str] = []
    parameters_schema: dict[str, Any] = {"type": "object", "properties": {}}
    preconditions: list[Predicate] = []
    postconditions: list[Predicate] = []
    roles: list[Role] = Field(default=["independent"], min_length=1)
    nominal_duration_s: float = Field(gt=0, allow_inf_nan=False)
    entry_point: str | None = None
    """``package.module:callable`` of a scripted skill; absent for learned skills."""
    weights: list[str] = []
    """Names of the safetensors files of a learned skill, stored as ``weights/<name>.safetensors``."""
    policy_format: Literal["onnx"] | None = None
    """A learned skill exported as a graph: ``"onnx"`` carries ``policy.onnx`` and ``policy.json``
    (``skills.policy_spec``), run by the executor with onnxruntime; besides or instead of weights."""

    @field_validator("parameters_schema")
    @classmethod
    def _schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        if schema.get("type") != "object":
            raise ValueError(f'parameters_schema must be a JSON Schema with "type": "object", got {schema!r}')
        check_schema(schema)
        return schema

    @field_validator("roles")
    @classmethod
    def _unique_roles(cls, roles: list[str]) -> list[str]:
        if len(set(roles)) != len(roles):
            raise ValueError(f"roles must be listed once each, got {roles}")
        return roles

    @field_validator("weights")
    @classmethod
    def _weight_names(cls, weights: list[str]) -> list[str]:
        for name in weights:
            if not _WEIGHT_NAME.fullmatch(name) or name in (".", ".."):
                raise ValueError(f"weight name {name!r} must be a plain file name (letters, digits, _ . -)")
            if name.endswith(".safetensors"):
                raise ValueError(f"weight name {name!r}: give the name without '.safetensors'")
        if len(set(weights)) != len(weights):
            raise ValueError(f"weight names must be listed once each, got {weights}")
        return weights

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.kind == "scripted":
            if self.entry_point is None:
                raise ValueError("a scripted skill needs an entry_point 'package.module:callable'")
            if not _ENTRY_POINT.fullmatch(self.entry_point):
                raise ValueError(f"entry_point {self.entry_point!r} is not of the form 'package.module:callable'")
            if self.weights:
                raise ValueError(f"a scripted skill carries no weights, got {self.weights}")
            if self.policy_format is not None:
                raise ValueError("a scripted skill carries no policy graph (policy_format)")
        else:
            if self.entry_point is not None:
                raise ValueError(f"a {self.kind} skill runs its weights and takes no entry_point")
            if not self.weights and self.policy_format is None:
                raise ValueError(
                    f"a {self.kind} skill needs at least one safetensors file in 'weights' or a policy_format"
                )
        declared = set(self.parameters_schema.get("properties", {}))
        for predicate in (*self.preconditions, *self.postconditions):
            unknown = sorted(predicate.parameter_refs() - declared)
            if unknown:
                raise ValueError(
                    f"predicate {predicate} refers to parameters {unknown} that parameters_schema does not "
                    f"declare (declared: {sorted(declared)})"
                )
        return self

    @property
    def ref(self) -> SkillRef:
        return SkillRef(id=self.id, version=self.version)

    @property
    def version_tuple(self) -> VersionKey:
        """Sort key in semver precedence order (see ``version_key``)."""
        return version_key(self.version)

    @staticmethod
    def weight_path(name: str) -> str:
        """Path of weight ``name`` inside the artifact."""
        return f"weights/{name}.safetensors"

    def validate_parameters(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` checked against ``parameters_schema``, with defaults filled in.

        Raises ``SkillParameterError`` naming the first parameter that is missing or invalid.
        """
        if not isinstance(params, dict):
            raise SkillParameterError(f"parameters must be an object, got {type(params).__name__}")
        return check_value(params, self.parameters_schema)
