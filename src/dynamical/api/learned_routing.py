"""Deployed learned skills in the planner's vocabulary.

A learned skill becomes routable once it has been *delivered* to a robot (``POST
/api/v1/skills/deploy`` answered ``delivered``): uploading alone changes nothing the router
says, so an artifact under test never takes words away from a built-in skill on every robot.
Per skill, the version delivered last is the one routed (as on the robot, where it is the active
version). At server start the planner is given the skills delivered before; each deployment that
delivers a learned skill retrains it.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from dynamical.api.db import Database
from dynamical.api.models import Deployment, SkillVersion
from dynamical.api.planning import Planner
from dynamical.skills.manifest import SkillManifest

log = logging.getLogger(__name__)


def delivered_learned(db: Database) -> list[SkillManifest]:
    """The learned skills delivered to at least one robot: per id, the version delivered last."""
    with db.session() as session:
        rows = session.execute(
            select(SkillVersion.skill_id, SkillVersion.manifest)
            .join(Deployment, Deployment.skill_version_pk == SkillVersion.pk)
            .where(Deployment.status == "delivered", SkillVersion.builtin.is_(False))
            .order_by(Deployment.completed_at, Deployment.id)
        ).all()
    latest: dict[str, SkillManifest] = {}
    for skill_id, manifest in rows:
        parsed = SkillManifest.model_validate(manifest)
        if parsed.kind != "scripted":
            latest[skill_id] = parsed
    return [latest[i] for i in sorted(latest)]


def refresh_routing(planner: Planner, db: Database) -> list[str]:
    """Give ``planner`` the delivered learned skills; the ids it routes to beside the built-in ones."""
    learned = delivered_learned(db)
    seconds = planner.use_learned(learned)
    if learned:
        log.info(
            "router: %d learned skills routable (%s), trained in %.2f s",
            len(learned),
            ", ".join(m.id for m in learned),
            seconds,
        )
    return [m.id for m in learned]
