import { describe, expect, it } from "vitest";
import type { DatasetSummary, RecordingStatus } from "../api/learningTypes";
import { episodesRecorded, formatElapsed, isRecordingOf, recordingView } from "./recording";

function dataset(name: string, episodes = 1): DatasetSummary {
  return {
    name,
    codebase_version: "v3.0",
    robot: "humanoid",
    skill: null,
    fps: 30,
    episodes,
    frames: 90 * episodes,
    duration_s: 3 * episodes,
    cameras: [],
    tasks: ["demo"],
    successes: null,
    size_bytes: 1000,
    modified_at: "2026-12-07T15:00:00Z",
  };
}

const idle: RecordingStatus = { active: false, dataset: null, task: null, frames: 0, started_at: null, writing: [], error: null };

describe("recording view", () => {
  it("knows a robot's own recordings by the recorder's names", () => {
    expect(isRecordingOf("thor_001-20261207-150102-0", "thor_001")).toBe(true);
    expect(isRecordingOf("thor_0011-20261207-150102-0", "thor_001")).toBe(false);
    expect(isRecordingOf("thor_001-demo", "thor_001")).toBe(false);
    expect(isRecordingOf("pick_200", "thor_001")).toBe(false);
  });

  it("counts listed episodes and those still being written, once each", () => {
    const listed = [dataset("thor_001-20261207-150102-0"), dataset("thor_001-20261207-150302-1"), dataset("pick_200", 200)];
    expect(episodesRecorded(listed, "thor_001", idle)).toBe(2);
    const writing = { ...idle, writing: ["thor_001-20261207-150302-1", "thor_001-20261207-150502-2"] };
    expect(episodesRecorded(listed, "thor_001", writing)).toBe(3);
    expect(episodesRecorded(undefined, "thor_001", null)).toBe(0);
  });

  it("an active recording: elapsed from its start, the next episode's number, its frames", () => {
    const status = { ...idle, active: true, frames: 412, started_at: "2026-12-07T15:00:00Z" };
    const view = recordingView(status, 2, Date.parse("2026-12-07T15:01:05.5Z"));
    expect(view).toMatchObject({ active: true, frames: 412, episode: 3 });
    expect(view.elapsedS).toBeCloseTo(65.5, 6);
    expect(formatElapsed(view.elapsedS)).toBe("1:05");
  });

  it("a robot clock ahead of the browser's never shows a negative time", () => {
    const status = { ...idle, active: true, started_at: "2026-12-07T15:00:10Z" };
    expect(recordingView(status, 0, Date.parse("2026-12-07T15:00:00Z")).elapsedS).toBe(0);
  });

  it("not recording: the count so far, writes and the last error", () => {
    const status = { ...idle, writing: ["a"], error: "x: the writer failed" };
    expect(recordingView(status, 4, 0)).toEqual({ active: false, elapsedS: 0, frames: 0, episode: 4, writing: 1, error: "x: the writer failed" });
    expect(recordingView(undefined, 0, 0).active).toBe(false);
  });

  it("formats hours", () => {
    expect(formatElapsed(3725)).toBe("1:02:05");
    expect(formatElapsed(-3)).toBe("0:00");
  });
});
