// Connection to the server: the telemetry socket's state and the operator's API key.
import { create } from "zustand";
import { loadApiKey, saveApiKey } from "../api/apiKey";

export type ConnectionState = "connecting" | "connected" | "disconnecting" | "disconnected";

export interface SystemState {
  connection: ConnectionState;
  /** Why the socket last closed, as the server said (e.g. a rejected key). */
  lastCloseReason: string | null;
  /** When the next reconnect attempt is due (ms since epoch), null when none is scheduled. */
  reconnectAt: number | null;
  /** server_time of the last message received. */
  serverTime: number | null;
  apiKey: string | null;
  /** Bumped on every key entry (even the same key again): the telemetry socket reconnects. */
  keyVersion: number;
  /** The key dialog is open: no key yet, or the server answered 401. */
  keyRequested: boolean;

  setConnection: (state: ConnectionState, info?: { reason?: string | null; reconnectAt?: number | null }) => void;
  noteServerTime: (t: number) => void;
  requestApiKey: () => void;
  setApiKey: (key: string) => void;
}

export const useSystemStore = create<SystemState>((set) => {
  const key = typeof window !== "undefined" ? loadApiKey() : null;
  return {
    connection: "disconnected",
    lastCloseReason: null,
    reconnectAt: null,
    serverTime: null,
    apiKey: key,
    keyVersion: 0,
    keyRequested: key === null,

    setConnection: (connection, info) =>
      set((s) => ({
        connection,
        lastCloseReason: info?.reason !== undefined ? info.reason : s.lastCloseReason,
        reconnectAt: info?.reconnectAt ?? null,
      })),
    noteServerTime: (serverTime) => set({ serverTime }),
    requestApiKey: () => set({ keyRequested: true }),
    setApiKey: (apiKey) => {
      saveApiKey(apiKey);
      set((s) => ({ apiKey: apiKey.trim(), keyVersion: s.keyVersion + 1, keyRequested: false, lastCloseReason: null }));
    },
  };
});
