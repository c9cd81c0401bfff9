// A step's top-k skills as horizontal bars of their routing weights.
export function WeightBars({ skills, weights, chosen }: { skills: string[]; weights: number[]; chosen: string }) {
  return (
    <ul className="weights" data-testid="weight-bars">
      {skills.map((skill, i) => {
        const w = weights[i];
        const known = w !== undefined && Number.isFinite(w);
        return (
          <li key={skill} className={skill === chosen ? "chosen" : undefined}>
            <span className="weight-label">{skill}</span>
            <span className="weight-track">
              <span className="weight-bar" style={{ width: known ? `${Math.max(0, Math.min(1, w)) * 100}%` : 0 }} />
            </span>
            <span className="weight-value">{known ? w.toFixed(3) : "—"}</span>
          </li>
        );
      })}
    </ul>
  );
}
