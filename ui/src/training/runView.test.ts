import { describe, expect, it } from "vitest";
import { packageCommands, runEtaS, runProgress, SEMVER, shellWord, SKILL_ID } from "./runView";

describe("a run's progress", () => {
  it("is the fraction of steps done, bounded", () => {
    expect(runProgress({ step: 250, total_steps: 1000 })).toBe(0.25);
    expect(runProgress({ step: 1200, total_steps: 1000 })).toBe(1);
    expect(runProgress({ step: 5, total_steps: 0 })).toBe(0);
  });

  it("estimates the time left from its pace, only while running", () => {
    expect(runEtaS({ step: 100, total_steps: 400, seconds: 50, status: "running" })).toBe(150);
    expect(runEtaS({ step: 0, total_steps: 400, seconds: 5, status: "running" })).toBeNull();
    expect(runEtaS({ step: 400, total_steps: 400, seconds: 200, status: "succeeded" })).toBeNull();
  });
});

describe("packaging a run", () => {
  it("the CLI command and the upload, quoted for a shell", () => {
    const [pkg, upload] = packageCommands({ out_dir: "/data/training/runs/run 1/" }, "learned_pick", "1.0.0");
    expect(pkg).toBe("dynamical skills package '/data/training/runs/run 1/' --id learned_pick --version 1.0.0");
    expect(upload).toContain("@'/data/training/runs/run 1/learned_pick-1.0.0.dskill'");
    expect(upload).toContain("/api/v1/skills");
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
  });

  it("skill ids and versions as the registry accepts them", () => {
    expect(SKILL_ID.test("learned_pick")).toBe(true);
    expect(SKILL_ID.test("Learned-pick")).toBe(false);
    expect(SKILL_ID.test("a")).toBe(false);
    expect(SEMVER.test("1.0.0")).toBe(true);
    expect(SEMVER.test("1.0.0-rc.1")).toBe(true);
    expect(SEMVER.test("01.0.0")).toBe(false);
    expect(SEMVER.test("1.0")).toBe(false);
  });
});
