// What /training says about a run (pure, testable).
import type { TrainingRunSummary } from "../api/learningTypes";

/** Fraction of the run's steps done, in [0, 1]. */
export function runProgress(run: Pick<TrainingRunSummary, "step" | "total_steps">): number {
  if (!(run.total_steps > 0) || !Number.isFinite(run.step)) return 0;
  return Math.min(1, Math.max(0, run.step / run.total_steps));
}

/** Seconds left at the run's pace so far (null before a pace is known or once it ended). */
export function runEtaS(run: Pick<TrainingRunSummary, "step" | "total_steps" | "seconds" | "status">): number | null {
  if (run.status !== "running" || run.step <= 0 || !(run.seconds > 0)) return null;
  return ((run.total_steps - run.step) * run.seconds) / run.step;
}

/** A shell-safe word (single quotes where the text needs them). */
export function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The commands that turn a finished run into a deployed skill: package (CLI: the export to ONNX
 * runs in the learning environment), then upload; deploy is the button beside them. */
export function packageCommands(run: Pick<TrainingRunSummary, "out_dir">, skillId: string, version: string): string[] {
  const artifact = `${run.out_dir.replace(/\/+$/, "")}/${skillId}-${version}.dskill`;
  return [
    `dynamical skills package ${shellWord(run.out_dir)} --id ${shellWord(skillId)} --version ${shellWord(version)}`,
    `curl -X POST -H "X-API-Key: $DYNAMICAL_API_KEY" --data-binary @${shellWord(artifact)} $DYNAMICAL_URL/api/v1/skills`,
  ];
}

/** The registry's own patterns (skills/manifest.py). */
export const SKILL_ID = /^[a-z][a-z0-9_]{1,63}$/;
const PRERELEASE_ID = "(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)";
export const SEMVER = new RegExp(`^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(?:-(${PRERELEASE_ID}(?:\\.${PRERELEASE_ID})*))?$`);
