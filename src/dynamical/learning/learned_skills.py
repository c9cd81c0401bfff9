"""Where learned skills come from outside a robot agent: a packaged artifact file, or the platform
server's registry in its data directory (where ``POST /api/v1/skills`` put them).

``dynamical eval`` and ``dynamical bench policy`` take a learned skill from here: the catalog
(built-in skills plus the learned ones) and the source of their verified artifacts.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from dynamical.config import Settings
from dynamical.skills.artifact import SkillArtifact, open_artifact
from dynamical.skills.manifest import SkillManifest
from dynamical.skills.runner import ArtifactSource, builtin_catalog


def catalog_with_learned(
    settings: Settings, data_dir: Path | None = None, artifact: Path | None = None
) -> tuple[dict[str, SkillManifest], ArtifactSource | None]:
    """The built-in skills plus the learned ones: from ``artifact`` (a ``.dskill`` file, verified
    with the data directory's keyring) when given, else every learned skill in the server's
    registry (none without a server's data directory). Raises ValueError with a message a person
    can act on."""
    from dynamical.api.bootstrap import open_keyring, open_registry
    from dynamical.api.db import Database
    from dynamical.api.settings import ApiSettings

    api = ApiSettings.from_settings(settings, data_dir)
    catalog = builtin_catalog()
    if artifact is not None:
        try:
            blob = artifact.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read the artifact {artifact}: {exc.strerror}") from None
        opened = open_artifact(blob, open_keyring(api))

        def from_file(manifest: SkillManifest) -> SkillArtifact:
            return opened

        return {**catalog, opened.manifest.id: opened.manifest}, from_file
    if not api.keyring_path.exists():  # no server here: the built-in skills only
        return catalog, None
    db = Database(api.database_url)
    registry = open_registry(api, db)
    try:
        learned = {m.id: m for m in registry.list() if m.kind != "scripted"}
    except SQLAlchemyError as exc:
        reason = str(exc.orig if getattr(exc, "orig", None) is not None else exc).splitlines()[0]
        raise ValueError(
            f"the skill registry in {api.data_dir} cannot be read ({reason}): run `dynamical db init` there, "
            "or pass --artifact FILE"
        ) from None

    def from_registry(manifest: SkillManifest) -> SkillArtifact:
        return registry.get(manifest.id, manifest.version)

    return {**catalog, **learned}, from_registry
