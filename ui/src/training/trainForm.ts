// The /training "start a run" form: validated into the body of POST /api/v1/training/runs with
// the server's own bounds (TrainConfig), so a refusal is seen before the request. Pure.
import type { DatasetSummary, InputGroup, PolicyType, TrainDevice, TrainingRunCreate } from "../api/learningTypes";

export interface TrainFormValues {
  dataset: string;
  policy: PolicyType;
  steps: string;
  batchSize: string;
  device: TrainDevice;
  /** "" keeps the policy's preset. */
  chunkSize: string;
  dimModel: string;
  layers: string;
  lr: string;
  /** Empty: everything the dataset has. */
  inputs: InputGroup[];
}

export const EMPTY_TRAIN_FORM: TrainFormValues = {
  dataset: "",
  policy: "act",
  steps: "2000",
  batchSize: "8",
  device: "cpu",
  chunkSize: "",
  dimModel: "",
  layers: "",
  lr: "",
  inputs: [],
};

export const INPUT_GROUPS: { value: InputGroup; label: string }[] = [
  { value: "state", label: "joint state" },
  { value: "environment_state", label: "object poses" },
  { value: "images", label: "cameras" },
];

export type TrainFormErrors = Partial<Record<keyof TrainFormValues, string>>;

function intIn(text: string, lo: number, hi: number): number | null {
  const t = text.trim();
  const n = Number(t);
  return t !== "" && Number.isInteger(n) && n >= lo && n <= hi ? n : null;
}

/** An optional integer: undefined when empty, null when invalid. */
function optionalInt(text: string, lo: number, hi: number): number | null | undefined {
  return text.trim() === "" ? undefined : intIn(text, lo, hi);
}

export function validateTrainForm(
  v: TrainFormValues,
  dataset: DatasetSummary | undefined,
): { errors: TrainFormErrors; body: TrainingRunCreate | null } {
  const errors: TrainFormErrors = {};
  if (!v.dataset) errors.dataset = "pick a dataset";
  else if (dataset && dataset.episodes === 0) errors.dataset = "this dataset has no episodes";

  const steps = intIn(v.steps, 1, 10_000_000);
  if (steps === null) errors.steps = "a whole number of steps, 1 to 10,000,000";
  const batch = intIn(v.batchSize, 1, 4096);
  if (batch === null) errors.batchSize = "1 to 4096";
  const chunk = optionalInt(v.chunkSize, 1, 1000);
  if (chunk === null) errors.chunkSize = "1 to 1000 frames, or empty for the preset";
  const dim = optionalInt(v.dimModel, 8, 4096);
  if (dim === null) errors.dimModel = "8 to 4096, or empty for the preset";
  const layers = optionalInt(v.layers, 1, 32);
  if (layers === null) errors.layers = "1 to 32, or empty for the preset";
  if (layers !== undefined && layers !== null && v.policy !== "act") errors.layers = "encoder layers are ACT's setting";
  let lr: number | undefined;
  if (v.lr.trim() !== "") {
    const n = Number(v.lr.trim());
    if (!Number.isFinite(n) || n <= 0 || n > 1) errors.lr = "greater than 0, at most 1 (e.g. 1e-5)";
    else lr = n;
  }
  if (dataset && v.inputs.includes("images") && dataset.cameras.length === 0) errors.inputs = "this dataset has no camera video";

  if (Object.keys(errors).length > 0) return { errors, body: null };
  const body: TrainingRunCreate = { dataset: v.dataset, policy: v.policy, steps: steps!, batch_size: batch!, device: v.device };
  if (chunk !== undefined) body.chunk_size = chunk;
  if (dim !== undefined) body.dim_model = dim;
  if (layers !== undefined) body.layers = layers;
  if (lr !== undefined) body.lr = lr;
  if (v.inputs.length > 0) body.inputs = INPUT_GROUPS.map((g) => g.value).filter((g) => v.inputs.includes(g));
  return { errors, body };
}
