"""Reading an uploaded skill artifact: raw bytes or one multipart file, never more than the cap.

The cap is enforced while reading (a missing or lying Content-Length changes nothing), so an
oversized upload costs at most the cap in memory and is answered 413.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request, status
from starlette.datastructures import UploadFile

ARTIFACT_FIELD = "artifact"
# Multipart framing (boundaries, part headers) around the file itself.
MULTIPART_SLACK = 64 * 1024

OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A skill artifact (DESKILL1) signed and encrypted with a key in the server's keyring: "
        f"the raw bytes, or a multipart form with the file in field {ARTIFACT_FIELD!r}.",
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [ARTIFACT_FIELD],
                    "properties": {ARTIFACT_FIELD: {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


def _too_large(limit: int) -> HTTPException:
    return HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"artifact larger than the server's limit of {limit} bytes")


async def read_artifact(request: Request, limit: int) -> bytes:
    """The artifact bytes of this request; 413 over ``limit``, 400/422 for a malformed or empty upload."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    multipart = content_type == "multipart/form-data"
    ceiling = limit + (MULTIPART_SLACK if multipart else 0)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > ceiling:
        raise _too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > ceiling:
            raise _too_large(limit)
    # Any other content type is taken as the raw artifact: `curl --data-binary @skill.art` sends
    # application/x-www-form-urlencoded, and the artifact's own magic bytes say whether it is one.
    data = await _multipart_file(request, bytes(body)) if multipart else bytes(body)
    if len(data) > limit:
        raise _too_large(limit)
    if not data:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "empty upload: send the artifact's bytes")
    return data


async def _multipart_file(request: Request, body: bytes) -> bytes:
    delivered = False

    async def replay() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    # A fresh Request over the bytes already read (and capped): Starlette parses it as usual.
    form = await Request(request.scope, replay).form(max_files=1, max_fields=8)
    try:
        upload = form.get(ARTIFACT_FIELD)
        if not isinstance(upload, UploadFile):
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"multipart upload without a file in field {ARTIFACT_FIELD!r}",
            )
        return await upload.read()
    finally:
        await form.close()
