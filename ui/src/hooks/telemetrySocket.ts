// The telemetry connection's state machine: connecting → connected → (disconnecting) →
// disconnected, reconnect with exponential backoff + jitter, heartbeat watchdog.
import type { ConnectionState } from "../stores/system";

export interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  close(code?: number, reason?: string): void;
  send(data: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** ± fraction of the delay drawn at random, e.g. 0.2 → 80 %..120 %. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 10_000, jitter: 0.2 };
/** No message for this long: the connection is dead. */
export const WATCHDOG_MS = 3_000;
/** Close code of a rejected API key. */
export const POLICY_VIOLATION = 1008;
/** How long disconnect() waits for the socket to report its close. */
export const CLOSE_GRACE_MS = 2_000;
const CLOSED = 3;

export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number): number {
  const base = Math.min(opts.maxMs, opts.initialMs * 2 ** attempt);
  return Math.round(base * (1 - opts.jitter + 2 * opts.jitter * random()));
}

export interface TelemetrySocketOptions {
  url: string;
  /** Sent first on every connection (the API key: never in the URL). */
  firstMessage?: string;
  createSocket: SocketFactory;
  onState: (state: ConnectionState, info: { reason: string | null; reconnectAt: number | null }) => void;
  onData: (data: unknown) => void;
  /** The server refused the connection for good (close code 1008): no reconnect. */
  onRejected?: (reason: string) => void;
  backoff?: BackoffOptions;
  watchdogMs?: number;
  random?: () => number;
  now?: () => number;
}

export class TelemetrySocket {
  private socket: SocketLike | null = null;
  private state: ConnectionState = "disconnected";
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdogTimer: ReturnType<typeof setTimeout> | null = null;
  private closeTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private readonly opts: Required<Omit<TelemetrySocketOptions, "onRejected" | "firstMessage">> &
    Pick<TelemetrySocketOptions, "onRejected" | "firstMessage">;

  constructor(options: TelemetrySocketOptions) {
    this.opts = {
      ...options,
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      watchdogMs: options.watchdogMs ?? WATCHDOG_MS,
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
    };
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  /** Reconnect attempts since the last healthy connection. */
  get attempts(): number {
    return this.attempt;
  }

  connect(): void {
    this.stopped = false;
    if (this.socket || this.reconnectTimer || this.state === "disconnecting") return;
    this.open();
  }

  disconnect(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.setState("disconnecting");
    if (socket && socket.readyState !== CLOSED) {
      const finish = () => {
        if (this.closeTimer) clearTimeout(this.closeTimer);
        this.closeTimer = null;
        if (this.socket !== socket) return;
        socket.onclose = null;
        this.socket = null;
        this.setState("disconnected");
      };
      socket.onclose = finish;
      socket.onmessage = null;
      socket.onerror = null;
      socket.onopen = null;
      socket.close(1000, "client disconnect");
      // A dead network may never report the close: do not wait for it forever.
      this.closeTimer = setTimeout(finish, CLOSE_GRACE_MS);
    } else {
      this.socket = null;
      this.setState("disconnected");
    }
  }

  private open(): void {
    this.reconnectTimer = null;
    this.setState("connecting");
    let socket: SocketLike;
    try {
      socket = this.opts.createSocket(this.opts.url);
    } catch {
      this.scheduleReconnect(null);
      return;
    }
    this.socket = socket;
    this.armWatchdog();
    socket.onopen = () => {
      if (this.opts.firstMessage !== undefined) socket.send(this.opts.firstMessage);
      this.setState("connected");
      this.armWatchdog();
    };
    socket.onmessage = (ev) => {
      this.armWatchdog();
      this.attempt = 0; // a message on an open socket: a healthy connection
      this.opts.onData(ev.data);
    };
    socket.onerror = () => {
      /* the close event follows */
    };
    socket.onclose = (ev) => {
      this.dropSocket();
      if (ev.code === POLICY_VIOLATION) {
        const reason = ev.reason || "the server refused the connection";
        this.stopped = true;
        this.setState("disconnected", reason);
        this.opts.onRejected?.(reason);
        return;
      }
      this.scheduleReconnect(ev.reason || `closed (${ev.code})`);
    };
  }

  private armWatchdog(): void {
    if (this.watchdogTimer) clearTimeout(this.watchdogTimer);
    this.watchdogTimer = setTimeout(() => {
      this.watchdogTimer = null;
      const socket = this.socket;
      this.dropSocket();
      socket?.close(4000, "heartbeat timeout");
      this.scheduleReconnect("no message for 3 s");
    }, this.opts.watchdogMs);
  }

  private scheduleReconnect(reason: string | null): void {
    if (this.stopped) {
      this.setState("disconnected", reason);
      return;
    }
    const delay = backoffDelay(this.attempt, this.opts.backoff, this.opts.random);
    this.attempt += 1;
    this.setState("disconnected", reason, this.opts.now() + delay);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  /** Forgets the current socket without reacting to its later events. */
  private dropSocket(): void {
    if (this.watchdogTimer) clearTimeout(this.watchdogTimer);
    this.watchdogTimer = null;
    if (this.socket) {
      this.socket.onopen = null;
      this.socket.onmessage = null;
      this.socket.onclose = null;
      this.socket.onerror = null;
    }
    this.socket = null;
  }

  private clearTimers(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.watchdogTimer) clearTimeout(this.watchdogTimer);
    this.reconnectTimer = null;
    this.watchdogTimer = null;
  }

  private setState(state: ConnectionState, reason: string | null = null, reconnectAt: number | null = null): void {
    this.state = state;
    this.opts.onState(state, { reason, reconnectAt });
  }
}
