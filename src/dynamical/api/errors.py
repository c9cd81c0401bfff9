"""Errors to HTTP answers: every error a client can cause is a 4xx with a one-line ``detail``.

Validation errors keep FastAPI's list of problems under ``errors`` and add a readable ``detail``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from dynamical.api.db import DatabaseError, _first_line
from dynamical.skills.errors import (
    ArtifactError,
    BlobError,
    KeyringError,
    SkillParameterError,
    SkillVersionConflict,
    UnknownSkillError,
)

log = logging.getLogger(__name__)


class NotFoundError(LookupError):
    """A resource named in the path does not exist (404)."""


class ConflictError(ValueError):
    """The request collides with what is stored, e.g. an id already taken (409)."""


class UnprocessableError(ValueError):
    """The body is well-formed but names something that does not exist or cannot be done (422)."""


def _answer(code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=code)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = len(exc.errors()) - 5
    return "invalid request: " + "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Inputs can be bytes (a body that is not UTF-8); jsonable_encoder would choke on some.
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        body = {"detail": _describe_validation(exc), "errors": jsonable_encoder(errors)}
        return JSONResponse(body, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(NotFoundError)
    @app.exception_handler(UnknownSkillError)
    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return _answer(status.HTTP_404_NOT_FOUND, str(exc))

    @app.exception_handler(ConflictError)
    @app.exception_handler(SkillVersionConflict)
    async def conflict(_: Request, exc: Exception) -> JSONResponse:
        return _answer(status.HTTP_409_CONFLICT, str(exc))

    @app.exception_handler(ArtifactError)
    async def bad_artifact(_: Request, exc: ArtifactError) -> JSONResponse:
        # The error's class names the problem: format, key, tampered, content.
        return _answer(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{type(exc).__name__}: {exc}")

    @app.exception_handler(UnprocessableError)
    @app.exception_handler(SkillParameterError)
    async def unprocessable(_: Request, exc: Exception) -> JSONResponse:
        return _answer(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))

    @app.exception_handler(IntegrityError)
    async def integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        # Routers check what they can first; this is the race they cannot (two inserts at once).
        return _answer(status.HTTP_409_CONFLICT, f"conflicts with stored data: {_first_line(exc)}")

    @app.exception_handler(DataError)
    async def data(_: Request, exc: DataError) -> JSONResponse:
        return _answer(status.HTTP_422_UNPROCESSABLE_CONTENT, f"the database refused a value: {_first_line(exc)}")

    @app.exception_handler(OperationalError)
    @app.exception_handler(DatabaseError)
    async def unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.error("database error: %s", exc)
        return _answer(status.HTTP_503_SERVICE_UNAVAILABLE, f"database unavailable: {_first_line(exc)}")

    @app.exception_handler(BlobError)
    @app.exception_handler(KeyringError)
    async def storage(_: Request, exc: Exception) -> JSONResponse:
        # The server's own storage is broken (a corrupt blob, an unreadable keyring): not the client's fault.
        log.error("storage error: %s", exc)
        return _answer(status.HTTP_500_INTERNAL_SERVER_ERROR, f"server storage error: {exc}")
