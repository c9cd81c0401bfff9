// What the REC indicator says about a robot's recorder (pure, testable).
import type { DatasetSummary, RecordingStatus } from "../api/learningTypes";

export interface RecordingView {
  active: boolean;
  /** s since the recording started (0 when unknown or not recording). */
  elapsedS: number;
  frames: number;
  /** The number of the episode being recorded, or of the episodes this robot recorded so far. */
  episode: number;
  writing: number;
  error: string | null;
}

/** A recording of robot `robotId`: the recorder names each `<robot>-<YYYYmmdd-HHMMSS>-<n>`. */
export function isRecordingOf(name: string, robotId: string): boolean {
  return name.startsWith(`${robotId}-`) && /^\d{8}-\d{6}-\d+$/.test(name.slice(robotId.length + 1));
}

/** Episodes this robot recorded that the server lists, plus those still being written. */
export function episodesRecorded(datasets: DatasetSummary[] | undefined, robotId: string, status: RecordingStatus | null | undefined): number {
  const listed = (datasets ?? []).filter((d) => isRecordingOf(d.name, robotId));
  const names = new Set(listed.map((d) => d.name));
  const writing = (status?.writing ?? []).filter((n) => !names.has(n)).length;
  return listed.reduce((sum, d) => sum + d.episodes, 0) + writing;
}

export function recordingView(
  status: RecordingStatus | null | undefined,
  recorded: number,
  nowMs: number,
): RecordingView {
  const active = !!status?.active;
  const started = status?.started_at ? Date.parse(status.started_at) : NaN;
  // The robot's clock and the browser's may disagree a little: never a negative age.
  const elapsedS = active && Number.isFinite(started) ? Math.max(0, (nowMs - started) / 1000) : 0;
  return {
    active,
    elapsedS,
    frames: active ? status!.frames : 0,
    episode: active ? recorded + 1 : recorded,
    writing: status?.writing.length ?? 0,
    error: status?.error ?? null,
  };
}

/** m:ss (h:mm:ss past an hour). */
export function formatElapsed(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
