import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TelemetryMessage } from "../api/telemetry";
import type { ConnectionState } from "../stores/system";
import { FakeSocket, fakeSocketFactory } from "../test/fakeSocket";
import { backoffDelay, DEFAULT_BACKOFF } from "./telemetrySocket";
import { useTelemetry } from "./useTelemetry";

const URL = "ws://test/ws/telemetry";
const AUTH = '{"type":"auth","api_key":"k"}';
const noJitter = () => 0.5;

function setup(onMessage = vi.fn<(m: TelemetryMessage) => void>()) {
  const states: ConnectionState[] = [];
  const onRejected = vi.fn();
  const hook = renderHook(() =>
    useTelemetry({
      url: URL,
      firstMessage: AUTH,
      createSocket: fakeSocketFactory,
      random: noJitter,
      onMessage,
      onRejected,
      onStateChange: (s) => states.push(s),
    }),
  );
  return { hook, states, onMessage, onRejected };
}

describe("useTelemetry", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.reset();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("goes connecting → connected and hands parsed messages on", () => {
    const { hook, states, onMessage } = setup();
    expect(hook.result.current.state).toBe("connecting");
    expect(FakeSocket.last().url).toBe(URL);
    expect(FakeSocket.last().sent).toEqual([]);
    act(() => FakeSocket.last().open());
    expect(FakeSocket.last().sent).toEqual([AUTH]); // the key: first, and never in the URL
    expect(hook.result.current.state).toBe("connected");
    act(() => FakeSocket.last().message({ type: "hello", server_time: 1 }));
    act(() => FakeSocket.last().message("not json"));
    expect(onMessage).toHaveBeenCalledTimes(1);
    expect(onMessage).toHaveBeenCalledWith({ type: "hello", server_time: 1 });
    expect(states).toEqual(["connecting", "connected"]);
  });

  it("reconnects with a backoff that doubles up to 10 s", () => {
    const { hook } = setup();
    const expected = [500, 1000, 2000, 4000, 8000, 10_000, 10_000];
    for (const delay of expected) {
      const before = FakeSocket.instances.length;
      act(() => FakeSocket.last().serverClose(1006));
      expect(hook.result.current.state).toBe("disconnected");
      act(() => vi.advanceTimersByTime(delay - 1));
      expect(FakeSocket.instances.length).toBe(before); // not yet
      act(() => vi.advanceTimersByTime(1));
      expect(FakeSocket.instances.length).toBe(before + 1);
      expect(hook.result.current.state).toBe("connecting");
    }
  });

  it("sends the key first again on every reconnection", () => {
    setup();
    act(() => FakeSocket.last().open());
    act(() => FakeSocket.last().serverClose(1006));
    act(() => vi.advanceTimersByTime(500));
    expect(FakeSocket.instances.length).toBe(2);
    expect(FakeSocket.last().url).toBe(URL);
    act(() => FakeSocket.last().open());
    expect(FakeSocket.last().sent).toEqual([AUTH]);
  });

  it("resets the backoff after a healthy connection", () => {
    setup();
    act(() => FakeSocket.last().serverClose(1006));
    act(() => vi.advanceTimersByTime(500));
    act(() => FakeSocket.last().serverClose(1006));
    act(() => vi.advanceTimersByTime(1000)); // second attempt waited 1 s
    expect(FakeSocket.instances.length).toBe(3);
    act(() => {
      FakeSocket.last().open();
      FakeSocket.last().message({ type: "hello", server_time: 1 });
    });
    act(() => FakeSocket.last().serverClose(1006));
    act(() => vi.advanceTimersByTime(499));
    expect(FakeSocket.instances.length).toBe(3);
    act(() => vi.advanceTimersByTime(1)); // back to 0.5 s
    expect(FakeSocket.instances.length).toBe(4);
  });

  it("the watchdog closes a silent connection after 3 s and reconnects", () => {
    const { hook, states } = setup();
    act(() => FakeSocket.last().open());
    act(() => vi.advanceTimersByTime(2900));
    act(() => FakeSocket.last().message({ type: "heartbeat", server_time: 2 }));
    act(() => vi.advanceTimersByTime(2900));
    expect(hook.result.current.state).toBe("connected"); // the heartbeat re-armed it
    const silent = FakeSocket.last();
    act(() => vi.advanceTimersByTime(100));
    expect(silent.closeCalls).toEqual([{ code: 4000, reason: "heartbeat timeout" }]);
    expect(hook.result.current.state).toBe("disconnected");
    expect(hook.result.current.reason).toBe("no message for 3 s");
    act(() => vi.advanceTimersByTime(500));
    expect(FakeSocket.instances.length).toBe(2);
    expect(states).toEqual(["connecting", "connected", "disconnected", "connecting"]);
  });

  it("disconnect() goes through disconnecting and does not reconnect", async () => {
    const { hook, states } = setup();
    act(() => FakeSocket.last().open());
    act(() => hook.result.current.disconnect());
    expect(hook.result.current.state).toBe("disconnecting");
    expect(FakeSocket.last().closeCalls[0]?.code).toBe(1000);
    await act(async () => {
      await Promise.resolve();
    });
    expect(hook.result.current.state).toBe("disconnected");
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeSocket.instances.length).toBe(1);
    expect(states).toEqual(["connecting", "connected", "disconnecting", "disconnected"]);
  });

  it("stops on a rejected key (1008) and reports the reason", () => {
    const { hook, onRejected } = setup();
    act(() => FakeSocket.last().serverClose(1008, "invalid API key"));
    expect(hook.result.current.state).toBe("disconnected");
    expect(onRejected).toHaveBeenCalledWith("invalid API key");
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeSocket.instances.length).toBe(1);
  });

  it("unmounting disconnects", () => {
    const { hook } = setup();
    act(() => FakeSocket.last().open());
    const socket = FakeSocket.last();
    hook.unmount();
    expect(socket.closeCalls.length).toBe(1);
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeSocket.instances.length).toBe(1);
  });
});

describe("backoffDelay", () => {
  it("applies ±20 % jitter", () => {
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0)).toBe(400);
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 1)).toBe(600);
    expect(backoffDelay(10, DEFAULT_BACKOFF, () => 1)).toBe(12_000);
  });
});
