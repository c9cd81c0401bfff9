// One recorded episode: its cameras' video beside the joint plots (state and commanded target of
// the joint picked, the one that moved most first).
import { useMemo, useState } from "react";
import { useEpisodeFrames } from "../api/learning";
import type { DatasetInfo } from "../api/learningTypes";
import { errorMessage } from "../api/errors";
import { EmptyState } from "../components/Panel";
import { busiestColumn, column } from "./chart";
import { LineChart } from "./LineChart";
import { useEpisodeVideo } from "./useObjectUrl";

const STATE = "observation.state";
const ACTION = "action";

function CameraVideo({ dataset, episode, camera }: { dataset: string; episode: number; camera: string }) {
  const { url, error } = useEpisodeVideo(dataset, episode, camera);
  return (
    <figure className="line-chart">
      <figcaption>camera {camera}</figcaption>
      {url ? (
        <video src={url} controls muted loop playsInline data-testid="episode-video" data-camera={camera} />
      ) : error ? (
        <p className="error-text">video unavailable: {error}</p>
      ) : (
        <p className="muted">cutting the video…</p>
      )}
    </figure>
  );
}

export function EpisodeViewer({ info, episode }: { info: DatasetInfo; episode: number }) {
  const frames = useEpisodeFrames(info.name, episode);
  const actionNames = info.features.find((f) => f.name === ACTION)?.names ?? info.joint_names;
  const stateNames = info.features.find((f) => f.name === STATE)?.names ?? [];
  const [picked, setPicked] = useState<number | null>(null);

  const data = frames.data;
  const t = useMemo(() => (data?.timestamp ?? []).map((v) => (Array.isArray(v) ? v[0]! : v)), [data]);
  const action = data?.[ACTION] as number[][] | undefined;
  const state = data?.[STATE] as number[][] | undefined;
  const busiest = useMemo(() => (action ? busiestColumn(action, actionNames.length) : 0), [action, actionNames.length]);
  const joint = picked ?? busiest;
  const jointName = actionNames[joint] ?? `joint ${joint}`;
  const stateColumn = stateNames.indexOf(`${jointName}.pos`);

  return (
    <div data-testid="episode-viewer" data-episode={episode}>
      <div className="episode-view">
        {info.cameras.map((camera) => (
          <CameraVideo key={camera} dataset={info.name} episode={episode} camera={camera} />
        ))}
        {info.cameras.length === 0 ? <p className="muted">This dataset holds no camera video (state only).</p> : null}
        <div>
          {frames.isError ? (
            <EmptyState>Could not load the frames: {errorMessage(frames.error)}</EmptyState>
          ) : !data ? (
            <EmptyState>Loading frames…</EmptyState>
          ) : (
            <>
              <label className="muted">
                joint{" "}
                <select data-testid="episode-joint" value={joint} onChange={(e) => setPicked(Number(e.target.value))}>
                  {actionNames.map((name, i) => (
                    <option key={name} value={i}>
                      {name}
                    </option>
                  ))}
                </select>
              </label>
              <LineChart
                testId="episode-joint-plot"
                label={jointName}
                xUnit="s"
                yUnit="rad"
                lines={[
                  ...(state && stateColumn >= 0 ? [{ name: "measured", x: t, y: column(state, stateColumn) }] : []),
                  ...(action ? [{ name: "commanded", x: t, y: column(action, joint) }] : []),
                ]}
              />
            </>
          )}
        </div>
      </div>
    </div>
  );
}
