"""``/api/v1/audit``: the tamper-evident audit ledger (``observability.ledger``), newest first,
and its verification. Admin scope: the ledger names keys, robots and who did what."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from dynamical.api.auth import Admin
from dynamical.api.deps import Settings
from dynamical.api.write_hooks import KINDS
from dynamical.observability.ledger import ledger_at, read_entries
from dynamical.observability.verify import VerifyReport, verify_data_dir

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class LedgerEntryOut(BaseModel):
    seq: int
    at: str = Field(description="UTC, ISO 8601")
    kind: str
    actor: str
    subject: str
    detail: dict[str, Any]
    prev: str = Field(description="hash of the entry before (sha256, hex)")
    hash: str


class AuditPage(BaseModel):
    entries: list[LedgerEntryOut]
    key_id: str = Field(description="fingerprint of the ledger's Ed25519 signing key")
    kinds: list[str]


@router.get("", response_model=AuditPage)
async def audit_entries(
    _: Admin,
    settings: Settings,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    kind: Annotated[str | None, Query(max_length=32, description="only entries of this kind")] = None,
) -> AuditPage:
    """Ledger entries, newest first (``offset`` skips the newest ones)."""
    ledger = ledger_at(settings.data_dir)
    entries = await run_in_threadpool(read_entries, ledger.path, offset, limit, kind)
    return AuditPage(
        entries=[LedgerEntryOut.model_validate(e) for e in entries if _is_entry(e)],
        key_id=ledger.key_id,
        kinds=list(KINDS),
    )


@router.post("/verify", response_model=VerifyReport)
async def audit_verify(_: Admin, settings: Settings) -> VerifyReport:
    """Check the whole chain and every signature (after signing the head); names the first bad entry."""
    ledger = ledger_at(settings.data_dir)
    await run_in_threadpool(ledger.sign_now)
    return await run_in_threadpool(verify_data_dir, settings.data_dir)


def _is_entry(entry: Any) -> bool:
    return isinstance(entry, dict) and {"seq", "at", "kind", "actor", "subject", "detail", "prev", "hash"} <= set(entry)
