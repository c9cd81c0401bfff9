// Messages of the telemetry WebSocket (/ws/telemetry), JSON text frames.
import type { ExecutionStatus, RobotState, Vec3 } from "./types";

export interface HelloMessage {
  type: "hello";
  server_time: number;
}

export interface HeartbeatMessage {
  type: "heartbeat";
  server_time: number;
}

export interface StateMessage {
  type: "state";
  robot_id: string;
  state: RobotState;
  server_time: number;
}

export interface SafetyEventMessage {
  type: "safety_event";
  robot_id: string;
  seq: number;
  t: number;
  tick: number;
  rule: number;
  rule_name: string;
  joint: number;
  /** The joint's name; null when the event concerns no joint (a zone, a person, an e-stop). */
  joint_name: string | null;
  value: number;
  limit: number;
  zone_name?: string | null;
  point_name?: string | null;
}

export interface RobotLinkMessage {
  type: "robot_connected" | "robot_disconnected";
  robot_id: string;
}

export interface PlannedHands {
  left?: Vec3[];
  right?: Vec3[];
}

export interface ProgressMessage {
  type: "progress";
  robot_id: string;
  request_id: string;
  step_id: string;
  index: number;
  total: number;
  skill_id: string;
  status: "running" | "succeeded" | "failed" | string;
  planned_hands?: PlannedHands | null;
}

export interface ExecutionMessage {
  type: "execution";
  robot_id: string;
  request_id: string;
  status: ExecutionStatus | string;
  task_description?: string | null;
}

export type TelemetryMessage =
  | HelloMessage
  | HeartbeatMessage
  | StateMessage
  | SafetyEventMessage
  | RobotLinkMessage
  | ProgressMessage
  | ExecutionMessage;

/** Parses one frame; null for anything that is not a JSON object with a string `type`. */
export function parseTelemetry(data: unknown): TelemetryMessage | null {
  if (typeof data !== "string") return null;
  try {
    const msg: unknown = JSON.parse(data);
    if (msg && typeof msg === "object" && typeof (msg as { type?: unknown }).type === "string") {
      return msg as TelemetryMessage;
    }
  } catch {
    /* not JSON: ignored */
  }
  return null;
}

/** The socket's URL: no key in it (URLs end up in logs and history); see `authMessage`. */
export function telemetryUrl(location: Pick<Location, "protocol" | "host">): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/telemetry`;
}

/** The first message of the socket: the server reads the key from it before anything else. */
export function authMessage(apiKey: string): string {
  return JSON.stringify({ type: "auth", api_key: apiKey });
}
