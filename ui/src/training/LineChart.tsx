// A line chart with its range written on it (loss curves, joint plots): SVG, no library.
import { scaleSeries, type Series } from "./chart";

function short(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(a < 1 ? 4 : a < 100 ? 3 : 0);
}

export interface ChartLine extends Series {
  name: string;
  className?: string;
}

export function LineChart(props: {
  lines: ChartLine[];
  label: string;
  xUnit: string;
  yUnit?: string;
  width?: number;
  height?: number;
  log?: boolean;
  testId?: string;
}) {
  const { width = 360, height = 120, log = false } = props;
  const scaled = scaleSeries(props.lines, width, height, log);
  const points = Math.max(0, ...props.lines.map((l) => l.x.length));
  return (
    <figure className="line-chart" data-testid={props.testId} data-points={scaled ? points : 0}>
      <figcaption>
        {props.label}
        {log ? <span className="muted"> (log scale)</span> : null}
        {props.lines.length > 1
          ? props.lines.map((l, i) => (
              <span key={l.name} className={`chart-key ${l.className ?? `chart-line-${i}`}`}>
                — {l.name}
              </span>
            ))
          : null}
      </figcaption>
      {scaled ? (
        <>
          <svg width={width} height={height} role="img" aria-label={`${props.label}: ${points} points`}>
            <rect x={0} y={0} width={width} height={height} className="chart-frame" />
            {scaled.lines.map((line, i) =>
              line ? (
                <polyline
                  key={props.lines[i]!.name}
                  points={line}
                  className={props.lines[i]!.className ?? `chart-line-${i}`}
                  fill="none"
                  strokeWidth={1.5}
                />
              ) : null,
            )}
          </svg>
          <div className="chart-range muted">
            <span>
              {short(scaled.yMin)} … {short(scaled.yMax)}
              {props.yUnit ? ` ${props.yUnit}` : ""}
            </span>
            <span>
              {short(scaled.xMin)} … {short(scaled.xMax)} {props.xUnit}
            </span>
          </div>
        </>
      ) : (
        <p className="muted">not enough points yet</p>
      )}
    </figure>
  );
}
