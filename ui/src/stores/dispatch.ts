// Routes one telemetry message into the stores.
import type { TelemetryMessage } from "../api/telemetry";
import { useRobotStore } from "./robot";
import { useSystemStore } from "./system";

export function dispatchTelemetry(msg: TelemetryMessage, now: number = Date.now()): void {
  const robot = useRobotStore.getState();
  switch (msg.type) {
    case "hello":
    case "heartbeat":
      useSystemStore.getState().noteServerTime(msg.server_time);
      return;
    case "state":
      robot.applyState(msg.robot_id, msg.state, msg.server_time, now);
      return;
    case "robot_connected":
      robot.setLinked(msg.robot_id, true);
      return;
    case "robot_disconnected":
      robot.setLinked(msg.robot_id, false);
      return;
    case "progress":
      robot.applyProgress(msg);
      return;
    case "execution":
      robot.applyExecution(msg);
      return;
    case "safety_event":
      robot.addSafetyEvent(msg, now);
      return;
  }
}
