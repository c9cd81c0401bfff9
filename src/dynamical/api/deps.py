"""Shared request dependencies: the database, the skill registry, the agent hub, path parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from dynamical.api.db import Database
from dynamical.api.errors import UnprocessableError
from dynamical.api.hub import AgentHub
from dynamical.api.models import Base
from dynamical.api.schemas import ID_PATTERN
from dynamical.api.settings import ApiSettings
from dynamical.api.skill_store import SqlSkillRegistry
from dynamical.skills.manifest import SEMVER_PATTERN, SKILL_ID_PATTERN


def _db(request: Request) -> Database:
    return request.app.state.db


def _settings(request: Request) -> ApiSettings:
    return request.app.state.settings


def _registry(request: Request) -> SqlSkillRegistry:
    return request.app.state.registry


def _hub(request: Request) -> AgentHub | None:
    return request.app.state.agent_hub


Db = Annotated[Database, Depends(_db)]
Settings = Annotated[ApiSettings, Depends(_settings)]
Registry = Annotated[SqlSkillRegistry, Depends(_registry)]
Hub = Annotated[AgentHub | None, Depends(_hub)]

ResourceId = Annotated[str, Path(pattern=ID_PATTERN, description="letters, digits, _ . -; at most 64")]
RobotFilter = Annotated[str | None, Query(pattern=ID_PATTERN, description="filter by robot id")]
SkillId = Annotated[str, Path(pattern=SKILL_ID_PATTERN)]
SkillVersion = Annotated[str, Path(pattern=SEMVER_PATTERN, max_length=64)]


def require_row(session: Session, model: type[Base], key: str | None, what: str) -> None:
    """A reference in a request body must name a stored row (422 otherwise)."""
    if key is not None and session.get(model, key) is None:
        raise UnprocessableError(f"no {what} {key!r}; register it first")
