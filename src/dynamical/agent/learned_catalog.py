"""The skills a robot agent can run: the built-in ones plus the learned skills deployed to it.

``DeployedSkills`` owns the robot's local skill cache (``<cache_dir>/skills/<id>/<version>.dskill``,
what ``POST /api/v1/skills/deploy`` sends over the agent link) and one catalog dict that the
agent's ``SkillRunner`` reads. A deployed artifact is opened with the robot's ``SkillKeys``
(decrypted, its signature verified, its contents checked) *before* it is stored; its ONNX graph
is loaded in onnxruntime then, so a policy that cannot run is refused at deployment rather than at
its first invocation; and only then does its manifest enter the catalog, in place: the runner
sees it at the next step, without a restart. The version deployed last is the active one (a
rollback is a deployment of the older version), remembered across restarts in ``ACTIVE``.

``artifact(manifest)`` is the runner's ``ArtifactSource``: it reads the stored file and opens it
again, so a cache file altered after deployment is refused when the skill is loaded. The
executor then runs the policy behind the safety kernel with the manifest's pre- and
postconditions like any skill (``learning.onnx_policy``).
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import threading
from pathlib import Path

from dynamical.agent.skill_keys import SkillKeys
from dynamical.skills.artifact import SkillArtifact, open_artifact
from dynamical.skills.errors import ArtifactError, SkillsError
from dynamical.skills.manifest import SEMVER_PATTERN, SKILL_ID_PATTERN, SkillManifest
from dynamical.skills.runner import POLICY_LOADER, builtin_catalog

log = logging.getLogger(__name__)
SKILLS_DIR = "skills"
ACTIVE_FILE = "ACTIVE"
ARTIFACT_SUFFIX = ".dskill"


class DeployRefusedError(ValueError):
    """An artifact this robot will not take; the message says why (it goes back to the server)."""


class DeployedSkills:
    """The built-in catalog plus the learned skills in one robot's verified local cache."""

    def __init__(self, cache_dir: Path, keys: SkillKeys, embodiment: str) -> None:
        """``embodiment``: the robot's (a skill made for another body is refused)."""
        self.root = Path(cache_dir) / SKILLS_DIR
        self.keys = keys
        self.embodiment = embodiment
        self.catalog: dict[str, SkillManifest] = builtin_catalog()
        """Skill id → manifest: what the agent's runners run. Changed in place, under the lock."""
        self.refused: dict[str, str] = {}
        """Cache files that did not open at start (path → why): kept on disk, never run."""
        self._builtin = frozenset(self.catalog)
        self._lock = threading.Lock()
        # The policy runtime's imports take seconds of interpreter lock: now, before any control
        # thread runs, rather than beside it at the first deployment.
        importlib.import_module(POLICY_LOADER.partition(":")[0])
        importlib.import_module("onnxruntime")
        self._load_cache()

    # ---- what the runner asks ----

    def artifact(self, manifest: SkillManifest) -> SkillArtifact:
        """The verified artifact of a catalogued learned skill, opened again from the cache."""
        path = self._path(manifest.id, manifest.version)
        try:
            blob = path.read_bytes()
        except OSError as exc:
            where = f"{manifest.id}@{manifest.version}"
            raise SkillsError(f"{where} is not in this robot's skill cache ({exc.strerror})") from None
        artifact = open_artifact(blob, self.keys)  # type: ignore[arg-type]  # SkillKeys opens as a keyring does
        if artifact.manifest != manifest:
            raise SkillsError(f"the cached artifact of {manifest.id}@{manifest.version} holds another manifest")
        return artifact

    @property
    def learned(self) -> list[SkillManifest]:
        """The active learned skills, by id."""
        with self._lock:
            return [m for i, m in sorted(self.catalog.items()) if i not in self._builtin]

    # ---- deployment ----

    def install(self, skill_id: str, version: str, blob: bytes) -> str:
        """Verify ``blob`` as ``skill_id@version``, check this robot can run it, store it and make
        it the active version; a one-line account. Raises DeployRefusedError."""
        artifact = self._check(skill_id, version, blob)
        if artifact.manifest.kind == "scripted":
            # A built-in skill's code ships with the runtime; its artifact only proves the version.
            self._store(skill_id, version, blob, activate=False)
            return f"verified {skill_id}@{version} (built-in: the runtime's own code runs it)"
        self._store(skill_id, version, blob, activate=True)
        with self._lock:
            self.catalog[skill_id] = artifact.manifest
        return f"deployed {skill_id}@{version} ({artifact.manifest.kind}, {len(blob)} bytes): runnable now"

    def _check(self, skill_id: str, version: str, blob: bytes) -> SkillArtifact:
        if not re.fullmatch(SKILL_ID_PATTERN, skill_id) or not re.fullmatch(SEMVER_PATTERN, version):
            raise DeployRefusedError(f"{skill_id!r}@{version!r} is not a skill id and version")
        try:
            artifact = open_artifact(blob, self.keys)  # type: ignore[arg-type]
        except ArtifactError as exc:
            raise DeployRefusedError(f"refused {skill_id}@{version}: {exc}") from None
        manifest = artifact.manifest
        if (manifest.id, manifest.version) != (skill_id, version):
            raise DeployRefusedError(f"refused {skill_id}@{version}: the artifact is {manifest.id}@{manifest.version}")
        if manifest.embodiment != self.embodiment:
            raise DeployRefusedError(
                f"refused {skill_id}@{version}: made for {manifest.embodiment!r}, this robot is {self.embodiment!r}"
            )
        if manifest.kind == "scripted":
            if skill_id not in self._builtin:
                raise DeployRefusedError(f"refused {skill_id}@{version}: a scripted skill this runtime does not ship")
            return artifact
        if skill_id in self._builtin:
            raise DeployRefusedError(f"refused {skill_id}@{version}: {skill_id!r} is a built-in skill's id")
        if manifest.policy_format != "onnx":
            raise DeployRefusedError(
                f"refused {skill_id}@{version}: the executor runs ONNX policies; this one carries none"
            )
        loader = importlib.import_module(POLICY_LOADER.partition(":")[0])
        try:
            loader.policy_of(artifact)  # the graph loads, its inputs match policy.json (cached for the run)
        except SkillsError as exc:
            raise DeployRefusedError(f"refused {skill_id}@{version}: {exc}") from None
        return artifact

    def _store(self, skill_id: str, version: str, blob: bytes, *, activate: bool) -> None:
        target = self._path(skill_id, version)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(blob)
        os.replace(partial, target)  # a reader never sees half an artifact
        if activate:
            active = target.parent / ACTIVE_FILE
            active.with_name(ACTIVE_FILE + ".partial").write_text(version + "\n")
            os.replace(active.with_name(ACTIVE_FILE + ".partial"), active)

    # ---- the cache at start ----

    def _load_cache(self) -> None:
        if not self.root.is_dir():
            return
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            skill_id = folder.name
            if skill_id in self._builtin:
                continue
            active = folder / ACTIVE_FILE
            try:
                version = active.read_text().strip()
            except OSError:
                continue  # never activated: nothing to run
            path = self._path(skill_id, version)
            try:
                artifact = self._check(skill_id, version, path.read_bytes())
            except (OSError, DeployRefusedError) as exc:
                why = exc.strerror if isinstance(exc, OSError) else str(exc)
                self.refused[str(path)] = str(why)
                log.error("skill cache: %s is not loaded: %s", path, why)
                continue
            self.catalog[skill_id] = artifact.manifest
            log.info("skill cache: %s@%s ready", skill_id, version)

    def _path(self, skill_id: str, version: str) -> Path:
        return self.root / skill_id / f"{version}{ARTIFACT_SUFFIX}"
