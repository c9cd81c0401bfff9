// Teleoperation of the selected robot: start/stop a session (Ctrl+T), hold Space as the deadman,
// move the palm target with W/S (forward/back), A/D (left/right), Q/E (up/down) or a gamepad,
// the head with the arrow keys, G to toggle the grip, Tab to switch hands. Inputs go to
// POST /api/v1/robots/{id}/teleop/input at 30 Hz; the robot's own status (hold reason, input →
// kernel command latency) is polled from GET …/teleop.
import { useCallback, useEffect, useRef, useState } from "react";
import { apiFetch } from "../api/client";
import { Panel } from "../components/Panel";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { advance, type Side, type TeleopTarget } from "./teleopKeys";
import { TELEOP_TOGGLE_EVENT } from "./teleopToggle";

interface Latency {
  count: number;
  p50_ms: number | null;
  p99_ms: number | null;
}

interface TeleopStatus {
  active: boolean;
  holding: boolean;
  hold_reason: string | null;
  inputs: number;
  commands: number;
  input_to_command: Latency;
  ended: string | null;
  palm_start: Record<string, [number, number, number]>;
}

interface TeleopOut {
  robot_id: string;
  ok: boolean;
  detail: string;
  operator: string | null;
  status: TeleopStatus | null;
}

const SEND_HZ = 30;

export default function TeleopPage() {
  const robotId = useSelectedRobot();
  const [out, setOut] = useState<TeleopOut | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [deadman, setDeadman] = useState(false);
  const target = useRef<TeleopTarget | null>(null);
  const held = useRef(new Set<string>());
  const seq = useRef(0);
  const active = out?.status?.active ?? false;

  const refresh = useCallback(async () => {
    if (!robotId) return;
    try {
      setOut(await apiFetch<TeleopOut>(`/api/v1/robots/${robotId}/teleop`));
    } catch (e) {
      setError(String((e as Error).message ?? e));
    }
  }, [robotId]);

  useEffect(() => {
    void refresh();
    const timer = window.setInterval(() => void refresh(), 500);
    return () => window.clearInterval(timer);
  }, [refresh]);

  const start = async () => {
    if (!robotId) return;
    setError(null);
    try {
      const started = await apiFetch<TeleopOut>(`/api/v1/robots/${robotId}/teleop/start`, { method: "POST", body: {} });
      const palm = started.status?.palm_start?.right ?? [0.3, -0.2, 1.0];
      target.current = { side: "right", pos: [...palm] as [number, number, number], grip: 0, head: [0, 0.25] };
      setOut(started);
    } catch (e) {
      setError(String((e as Error).message ?? e));
    }
  };

  const stop = async () => {
    if (!robotId) return;
    try {
      setOut(await apiFetch<TeleopOut>(`/api/v1/robots/${robotId}/teleop/stop`, { method: "POST" }));
    } catch (e) {
      setError(String((e as Error).message ?? e));
    }
  };

  useEffect(() => {
    const toggle = () => void (active ? stop() : start());
    window.addEventListener(TELEOP_TOGGLE_EVENT, toggle);
    return () => window.removeEventListener(TELEOP_TOGGLE_EVENT, toggle);
  });

  useEffect(() => {
    const down = (e: KeyboardEvent) => {
      if (!active) return;
      const key = e.key.toLowerCase();
      if (key === " ") {
        setDeadman(true);
        e.preventDefault();
      } else if (key === "g" && target.current) {
        target.current = { ...target.current, grip: target.current.grip > 0.5 ? 0 : 1 };
      } else if (key === "tab" && target.current && out?.status) {
        e.preventDefault();
        const side: Side = target.current.side === "right" ? "left" : "right";
        const palm = out.status.palm_start[side];
        if (palm) target.current = { ...target.current, side, pos: [...palm] as [number, number, number] };
      } else held.current.add(key);
    };
    const up = (e: KeyboardEvent) => {
      const key = e.key.toLowerCase();
      if (key === " ") setDeadman(false);
      held.current.delete(key);
    };
    const blur = () => {
      setDeadman(false); // a lost focus lets go of the deadman
      held.current.clear();
    };
    window.addEventListener("keydown", down);
    window.addEventListener("keyup", up);
    window.addEventListener("blur", blur);
    return () => {
      window.removeEventListener("keydown", down);
      window.removeEventListener("keyup", up);
      window.removeEventListener("blur", blur);
    };
  }, [active, out]);

  useEffect(() => {
    if (!active || !robotId) return;
    const timer = window.setInterval(() => {
      const current = target.current;
      if (!current) return;
      const pad = navigator.getGamepads?.().find((g) => g !== null) ?? null;
      const padDeadman = pad ? pad.buttons[5]?.pressed || pad.buttons[7]?.pressed : false; // RB / RT
      const next = advance(current, held.current, 1 / SEND_HZ, pad ? pad.axes : []);
      target.current = next;
      seq.current += 1;
      const body = {
        seq: seq.current,
        sent_at: Date.now() / 1000,
        deadman: deadman || Boolean(padDeadman),
        hands: { [next.side]: { pos: next.pos } },
        grip: { [next.side]: next.grip },
        head: next.head,
      };
      void apiFetch(`/api/v1/robots/${robotId}/teleop/input`, { method: "POST", body }).catch((e) =>
        setError(String((e as Error).message ?? e)),
      );
    }, 1000 / SEND_HZ);
    return () => window.clearInterval(timer);
  }, [active, robotId, deadman]);

  const status = out?.status;
  const latency = status?.input_to_command;
  return (
    <div className="page" data-testid="teleop-page">
      <Panel
        title={`Teleoperation${robotId ? ` — ${robotId}` : ""}`}
        actions={
          active ? (
            <button type="button" onClick={() => void stop()} data-testid="teleop-stop">
              Stop teleop
            </button>
          ) : (
            <button type="button" onClick={() => void start()} disabled={!robotId} data-testid="teleop-start">
              Start teleop
            </button>
          )
        }
      >
        {active ? (
          <div className="banner warn" data-testid="teleop-banner">
            TELEOP — {out?.operator ?? "operator"} drives {robotId}; the robot takes no plans.{" "}
            {deadman ? "Deadman held." : "Hold Space (or RB) to move."}
          </div>
        ) : null}
        {error ? <p className="error" role="alert">{error}</p> : null}
        <dl className="kv" data-testid="teleop-status">
          <dt>deadman</dt>
          <dd>{status ? (status.holding ? `holding (${status.hold_reason ?? "—"})` : "moving") : "—"}</dd>
          <dt>input → kernel command</dt>
          <dd>
            {latency && latency.count > 0
              ? `p50 ${latency.p50_ms?.toFixed(1)} ms, p99 ${latency.p99_ms?.toFixed(1)} ms (${latency.count})`
              : "—"}
          </dd>
          <dt>inputs / commands</dt>
          <dd>{status ? `${status.inputs} / ${status.commands}` : "—"}</dd>
          <dt>target</dt>
          <dd data-testid="teleop-target">
            {target.current ? `${target.current.side} palm ${target.current.pos.map((p) => p.toFixed(3)).join(", ")} m` : "—"}
          </dd>
          {status?.ended ? (
            <>
              <dt>ended</dt>
              <dd>{status.ended}</dd>
            </>
          ) : null}
        </dl>
        <p className="muted">
          W/S forward/back, A/D left/right, Q/E up/down, arrows move the head, G grip, Tab other hand; a gamepad's left
          stick moves the palm in the plane, right stick up/down.
        </p>
      </Panel>
    </div>
  );
}
