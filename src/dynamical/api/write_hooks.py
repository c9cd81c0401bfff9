"""Database writes followed after they commit (a rolled-back write leaves no trace): into the
audit ledger (what goes in is decided here, in one place: the writes that record a key, skill,
deployment, e-stop, reset or request) and into the server's Prometheus counters (safety events
stored, planning times).

Hooking the writes, not their call sites, is deliberate: every path that creates an API key
(the server's first start, ``dynamical keys create``), every request audited by
``api/audit.py`` and every link event of ``api/link_audit.py`` reaches the ledger without each
handler having to remember it. A process joins by ``attach(database_url, data_dir)`` (and a
server's metrics by ``attach_metrics``); writes to a database nothing is attached to are not
followed.

Operations that are not database writes (signing an artifact, an encryption, a DP spend) call
``record_operation`` directly, or ``observability.audit_operations.OperationsAudit`` (typed, validated
details: what ``fleet/`` uses).

The kinds (``KINDS``) and what produces them:

| kind | from |
|---|---|
| ``key.generated`` / ``key.revoked`` / ``key.rotated`` | an API key created, revoked; a robot credential replaced; |
|   | the ledger's own signing key |
| ``key.distributed`` | a robot credential's public half stored for a robot |
| ``skill.signed`` | ``record_operation`` by whoever packages an artifact |
| ``skill.uploaded`` / ``skill.deprecated`` | a skill version registered / deprecated |
| ``skill.refused`` | an upload answered 4xx (tampered, unsigned, malformed), a deployment that failed |
| ``skill.deploy_requested`` / ``skill.deployed`` | a deployment created / delivered |
| ``estop`` / ``reset`` | the e-stop and reset routes (who asked); the kernel's ESTOP/RESET events (what it did) |
| ``encryption`` / ``aggregation`` / ``decryption`` / ``dp.spend`` | ``OperationsAudit`` (federated learning) |
| ``request`` / ``link`` | every other audited request and agent-link event |
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, make_url
from sqlalchemy.orm import Session

from dynamical.api.models import ApiKey, AuditEntry, Deployment, Execution, RobotCredential, SafetyEvent, SkillVersion
from dynamical.observability.audit_operations import KINDS
from dynamical.observability.ledger import AuditLedger, ledger_at
from dynamical.observability.metrics import ServerMetrics
from dynamical.safety.rules import Rule

log = logging.getLogger(__name__)

PENDING = "dynamical.audit_ledger.pending"
PENDING_METRICS = "dynamical.metrics.pending"
KERNEL_KINDS = {int(Rule.ESTOP): "estop", int(Rule.ESTOP_POWER_OFF): "estop", int(Rule.RESET): "reset"}

Pending = tuple[str, str, str, dict[str, Any]]
_attached: dict[str, Path] = {}
_metrics: dict[str, ServerMetrics] = {}
_lock = threading.Lock()
failures = 0
"""Entries that could not be written (the change they describe was committed): a metric."""


def attach(database_url: str, data_dir: Path) -> AuditLedger:
    """Follow writes to ``database_url`` into ``data_dir``'s ledger (idempotent)."""
    ledger = ledger_at(data_dir)
    with _lock:
        _attached[_key(database_url)] = data_dir
        _install()
    return ledger


def attach_metrics(database_url: str, metrics: ServerMetrics) -> None:
    """Count safety events and planning times written to ``database_url`` into ``metrics``."""
    with _lock:
        _metrics[_key(database_url)] = metrics
        _install()


def record_operation(data_dir: Path, kind: str, actor: str, subject: str, detail: dict[str, Any] | None = None) -> None:
    """An operation that is not a database write (an artifact signed, an encryption, a DP spend)."""
    if kind not in KINDS:
        raise ValueError(f"unknown audit kind {kind!r}; one of {', '.join(KINDS)}")
    ledger_at(data_dir).append(kind, actor, subject, detail)


def _key(url: Any) -> str:
    # The same database named the same way whether it came as a string or an engine's URL.
    return make_url(url).render_as_string(hide_password=True)


_installed = False


def _install() -> None:
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_rollback)
    _installed = True


def _url(session: Session) -> str:
    bind = session.get_bind()
    return _key(bind.engine.url if hasattr(bind, "engine") else bind.url)


def _after_flush(session: Session, _context: Any) -> None:
    if not _attached and not _metrics:
        return
    url = _url(session)
    if url in _attached:
        found: list[Pending] = []
        for row in session.new:
            found.extend(_inserted(row))
        for row in session.dirty:
            found.extend(_updated(row))
        if found:
            session.info.setdefault(PENDING, []).extend(found)
    if url in _metrics:
        counted: list[tuple[str, Any]] = []
        for row in session.new:
            if isinstance(row, SafetyEvent):
                counted.append(("safety_event", (row.robot_id, row.rule_name)))
        for row in session.dirty:
            planned = isinstance(row, Execution) and inspect(row).attrs["planning_time_ms"].history.added
            if planned and row.planning_time_ms is not None:
                counted.append(("planning", row.planning_time_ms / 1e3))
        if counted:
            session.info.setdefault(PENDING_METRICS, []).extend(counted)


def _after_commit(session: Session) -> None:
    pending: list[Pending] = session.info.pop(PENDING, [])
    counted: list[tuple[str, Any]] = session.info.pop(PENDING_METRICS, [])
    if not pending and not counted:
        return
    url = _url(session)
    metrics = _metrics.get(url)
    if metrics is not None:
        for what, value in counted:
            if what == "safety_event":
                metrics.safety_events.labels(robot=value[0], rule=value[1]).inc()
            else:
                metrics.planning.observe(value)
    data_dir = _attached.get(url)
    if data_dir is None:
        return
    global failures
    for kind, actor, subject, detail in pending:
        try:
            ledger_at(data_dir).append(kind, actor, subject, detail)
        except Exception:  # committed already: losing its ledger line must not fail the request
            failures += 1
            log.exception("could not append %s %s to the audit ledger", kind, subject)
            continue
        if metrics is not None:
            metrics.audit_entries.labels(kind=kind).inc()


def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(PENDING_METRICS, None)


def _inserted(row: object) -> list[Pending]:
    if isinstance(row, AuditEntry):
        return [_request(row)]
    if isinstance(row, ApiKey):
        return [("key.generated", "admin", f"api-key:{row.prefix}", {"scope": row.scope, "name": row.name})]
    if isinstance(row, RobotCredential):
        detail = {"fingerprint": row.fingerprint}
        return [("key.distributed", "admin", f"robot:{row.robot_id}", detail)]
    if isinstance(row, SkillVersion):
        detail = {"digest": row.digest, "signing_key": row.signing_key_id, "builtin": row.builtin}
        return [("skill.uploaded", "admin", f"{row.skill_id}@{row.version}", detail)]
    if isinstance(row, Deployment):
        detail = {"skill_version_pk": row.skill_version_pk, "status": row.status}
        return [("skill.deploy_requested", "operator", f"robot:{row.robot_id}", detail)]
    if isinstance(row, SafetyEvent) and row.rule in KERNEL_KINDS:
        detail = {"rule": row.rule_name, "t": row.t, "tick": row.tick, "request_id": row.request_id}
        return [(KERNEL_KINDS[row.rule], f"robot:{row.robot_id}", f"robot:{row.robot_id}", detail)]
    return []


def _updated(row: object) -> list[Pending]:
    state = inspect(row)

    def changed(attribute: str) -> bool:
        return bool(state.attrs[attribute].history.added)

    if isinstance(row, ApiKey) and changed("revoked_at") and row.revoked_at is not None:
        return [("key.revoked", "admin", f"api-key:{row.prefix}", {"scope": row.scope})]
    if isinstance(row, RobotCredential):
        if changed("revoked_at") and row.revoked_at is not None:
            return [("key.revoked", "admin", f"robot:{row.robot_id}", {"fingerprint": row.fingerprint})]
        if changed("public_key"):
            return [("key.rotated", "admin", f"robot:{row.robot_id}", {"fingerprint": row.fingerprint})]
    if isinstance(row, SkillVersion) and changed("deprecated_at") and row.deprecated_at is not None:
        detail = {"reason": row.deprecated_reason or ""}
        return [("skill.deprecated", "admin", f"{row.skill_id}@{row.version}", detail)]
    if isinstance(row, Deployment) and changed("status") and row.status in ("delivered", "failed"):
        kind = "skill.deployed" if row.status == "delivered" else "skill.refused"
        detail = {"skill_version_pk": row.skill_version_pk, "error": row.error}
        return [(kind, f"robot:{row.robot_id}", f"robot:{row.robot_id}", detail)]
    return []


def _request(row: AuditEntry) -> Pending:
    path = row.path
    detail = {"status_code": row.status_code, "client": row.client, "audit_log_id": row.id}
    if row.method == "LINK":
        return ("link", row.actor, path, detail)
    route = path.split("?")[0].rstrip("/")
    if route.endswith("/estop"):
        kind = "estop"
    elif route.endswith("/reset") and "/sim/" not in route:
        kind = "reset"
    elif route == "/api/v1/skills" and row.method == "POST" and 400 <= row.status_code < 500:
        kind = "skill.refused"
    else:
        kind = "request"
    return (kind, row.actor, f"{row.method} {path}", detail)
