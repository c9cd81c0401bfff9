"""Package a training run as a learned skill: export to ONNX, write the manifest, sign and encrypt.

``package_policy(RUN, …)`` runs the learn side's exporter (``lerobot_side/export.py``, in
``.venv-learn``) on the run's last checkpoint, then builds a skill artifact of kind ``policy``
holding ``policy.onnx`` and ``policy.json`` with a manifest the router and the evaluator use:
the description, the action space (the joint groups the policy commands), and pre- and
postconditions — by default those of the built-in skill the demonstrations were recorded with,
bound to the recorded parameters — signed and encrypted with the keyring like every artifact.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from dynamical.learning.env import LearnWorkerError, Worker
from dynamical.learning.features import FeatureLayout, FeatureLayoutError
from dynamical.learning.onnx_policy import policy_groups
from dynamical.robot.description import RobotDescription
from dynamical.skills.artifact import build_artifact
from dynamical.skills.builtin.catalog import builtin_manifests
from dynamical.skills.errors import SkillParameterError
from dynamical.skills.evaluation import EPISODES, EpisodeSetup
from dynamical.skills.keyring import Keyring
from dynamical.skills.manifest import ActionSpace, Predicate, SkillManifest
from dynamical.skills.policy_spec import ONNX_PATH, SPEC_PATH, PolicySpec
from dynamical.skills.predicates import EITHER_SIDE

ARTIFACT_SUFFIX = ".dskill"
_PREDICATE = re.compile(r"^\s*(not\s+)?([a-z_]+)\s*\(([^()]*)\)\s*$")


class PackageError(ValueError):
    """A run that cannot be packaged; the message says what to fix."""


class PackageResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    artifact: str
    """Path of the signed, encrypted artifact."""
    manifest: SkillManifest
    max_abs_error: float
    """max |ONNX − PyTorch| over the dataset frames the export was checked on, rad."""
    samples: int
    onnx_bytes: int
    onnx_chunk_ms_p50: float | None = None
    """onnxruntime's median chunk time at export (one thread), ms."""
    dropped_conditions: list[str] = []
    """Conditions of the recorded skill left out: they name parameters the recording did not fix."""


def parse_predicate(text: str) -> Predicate:
    """``holding(obj=red_cube, side=right)`` or ``not hand_empty(side=left)`` as a Predicate."""
    match = _PREDICATE.fullmatch(text)
    if match is None:
        raise PackageError(f"{text!r} is not a condition of the form name(arg=value, ...) or not name(...)")
    negate, name, body = match.groups()
    args: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in body.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise PackageError(f"{text!r}: argument {part!r} is not key=value")
        args[key.strip()] = value.strip()
    try:
        return Predicate(name=name, args=args, negate=bool(negate))  # type: ignore[arg-type]
    except ValidationError as exc:
        raise PackageError(f"{text!r}: {exc.errors()[0]['msg']}") from None


def recorded_conditions(
    skill: str | None, params: dict[str, Any]
) -> tuple[list[Predicate], list[Predicate], list[str]]:
    """The pre- and postconditions of the demonstrations recorded with built-in ``skill``, bound
    to ``params``, and those dropped because they name a parameter the recording left open.

    A recording starts with the skill's episode setup (a lift's episode is a grasp, then the lift),
    so the preconditions are those of the episode's first skill and the postconditions the
    recorded skill's. A hand the recording did not fix becomes ``side=either``: the demonstrations
    may have used either one.
    """
    manifests = {m.id: m for m in builtin_manifests()}
    manifest = manifests.get(skill) if skill else None
    if manifest is None:
        return [], [], []
    setup = EPISODES.get(manifest.id, EpisodeSetup())
    bound_params = {"side": EITHER_SIDE, **params}
    first = manifest
    first_params = bound_params
    if setup.before:
        before_id, before_params = setup.bound_before({**setup.params, **params})[0]
        first = manifests[before_id]
        first_params = {"side": EITHER_SIDE, **before_params}
    dropped: list[str] = []

    def bind(predicates: list[Predicate], values: dict[str, Any]) -> list[Predicate]:
        out = []
        for predicate in predicates:
            try:
                out.append(predicate.bind(values))
            except SkillParameterError:
                dropped.append(str(predicate))
        return out

    return bind(first.preconditions, first_params), bind(manifest.postconditions, bound_params), dropped


def check_run_dir(run: Path) -> Path:
    """``RUN/checkpoints/last/pretrained_model``; raises PackageError before any export starts."""
    if not run.is_dir():
        raise PackageError(f"{run} is not a directory: give a training run (dynamical train --out RUN)")
    model = run / "checkpoints" / "last" / "pretrained_model"
    if not model.is_dir():
        raise PackageError(f"{run} has no checkpoints/last/pretrained_model: not a training run, or it saved none yet")
    return model


def export_run(
    run: Path,
    out: Path,
    samples: int = 32,
    on_message: Callable[[dict[str, Any]], None] | None = None,
    check_out: Path | None = None,
) -> dict[str, Any]:
    """Run the learn side's exporter: ``policy.onnx`` + ``policy.json`` in ``out``; its result.
    ``check_out``: also an npz of the frames checked and PyTorch's chunk for each."""
    args = ["--run", str(run), "--out", str(out), "--samples", str(samples)]
    if check_out is not None:
        args += ["--check-out", str(check_out)]
    with Worker("export", args, priority="normal") as worker:
        for message in worker.messages():
            if on_message is not None:
                on_message(message)
        assert worker.result is not None
        return worker.result


def build_manifest(
    spec: PolicySpec,
    description: RobotDescription,
    *,
    skill_id: str,
    version: str,
    text: str | None,
    name: str | None,
    pre: list[Predicate] | None,
    post: list[Predicate] | None,
    duration_s: float | None,
) -> tuple[SkillManifest, list[str]]:
    """The manifest of a policy skill from its ``policy.json`` on robot ``description``."""
    try:
        layout = FeatureLayout.from_json(spec.layout.model_dump(), description)
    except FeatureLayoutError as exc:
        raise PackageError(f"the policy does not fit robot {description.name!r}: {exc}") from None
    recorded_pre, recorded_post, dropped = recorded_conditions(spec.source.skill, spec.source.params)
    postconditions = recorded_post if post is None else post
    if not postconditions:
        # Without one, every run of the skill would count as a success: nothing could fail it.
        raise PackageError(
            "a learned skill needs at least one postcondition to be judged by (the recorded skill gives none): "
            "pass --post 'holding(obj=red_cube, side=either)' or similar"
        )
    duration = duration_s if duration_s is not None else spec.source.mean_episode_s
    if duration is None or not duration > 0:
        raise PackageError("the export does not say how long a demonstration lasts: pass --duration SECONDS")
    recorded = f" (demonstrated by {spec.source.skill})" if spec.source.skill else ""
    default_text = f"Learned policy{recorded}: {spec.task}" if spec.task else f"Learned policy{recorded}."
    try:
        manifest = SkillManifest(
            id=skill_id,
            version=version,
            name=name or skill_id.replace("_", " ").capitalize(),
            description=text or default_text,
            tags=["learned", spec.policy_type, *([spec.source.skill] if spec.source.skill else [])],
            kind="policy",
            embodiment=description.name,
            action_space=ActionSpace(type="joint_positions", groups=list(policy_groups(description, layout))),
            observations=[t.name for t in spec.inputs],
            preconditions=recorded_pre if pre is None else pre,
            postconditions=postconditions,
            nominal_duration_s=duration,
            policy_format="onnx",
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "manifest"
        raise PackageError(f"{where}: {first['msg']}") from None
    return manifest, dropped if pre is None or post is None else []


def package_policy(
    run: Path,
    *,
    skill_id: str,
    version: str,
    keyring: Keyring,
    description: RobotDescription,
    out: Path | None = None,
    text: str | None = None,
    name: str | None = None,
    pre: list[Predicate] | None = None,
    post: list[Predicate] | None = None,
    duration_s: float | None = None,
    samples: int = 32,
    on_message: Callable[[dict[str, Any]], None] | None = None,
    check_out: Path | None = None,
) -> PackageResult:
    """Export ``run`` and write the signed, encrypted artifact (default ``<id>-<version>.dskill``
    beside the run). Raises PackageError (or LearnEnvError when .venv-learn is missing)."""
    run = run.resolve()
    check_run_dir(run)
    target = out if out is not None else run / f"{skill_id}-{version}{ARTIFACT_SUFFIX}"
    with tempfile.TemporaryDirectory(prefix="dynamical-export-") as tmp:
        try:
            result = export_run(run, Path(tmp), samples, on_message, check_out)
        except LearnWorkerError as exc:
            raise PackageError(str(exc).removeprefix("dynamical.learning.lerobot_side.export: ")) from None
        files = {ONNX_PATH: (Path(tmp) / ONNX_PATH).read_bytes(), SPEC_PATH: (Path(tmp) / SPEC_PATH).read_bytes()}
    try:
        spec = PolicySpec.model_validate_json(files[SPEC_PATH])
    except ValidationError as exc:
        raise PackageError(f"the exporter wrote an invalid {SPEC_PATH}: {exc}") from None
    manifest, dropped = build_manifest(
        spec,
        description,
        skill_id=skill_id,
        version=version,
        text=text,
        name=name,
        pre=pre,
        post=post,
        duration_s=duration_s,
    )
    blob = build_artifact(manifest, files, keyring)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(blob)
    partial.replace(target)  # a reader never sees half an artifact
    return PackageResult(
        artifact=str(target),
        manifest=manifest,
        max_abs_error=spec.validation.max_abs_error,
        samples=spec.validation.samples,
        onnx_bytes=len(files[ONNX_PATH]),
        onnx_chunk_ms_p50=result.get("onnx_chunk_ms_p50"),
        dropped_conditions=dropped,
    )
