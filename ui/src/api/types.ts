// Types of the platform server's REST API (see /openapi.json). Only the fields the UI reads.
import type { RecordingStatus } from "./learningTypes";

export type Vec3 = [number, number, number];
export type Quat = [number, number, number, number]; // w, x, y, z

export interface ComponentHealth {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface HealthOut {
  status: string;
  version: string;
  database: ComponentHealth;
  agents: { robot_id: string; connected_since?: string | null }[];
  components: ComponentHealth[];
}

export interface RobotOut {
  id: string;
  name: string;
  profile: string;
  kind: string;
  embodiment: string | null;
  info: Record<string, unknown>;
  registered_at: string;
  last_seen_at: string | null;
  connected: boolean;
  connected_since?: string | null;
}

export type SafetyMode = "RUNNING" | "HOLD" | "BRAKING" | "PROTECTIVE_STOP" | "ESTOP";

export interface StopCause {
  rule: string;
  t: number;
  tick: number;
  detail: string;
  activity: string | null;
}

export interface SafetyStatus {
  mode: SafetyMode | string;
  estop_category: number | null;
  protective_stop: boolean;
  speed_scale: number;
  separation_m: number | null;
  interventions: number;
  power_on: boolean;
  /** Why the robot is stopped (a protective stop or e-stop in force); null while it is not. */
  stop_cause?: StopCause | null;
  lookahead_s?: number | null;
}

export interface TimingSnapshot {
  name: string;
  period_s: number;
  rate_hz: number;
  ticks: number;
  late_ticks: number;
  late_fraction: number;
  overruns: number;
  missed: number;
  protective_stops: number;
  jitter_us: { p50: number; p99: number; p99_9: number; max: number };
  work_us: { p50: number; p99: number; max: number };
}

export interface PosedObject {
  name: string;
  pos: Vec3;
  quat: Quat;
}

export interface RobotState {
  robot_id: string;
  t: number;
  joint_names: string[];
  q: number[];
  dq: number[];
  safety: SafetyStatus | null;
  timing: Partial<Record<"safety" | "control", TimingSnapshot>>;
  objects: PosedObject[];
  mannequin?: PosedObject | null;
  busy: boolean;
  fault: string | null;
  /** The demonstration recorder (the REC indicator); absent on an agent without one. */
  recording?: RecordingStatus | null;
}

export interface RobotStateOut {
  robot_id: string;
  connected: boolean;
  age_s: number;
  state: RobotState;
}

// --- robot model (3D view) ---

export type GeomType = "box" | "sphere" | "capsule" | "cylinder" | "ellipsoid" | "plane" | string;

export interface ModelGeom {
  type: GeomType;
  size: number[];
  pos: Vec3;
  quat: Quat;
  rgba: [number, number, number, number];
}

export interface ModelJoint {
  name: string;
  type: "hinge" | "slide" | string;
  axis: Vec3;
  pos: Vec3;
  qpos0: number;
  state_index: number | null;
  coupled?: { joint: string; polycoef: number[] } | null;
}

export type BodyRole = "world" | "robot" | "object" | "mannequin" | "scenery";

export interface ModelBody {
  name: string;
  parent: number;
  pos: Vec3;
  quat: Quat;
  role: BodyRole | string;
  joints: ModelJoint[];
  geoms: ModelGeom[];
}

export interface HandSite {
  body: number;
  pos: Vec3;
}

export interface RobotModel {
  /** In the brief's contract; the server (0.1.0) leaves it out. */
  robot_id?: string;
  joint_names: string[];
  bodies: ModelBody[];
  objects: string[];
  mannequin: string | null;
  hand_sites: Partial<Record<"left" | "right", HandSite>>;
}

// --- skills ---

export interface SkillSummary {
  id: string;
  name: string;
  latest_version: string | null;
  kind: string;
  embodiment: string;
  description: string;
  tags: string[];
  versions: string[];
}

export interface SkillVersionOut {
  version: string;
  digest: string;
  size_bytes: number;
  signing_key_id: string;
  builtin: boolean;
  registered_at: string;
  deprecated: boolean;
  deprecated_reason: string | null;
  deprecated_at: string | null;
}

export interface SkillDetail {
  id: string;
  name: string;
  latest_version: string | null;
  versions: SkillVersionOut[];
}

export interface SkillVersionDetail extends SkillVersionOut {
  manifest: Record<string, unknown> & { id: string; version: string; name: string };
}

export interface PlanStep {
  step_id: string;
  text: string;
  skill_id: string;
  skill_version: string;
  skill_ids: string[];
  weights: number[];
  confidence: number;
  parameters: Record<string, unknown>;
  tier: string;
  depends_on?: string[];
}

export interface SkillExecutionPlan {
  plan_id: string;
  task: string;
  steps: PlanStep[];
  timings_ms?: Record<string, number>;
}

export interface PlanOnly {
  plan: SkillExecutionPlan;
  robot_id: string | null;
  planning_time_ms: number;
}

export interface InvokeAccepted {
  request_id: string;
  robot_id: string;
  status: string;
  plan: SkillExecutionPlan;
  planning_time_ms: number;
  execution_url: string;
}

export type ExecutionStatus =
  | "planning"
  | "running"
  | "succeeded"
  | "failed"
  | "refused"
  | "cancelled"
  | "interrupted";

export interface StepProgress {
  step_id: string;
  index: number;
  total: number;
  skill_id: string;
  status: string;
}

export interface ExecutionOut {
  request_id: string;
  robot_id: string | null;
  status: ExecutionStatus | string;
  task_description: string | null;
  progress: StepProgress[];
  steps_done: number;
  steps_total: number | null;
  plan: SkillExecutionPlan | null;
  result: Record<string, unknown> | null;
  error: string | null;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  planning_time_ms: number | null;
  total_time_ms: number | null;
}

export interface InvokerStats {
  in_flight: number;
  executions_by_status: Record<string, number>;
  planning_time_ms: Record<string, number>;
  total_time_ms: Record<string, number>;
  samples: number;
  connected_robots: string[];
}

export interface SpanOut {
  span_id: string;
  parent_span_id: string | null;
  name: string;
  kind: string;
  start_unix_nano: number;
  end_unix_nano: number | null;
  duration_ms: number | null;
  status_code: string;
  attributes: Record<string, unknown>;
}

export interface TraceOut {
  trace_id: string;
  request_id: string | null;
  name: string;
  started_at: string;
  ended_at: string | null;
  spans: SpanOut[];
}

// --- safety ---

export interface BoxZone {
  kind: "box";
  name: string;
  center: Vec3;
  half_size: Vec3;
}

export interface HalfSpaceZone {
  kind: "halfspace";
  name: string;
  normal: Vec3;
  offset: number;
}

export type Zone = BoxZone | HalfSpaceZone;

export interface ZoneOut {
  id: number;
  robot_id: string | null;
  zone: Zone;
  created_at: string;
}

/** What one robot's kernel did with the zone list a change gave it. */
export interface ZoneAck {
  robot_id: string;
  status: "applied" | "refused" | "no_answer" | "not_connected";
  detail: string;
}

/** A zone change's answer: the zone and each connected robot's acknowledgement. */
export interface ZoneChangeOut extends ZoneOut {
  robots: ZoneAck[];
}

export interface ZoneWrite {
  robot_id: string | null;
  zone: Zone;
}

export interface SafetyEventOut {
  id: number;
  robot_id: string;
  request_id: string | null;
  t: number;
  tick: number;
  rule: number;
  rule_name: string;
  joint: number;
  value: number;
  limit: number;
  recorded_at: string;
  /** KEEP_OUT_ZONE: the zone and the monitored point (servers with issue 19's zone events). */
  zone_name?: string | null;
  point_name?: string | null;
}

export interface CommandOut {
  robot_id: string;
  ok: boolean;
  detail?: string | null;
}

export interface CommandsOut {
  ok: boolean;
  robots: CommandOut[];
}

export interface Hazard {
  kind: string;
  detail: string;
  data?: Record<string, unknown>;
}

export interface RobotHazards {
  robot_id: string;
  safety: Record<string, unknown> | null;
  hazards: Hazard[];
}

// --- devices ---

export interface EdgeDeviceOut {
  id: string;
  name: string;
  kind: string;
  robot_id: string | null;
  address: string | null;
  capabilities: Record<string, unknown>;
  registered_at: string;
}

export interface PeripheralOut {
  id: string;
  name: string;
  kind: string;
  robot_id: string | null;
  edge_device_id: string | null;
  interface: string | null;
  config: Record<string, unknown>;
  registered_at: string;
}

// --- cause analysis (GET /api/v1/robot/executions/{id}/analysis: observability/rca) ---

export interface RankedCause {
  cause: string;
  title: string;
  score: number;
  explanation: string;
  remedy: string;
  evidence: string[];
}

/** The fields the dashboard reads; a 404 (an older server) leaves the dashboard to explain the
 * failure from the result and the events itself. */
export interface ExecutionAnalysis {
  execution_id: string;
  status: string;
  failed_step: string | null;
  failed_phase: string | null;
  causes: RankedCause[];
}
