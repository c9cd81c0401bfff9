"""Agent-link lines in the audit log: every connect, refusal, disconnect, revocation and ignored
(forged or late) report, so that who spoke for which robot, when and from where can be traced.

They share ``audit_log`` with HTTP requests: ``method`` is ``LINK``, ``actor`` is
``robot:<id>`` once the robot proved its credential (``anonymous`` before), ``path`` reads
``/ws/agent <robot_id> <event>: <detail>`` and ``status_code`` says how it ended: 101 connected,
400 malformed handshake, 401 identity not proven, 403 revoked or not its execution, 409 the robot
is connected already, 413 message too large, and a WebSocket close code (1000-4999) for a disconnect.
Each line also joins the tamper-evident audit ledger as kind ``link`` (``api/write_hooks.py``).
"""

from __future__ import annotations

import logging

from dynamical.api.db import Database
from dynamical.api.models import AuditEntry, utcnow

log = logging.getLogger(__name__)
METHOD = "LINK"


def record_link_event(
    db: Database, robot_id: str, event: str, code: int, peer: str | None, *, proven: bool, detail: str = ""
) -> None:
    """One audit line; a failure to write it is logged, never raised (the link must not fall over
    because the audit log is unreachable)."""
    path = f"/ws/agent {robot_id[:64]} {event}" + (f": {detail}" if detail else "")
    try:
        with db.session() as session:
            session.add(
                AuditEntry(
                    at=utcnow(),
                    api_key_id=None,
                    actor=f"robot:{robot_id}"[:64] if proven else "anonymous",
                    method=METHOD,
                    path=path[:2048],
                    status_code=code,
                    client=peer[:64] if peer else None,
                )
            )
    except Exception:
        log.exception("could not write the audit log for %s", path[:200])
