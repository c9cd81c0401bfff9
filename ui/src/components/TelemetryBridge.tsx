// Keeps the telemetry socket open while a key is known; feeds the stores, refreshes REST data
// that a message makes stale, and after an outage reconciles what ended while away.
import { useRef } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { authMessage, telemetryUrl, type TelemetryMessage } from "../api/telemetry";
import { useTelemetry } from "../hooks/useTelemetry";
import { dispatchTelemetry } from "../stores/dispatch";
import { useRobotStore } from "../stores/robot";
import { useSystemStore } from "../stores/system";
import { useUiStore } from "../stores/ui";

/** One connection per key entry: entering a key again (even the same one) reconnects. */
export function TelemetryBridge() {
  const keyVersion = useSystemStore((s) => s.keyVersion);
  return <TelemetryConnection key={keyVersion} />;
}

function TelemetryConnection() {
  const apiKey = useSystemStore((s) => s.apiKey);
  const setConnection = useSystemStore((s) => s.setConnection);
  const qc = useQueryClient();
  // connected once, then lost: the next connection reconciles
  const wasConnected = useRef(false);
  const lost = useRef(false);

  const onMessage = (msg: TelemetryMessage) => {
    const before = msg.type === "state" ? useRobotStore.getState().states[msg.robot_id]?.safety?.mode : undefined;
    dispatchTelemetry(msg);
    if (msg.type === "state") {
      // the hazards list follows the kernel: refreshed as soon as the safety mode changes
      if (before !== undefined && before !== msg.state.safety?.mode) void qc.invalidateQueries({ queryKey: ["hazards"] });
    } else if (msg.type === "robot_connected" || msg.type === "robot_disconnected") {
      void qc.invalidateQueries({ queryKey: ["robots"] });
      if (msg.type === "robot_connected") void qc.invalidateQueries({ queryKey: ["robot-model", msg.robot_id] });
    } else if (msg.type === "execution") {
      void qc.invalidateQueries({ queryKey: ["execution", msg.request_id] });
      void qc.invalidateQueries({ queryKey: ["executions"] });
    }
  };

  useTelemetry({
    url: apiKey ? telemetryUrl(window.location) : null,
    firstMessage: apiKey ? authMessage(apiKey) : null,
    onMessage,
    onStateChange: (state, info) => {
      setConnection(state, info);
      if (state === "connected") {
        if (lost.current) {
          // what ended while away comes from the API; the live store forgets what it cannot know
          useRobotStore.getState().reconcile();
          void qc.invalidateQueries();
        }
        wasConnected.current = true;
        lost.current = false;
      } else if (wasConnected.current) {
        lost.current = true;
      }
    },
    onRejected: (reason) => {
      useUiStore.getState().pushToast({ title: "Telemetry refused", description: reason, kind: "error" });
      useSystemStore.getState().requestApiKey();
    },
  });
  return null;
}
