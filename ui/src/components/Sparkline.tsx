// A small SVG line chart of a series of numbers (no chart library).
export function Sparkline({ values, width = 220, height = 44, label }: { values: number[]; width?: number; height?: number; label: string }) {
  const finite = values.filter(Number.isFinite);
  if (finite.length < 2) {
    return (
      <svg width={width} height={height} role="img" aria-label={`${label}: not enough samples`} className="sparkline">
        <text x={4} y={height / 2} className="sparkline-empty">
          collecting…
        </text>
      </svg>
    );
  }
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const span = max - min || Math.abs(max) || 1;
  const points = values
    .map((v, i) => {
      if (!Number.isFinite(v)) return null;
      const x = (i / (values.length - 1)) * (width - 2) + 1;
      const y = height - 2 - ((v - min) / span) * (height - 4);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .filter(Boolean)
    .join(" ");
  return (
    <svg width={width} height={height} role="img" aria-label={`${label}: ${finite.length} samples`} className="sparkline">
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth={1.5} />
    </svg>
  );
}
