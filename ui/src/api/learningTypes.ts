// Types of the learning loop's REST API: datasets, training runs, recording (see /openapi.json).

/** The demonstration recorder of a robot (its state's `recording`): the REC indicator. */
export interface RecordingStatus {
  active: boolean;
  /** The dataset being recorded (active), else the last one written. */
  dataset: string | null;
  task: string | null;
  frames: number;
  /** ISO 8601, UTC (the robot's clock). */
  started_at: string | null;
  /** Datasets stopped and still being written. */
  writing: string[];
  /** Why the last recording could not be written. */
  error: string | null;
}

export interface FeatureInfo {
  name: string;
  dtype: string;
  shape: number[];
  names: string[] | null;
}

export interface DatasetSummary {
  name: string;
  codebase_version: string;
  robot: string | null;
  skill: string | null;
  fps: number;
  episodes: number;
  frames: number;
  duration_s: number;
  cameras: string[];
  tasks: string[];
  /** Episodes the recorder marked successful (null for a dataset recorded elsewhere). */
  successes: number | null;
  size_bytes: number;
  modified_at: string;
}

export interface DatasetInfo extends DatasetSummary {
  features: FeatureInfo[];
  params: Record<string, unknown>;
  randomization: Record<string, unknown>;
  joint_names: string[];
  object_names: string[];
}

export interface EpisodeVideo {
  camera: string;
  file: string;
  from_s: number;
  to_s: number;
}

export interface EpisodeSummary {
  episode_index: number;
  length: number;
  duration_s: number;
  tasks: string[];
  success: boolean | null;
  seed: number | null;
  failure: string | null;
  videos: EpisodeVideo[];
}

/** An episode's non-image features: feature → rows (T × d), and `timestamp` (T, s). */
export type EpisodeFrames = Record<string, number[][] | number[]>;

export type PolicyType = "act" | "diffusion";
export type InputGroup = "state" | "environment_state" | "images";
export type TrainDevice = "cpu" | "cuda";

/** The settings of a run (the server's TrainConfig); null keeps the policy's preset. */
export interface TrainConfig {
  policy: PolicyType;
  steps: number;
  batch_size: number;
  chunk_size: number | null;
  n_action_steps: number | null;
  dim_model: number | null;
  layers: number | null;
  lr: number | null;
  inputs: InputGroup[] | null;
  device: TrainDevice;
  save_every: number;
  log_every: number;
  seed: number;
}

export type TrainingRunCreate = Partial<TrainConfig> & { dataset: string };

export type RunStatus = "pending" | "running" | "succeeded" | "failed" | "interrupted";

export interface TrainingRunSummary {
  id: string;
  status: RunStatus | string;
  policy: string;
  dataset: string;
  out_dir: string;
  step: number;
  total_steps: number;
  checkpoint_step: number | null;
  /** The latest point of the loss curve. */
  loss: number | null;
  priority: string | null;
  seconds: number;
  attempts: number;
  host: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
}

export interface LossPoint {
  step: number;
  loss: number;
}

export interface TrainingRunDetail extends TrainingRunSummary {
  config: TrainConfig;
  parameters: number | null;
  loss_curve: LossPoint[];
}

export interface DeploymentOut {
  id: number;
  robot_id: string;
  skill_id: string;
  version: string;
  status: string;
  error: string | null;
}

export interface SkillRegistered {
  ref: string;
  id: string;
  version: string;
  digest: string;
  /** false when this exact artifact was already registered. */
  created: boolean;
}
