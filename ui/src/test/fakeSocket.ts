// A WebSocket stand-in the tests drive by hand.
import type { SocketLike } from "../hooks/telemetrySocket";

export class FakeSocket implements SocketLike {
  static instances: FakeSocket[] = [];
  readyState = 0;
  onopen: ((ev: Event) => unknown) | null = null;
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  onclose: ((ev: CloseEvent) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  closeCalls: { code?: number; reason?: string }[] = [];
  sent: string[] = [];

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }

  static reset(): void {
    FakeSocket.instances = [];
  }

  static last(): FakeSocket {
    const s = FakeSocket.instances[FakeSocket.instances.length - 1];
    if (!s) throw new Error("no socket was created");
    return s;
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }

  message(data: unknown): void {
    this.onmessage?.(new MessageEvent("message", { data: typeof data === "string" ? data : JSON.stringify(data) }));
  }

  /** The server (or the network) closes the connection. */
  serverClose(code = 1006, reason = ""): void {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code, reason }));
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("send before open");
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closeCalls.push({ code, reason });
    this.readyState = 2;
    // a real socket reports the close asynchronously
    queueMicrotask(() => {
      this.readyState = 3;
      this.onclose?.(new CloseEvent("close", { code: code ?? 1000, reason: reason ?? "" }));
    });
  }
}

export const fakeSocketFactory = (url: string): FakeSocket => new FakeSocket(url);
