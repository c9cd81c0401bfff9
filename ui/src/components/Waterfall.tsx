// A trace as a waterfall of spans.
import { useEffect, useRef } from "react";
import type { TraceOut } from "../api/types";
import { ms } from "./fmt";
import { EmptyState } from "./Panel";
import { layoutWaterfall } from "./waterfall";

/** `focusSpanId`: a span to open at (a failed step's phase): highlighted and scrolled into view. */
export function Waterfall({ trace, focusSpanId = null }: { trace: TraceOut; focusSpanId?: string | null }) {
  const { rows, totalMs } = layoutWaterfall(trace.spans);
  const focused = useRef<HTMLDivElement | null>(null);
  useEffect(() => {
    focused.current?.scrollIntoView({ block: "center" });
  }, [focusSpanId, rows.length]);
  if (!rows.length) return <EmptyState>This trace has no spans.</EmptyState>;
  return (
    <div className="waterfall" data-testid="waterfall">
      <div className="waterfall-head">
        <span>
          {trace.name} — {rows.length} spans, {ms(totalMs)}
        </span>
      </div>
      {rows.map((r) => (
        <div
          className={`waterfall-row${r.span.span_id === focusSpanId ? " focused" : ""}`}
          key={r.span.span_id}
          ref={r.span.span_id === focusSpanId ? focused : undefined}
          data-testid="waterfall-row"
          data-span-id={r.span.span_id}
          data-focused={r.span.span_id === focusSpanId ? "true" : undefined}
          data-status={r.span.status_code}
          title={JSON.stringify(r.span.attributes, null, 1)}
        >
          <div className="waterfall-name" style={{ paddingLeft: `${r.depth * 14}px` }}>
            {r.span.name}
          </div>
          <div className="waterfall-track">
            <div
              className={`waterfall-bar ${r.span.status_code === "ERROR" ? "error" : ""} ${r.open ? "open" : ""}`}
              style={{ left: `${r.offset * 100}%`, width: `max(2px, ${r.width * 100}%)` }}
            />
          </div>
          <div className="waterfall-dur">{r.open ? "running" : ms(r.durationMs)}</div>
        </div>
      ))}
    </div>
  );
}
