import { describe, expect, it } from "vitest";
import type { DatasetSummary } from "../api/learningTypes";
import { EMPTY_TRAIN_FORM, validateTrainForm, type TrainFormValues } from "./trainForm";

const dataset: DatasetSummary = {
  name: "pick_200",
  codebase_version: "v3.0",
  robot: "humanoid",
  skill: "pick",
  fps: 30,
  episodes: 200,
  frames: 60_000,
  duration_s: 2000,
  cameras: [],
  tasks: ["pick up the red cube"],
  successes: 190,
  size_bytes: 12_000_000,
  modified_at: "2026-12-07T15:00:00Z",
};

const form = (v: Partial<TrainFormValues>): TrainFormValues => ({ ...EMPTY_TRAIN_FORM, dataset: "pick_200", ...v });

describe("the start-a-run form", () => {
  it("sends only what the operator set: presets stay the server's", () => {
    const { errors, body } = validateTrainForm(form({}), dataset);
    expect(errors).toEqual({});
    expect(body).toEqual({ dataset: "pick_200", policy: "act", steps: 2000, batch_size: 8, device: "cpu" });
  });

  it("passes the advanced settings, inputs in the server's order", () => {
    const { body } = validateTrainForm(
      form({ steps: "50", chunkSize: "20", dimModel: "64", layers: "2", lr: "1e-4", inputs: ["environment_state", "state"] }),
      dataset,
    );
    expect(body).toMatchObject({ steps: 50, chunk_size: 20, dim_model: 64, layers: 2, lr: 1e-4, inputs: ["state", "environment_state"] });
  });

  it("refuses what the server would refuse, field by field", () => {
    const { errors, body } = validateTrainForm(
      form({ dataset: "", steps: "0", batchSize: "1.5", chunkSize: "1001", dimModel: "4", lr: "NaN" }),
      undefined,
    );
    expect(body).toBeNull();
    expect(Object.keys(errors).sort()).toEqual(["batchSize", "chunkSize", "dataset", "dimModel", "lr", "steps"]);
    expect(validateTrainForm(form({ lr: "0" }), dataset).errors.lr).toBeDefined();
    expect(validateTrainForm(form({ steps: "10000001" }), dataset).errors.steps).toBeDefined();
  });

  it("knows what the dataset lacks: no episodes, no cameras", () => {
    expect(validateTrainForm(form({}), { ...dataset, episodes: 0 }).errors.dataset).toMatch(/no episodes/);
    expect(validateTrainForm(form({ inputs: ["images"] }), dataset).errors.inputs).toMatch(/no camera/);
    expect(validateTrainForm(form({ inputs: ["images"] }), { ...dataset, cameras: ["head"] }).errors).toEqual({});
  });

  it("encoder layers are ACT's only", () => {
    expect(validateTrainForm(form({ policy: "diffusion", layers: "2" }), dataset).errors.layers).toMatch(/ACT/);
    expect(validateTrainForm(form({ policy: "diffusion" }), dataset).body?.policy).toBe("diffusion");
  });
});
