"""``/api/v1/skills``: the skill registry (database + blob store), built-ins included.

Uploading or deprecating a skill needs the admin scope: a skill is code the robots will run.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from dynamical.api.auth import Admin, Reader
from dynamical.api.deps import Registry, Settings, SkillId, SkillVersion
from dynamical.api.schemas import (
    DeprecateRequest,
    SkillDetail,
    SkillRegistered,
    SkillSummary,
    SkillVersionDetail,
    SkillVersionOut,
)
from dynamical.api.upload import OPENAPI_BODY, read_artifact

router = APIRouter(prefix="/api/v1/skills", tags=["skills"])
_NOT_FOUND = {404: {"description": "no such skill or version"}}


@router.get("", response_model=list[SkillSummary])
def list_skills(
    _: Reader,
    registry: Registry,
    include_deprecated: Annotated[bool, Query(description="also skills whose every version is deprecated")] = False,
) -> list[SkillSummary]:
    """Every skill, by id, with its newest version that is not deprecated."""
    return registry.summaries(include_deprecated)


@router.post(
    "",
    response_model=SkillRegistered,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=OPENAPI_BODY,
    responses={
        200: {"model": SkillRegistered, "description": "this exact artifact was already registered"},
        409: {"description": "this id@version is registered with other content"},
        413: {"description": "larger than the server's limit"},
        422: {"description": "not an artifact, tampered, unknown key, or invalid contents"},
    },
)
async def upload_skill(request: Request, response: Response, _: Admin, settings: Settings, registry: Registry):
    """Register a signed, encrypted skill artifact after verifying it with the server's keyring."""
    blob = await read_artifact(request, settings.max_artifact_bytes)
    result = await run_in_threadpool(registry.add, blob)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return SkillRegistered(
        ref=str(result.ref), id=result.ref.id, version=result.ref.version, digest=result.digest, created=result.created
    )


@router.get("/{skill_id}", response_model=SkillDetail, responses=_NOT_FOUND)
def get_skill(skill_id: SkillId, _: Reader, registry: Registry) -> SkillDetail:
    """A skill with every version (deprecated ones included) and its manifest."""
    return registry.detail(skill_id)


@router.get("/{skill_id}/versions/{version}", response_model=SkillVersionDetail, responses=_NOT_FOUND)
def get_skill_version(skill_id: SkillId, version: SkillVersion, _: Reader, registry: Registry) -> SkillVersionDetail:
    return registry.version_detail(skill_id, version)


@router.post("/{skill_id}/versions/{version}/deprecate", response_model=SkillVersionOut, responses=_NOT_FOUND)
def deprecate_skill_version(
    skill_id: SkillId, version: SkillVersion, body: DeprecateRequest, _: Admin, registry: Registry
) -> SkillVersionOut:
    """Deprecate one version: listings and unpinned lookups skip it; pinned plans still find it."""
    return registry.deprecate(skill_id, version, body.reason)
