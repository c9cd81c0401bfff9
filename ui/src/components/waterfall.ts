// Lays out a trace's spans as a waterfall: depth-first by parent, bars offset by start time,
// width by duration (fractions of the trace's span of time). Pure.
import type { SpanOut } from "../api/types";

export interface WaterfallRow {
  span: SpanOut;
  depth: number;
  /** 0..1 of the trace's duration */
  offset: number;
  width: number;
  durationMs: number | null;
  open: boolean;
}

export function layoutWaterfall(spans: SpanOut[]): { rows: WaterfallRow[]; totalMs: number } {
  if (!spans.length) return { rows: [], totalMs: 0 };
  const start = Math.min(...spans.map((s) => s.start_unix_nano));
  const end = Math.max(...spans.map((s) => s.end_unix_nano ?? s.start_unix_nano));
  const total = Math.max(end - start, 1);

  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map<string | null, SpanOut[]>();
  for (const s of spans) {
    const parent = s.parent_span_id && ids.has(s.parent_span_id) ? s.parent_span_id : null;
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  for (const list of children.values()) list.sort((a, b) => a.start_unix_nano - b.start_unix_nano);

  const rows: WaterfallRow[] = [];
  const seen = new Set<string>();
  const visit = (parent: string | null, depth: number) => {
    for (const span of children.get(parent) ?? []) {
      if (seen.has(span.span_id)) continue;
      seen.add(span.span_id);
      const open = span.end_unix_nano === null;
      const spanEnd = span.end_unix_nano ?? end;
      rows.push({
        span,
        depth,
        offset: (span.start_unix_nano - start) / total,
        width: Math.max(0, spanEnd - span.start_unix_nano) / total,
        durationMs: span.duration_ms ?? (open ? null : (spanEnd - span.start_unix_nano) / 1e6),
        open,
      });
      visit(span.span_id, depth + 1);
    }
  };
  visit(null, 0);
  return { rows, totalMs: total / 1e6 };
}
