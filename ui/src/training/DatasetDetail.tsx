// One dataset: its features, its episodes, and the episode picked played back.
import { useDataset, useEpisodes } from "../api/learning";
import { duration, text } from "../components/fmt";
import { Panel } from "../components/Panel";
import { QueryState } from "../components/QueryState";
import { EpisodeViewer } from "./EpisodeViewer";

export function DatasetDetail({
  name,
  episode,
  onEpisode,
}: {
  name: string;
  episode: number | null;
  onEpisode: (index: number) => void;
}) {
  const info = useDataset(name);
  const episodes = useEpisodes(name);
  return (
    <Panel title={`Dataset ${name}`} className="wide" testId="dataset-detail">
      <QueryState query={info} notFound={`No dataset ${name} on the server.`}>
        {(d) => (
          <>
            <dl className="kv">
              <dt>recorded at</dt>
              <dd>{d.fps} frames/s (LeRobot {d.codebase_version})</dd>
              <dt>tasks</dt>
              <dd>{d.tasks.join(" · ") || "—"}</dd>
              <dt>objects</dt>
              <dd>{d.object_names.join(", ") || "—"}</dd>
            </dl>
            <table className="table" data-testid="dataset-features">
              <thead>
                <tr>
                  <th>Feature</th>
                  <th>Type</th>
                  <th>Shape</th>
                  <th>Names</th>
                </tr>
              </thead>
              <tbody>
                {d.features.map((f) => (
                  <tr key={f.name}>
                    <td>
                      <code>{f.name}</code>
                    </td>
                    <td>{f.dtype}</td>
                    <td>{f.shape.join(" × ")}</td>
                    <td className="cause" title={f.names?.join(", ")}>
                      {f.names ? `${f.names.slice(0, 4).join(", ")}${f.names.length > 4 ? `, … (${f.names.length})` : ""}` : "—"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <h3>Episodes</h3>
            <QueryState query={episodes} isEmpty={(e) => e.length === 0} empty="No episodes.">
              {(rows) => (
                <div className="scroll">
                  <table className="table" data-testid="episodes-table">
                    <thead>
                      <tr>
                        <th>#</th>
                        <th>Frames</th>
                        <th>Duration</th>
                        <th>Success</th>
                        <th>Seed</th>
                        <th>Task</th>
                      </tr>
                    </thead>
                    <tbody>
                      {rows.map((e) => (
                        <tr
                          key={e.episode_index}
                          className={`clickable${e.episode_index === episode ? " selected" : ""}`}
                          data-testid="episode-row"
                          onClick={() => onEpisode(e.episode_index)}
                        >
                          <td>{e.episode_index}</td>
                          <td>{e.length}</td>
                          <td>{duration(e.duration_s)}</td>
                          <td className={e.success === false ? "error-text" : undefined} title={e.failure ?? undefined}>
                            {e.success === null ? "—" : e.success ? "yes" : `no${e.failure ? `: ${e.failure}` : ""}`}
                          </td>
                          <td>{e.seed ?? "—"}</td>
                          <td className="cause">{text(e.tasks.join(" · "))}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </QueryState>
            {episode !== null ? <EpisodeViewer info={d} episode={episode} /> : <p className="muted">Pick an episode to play it.</p>}
          </>
        )}
      </QueryState>
    </Panel>
  );
}
