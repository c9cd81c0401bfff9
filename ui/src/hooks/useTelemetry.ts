// React hook around TelemetrySocket: connects while `url` is set, exposes the connection state,
// hands every parsed message to `onMessage` (by default: into the Zustand stores).
import { useEffect, useRef, useState } from "react";
import { parseTelemetry, type TelemetryMessage } from "../api/telemetry";
import { dispatchTelemetry } from "../stores/dispatch";
import type { ConnectionState } from "../stores/system";
import { TelemetrySocket, type BackoffOptions, type SocketFactory } from "./telemetrySocket";

export interface UseTelemetryOptions {
  url: string | null;
  /** Sent as soon as the socket opens, on every (re)connection: the API key message. */
  firstMessage?: string | null;
  onMessage?: (msg: TelemetryMessage) => void;
  onStateChange?: (state: ConnectionState, info: { reason: string | null; reconnectAt: number | null }) => void;
  onRejected?: (reason: string) => void;
  createSocket?: SocketFactory;
  backoff?: BackoffOptions;
  watchdogMs?: number;
  random?: () => number;
}

export interface TelemetryHandle {
  state: ConnectionState;
  reason: string | null;
  disconnect: () => void;
}

const browserSocket: SocketFactory = (url) => new WebSocket(url);

export function useTelemetry(options: UseTelemetryOptions): TelemetryHandle {
  const [state, setState] = useState<ConnectionState>("disconnected");
  const [reason, setReason] = useState<string | null>(null);
  const socketRef = useRef<TelemetrySocket | null>(null);
  // Callbacks may change every render; the socket reads the latest ones.
  const latest = useRef(options);
  latest.current = options;

  const { url, firstMessage, createSocket, backoff, watchdogMs, random } = options;

  useEffect(() => {
    if (!url) return;
    const socket = new TelemetrySocket({
      url,
      firstMessage: firstMessage ?? undefined,
      createSocket: createSocket ?? browserSocket,
      backoff,
      watchdogMs,
      random,
      onState: (s, info) => {
        setState(s);
        setReason(info.reason);
        latest.current.onStateChange?.(s, info);
      },
      onData: (data) => {
        const msg = parseTelemetry(data);
        if (msg) (latest.current.onMessage ?? dispatchTelemetry)(msg);
      },
      onRejected: (r) => latest.current.onRejected?.(r),
    });
    socketRef.current = socket;
    socket.connect();
    return () => {
      socket.disconnect();
      socketRef.current = null;
    };
  }, [url, firstMessage, createSocket, backoff, watchdogMs, random]);

  return {
    state,
    reason,
    disconnect: () => socketRef.current?.disconnect(),
  };
}
