// The telemetry connection state, shown in the header.
import { useEffect, useState } from "react";
import { useSystemStore } from "../stores/system";

function useSecondsUntil(at: number | null): number | null {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (at === null) return;
    const id = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(id);
  }, [at]);
  return at === null ? null : Math.max(0, (at - now) / 1000);
}

export function ConnectionBadge() {
  const state = useSystemStore((s) => s.connection);
  const reason = useSystemStore((s) => s.lastCloseReason);
  const reconnectAt = useSystemStore((s) => s.reconnectAt);
  const wait = useSecondsUntil(reconnectAt);
  const title = [reason ? `last close: ${reason}` : null, wait !== null ? `retry in ${wait.toFixed(1)} s` : null]
    .filter(Boolean)
    .join("; ");
  return (
    <span className={`badge conn-${state}`} data-testid="connection-state" data-state={state} title={title || undefined}>
      <span className="dot" /> telemetry {state}
      {state === "disconnected" && wait !== null ? ` (retry ${wait.toFixed(1)} s)` : ""}
    </span>
  );
}
