// A trace as a waterfall of spans.
import type { TraceOut } from "../api/types";
import { ms } from "./fmt";
import { EmptyState } from "./Panel";
import { layoutWaterfall } from "./waterfall";

export function Waterfall({ trace }: { trace: TraceOut }) {
  const { rows, totalMs } = layoutWaterfall(trace.spans);
  if (!rows.length) return <EmptyState>This trace has no spans.</EmptyState>;
  return (
    <div className="waterfall" data-testid="waterfall">
      <div className="waterfall-head">
        <span>
          {trace.name} — {rows.length} spans, {ms(totalMs)}
        </span>
      </div>
      {rows.map((r) => (
        <div className="waterfall-row" key={r.span.span_id} data-testid="waterfall-row" title={JSON.stringify(r.span.attributes, null, 1)}>
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
