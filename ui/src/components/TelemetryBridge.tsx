// Keeps the telemetry socket open while a key is known; feeds the stores and refreshes
// REST data that a message makes stale.
import { useQueryClient } from "@tanstack/react-query";
import { authMessage, telemetryUrl, type TelemetryMessage } from "../api/telemetry";
import { useTelemetry } from "../hooks/useTelemetry";
import { dispatchTelemetry } from "../stores/dispatch";
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

  const onMessage = (msg: TelemetryMessage) => {
    dispatchTelemetry(msg);
    if (msg.type === "robot_connected" || msg.type === "robot_disconnected") {
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
    onStateChange: (state, info) => setConnection(state, info),
    onRejected: (reason) => {
      useUiStore.getState().pushToast({ title: "Telemetry refused", description: reason, kind: "error" });
      useSystemStore.getState().requestApiKey();
    },
  });
  return null;
}
