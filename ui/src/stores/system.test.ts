import { describe, expect, it } from "vitest";
import { API_KEY_STORAGE } from "../api/apiKey";
import { useSystemStore } from "./system";

describe("system store", () => {
  it("asks for a key, stores the one entered and closes the request", () => {
    useSystemStore.getState().requestApiKey();
    expect(useSystemStore.getState().keyRequested).toBe(true);
    const version = useSystemStore.getState().keyVersion;
    useSystemStore.getState().setApiKey("  dyn_abc ");
    const s = useSystemStore.getState();
    expect(s.keyVersion).toBe(version + 1);
    expect(s.keyRequested).toBe(false);
    expect(s.apiKey).toBe("dyn_abc");
    expect(window.localStorage.getItem(API_KEY_STORAGE)).toBe("dyn_abc");
  });

  it("records the connection state and why it closed", () => {
    useSystemStore.getState().setConnection("disconnected", { reason: "invalid key", reconnectAt: 5 });
    expect(useSystemStore.getState()).toMatchObject({ connection: "disconnected", lastCloseReason: "invalid key", reconnectAt: 5 });
    useSystemStore.getState().setConnection("connecting");
    expect(useSystemStore.getState()).toMatchObject({ connection: "connecting", lastCloseReason: "invalid key", reconnectAt: null });
  });
});
