// The REC indicator in the header: the selected robot records a demonstration (elapsed time,
// frames, episode number) with Stop right there; a finished recording shows while it is written.
import { useDatasets } from "../api/learning";
import type { RecordingStatus } from "../api/learningTypes";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { useRecordingStatus, useRecordingToggle } from "../hooks/useRecording";
import { episodesRecorded, formatElapsed, recordingView } from "../live/recording";
import { useNow } from "../live/useNow";

export function RecIndicator() {
  const robotId = useSelectedRobot();
  const status = useRecordingStatus(robotId);
  // nothing to show (no clock ticking, no datasets asked for) while the robot does not record
  if (!robotId || !status || (!status.active && status.writing.length === 0 && !status.error)) return null;
  return <Rec robotId={robotId} status={status} />;
}

function Rec({ robotId, status }: { robotId: string; status: RecordingStatus }) {
  const datasets = useDatasets();
  const { toggle, pending } = useRecordingToggle(robotId);
  const now = useNow(500);
  const view = recordingView(status, episodesRecorded(datasets.data, robotId, status), now);
  return (
    <div className={`rec${view.active ? " rec-on" : ""}`} data-testid="rec-indicator" data-active={String(view.active)}>
      {view.active ? (
        <>
          <span className="rec-dot" aria-hidden />
          <strong>REC</strong>
          <span data-testid="rec-elapsed">{formatElapsed(view.elapsedS)}</span>
          <span className="muted" data-testid="rec-episode">
            episode {view.episode}
          </span>
          <span className="muted" data-testid="rec-frames">
            {view.frames} frames
          </span>
          <button type="button" className="danger" data-testid="rec-stop" disabled={pending} onClick={toggle} title="Stop recording (Ctrl+R)">
            Stop
          </button>
        </>
      ) : null}
      {view.writing > 0 ? (
        <span className="muted" data-testid="rec-writing" title="stopped recordings are written as LeRobot datasets in the background">
          writing {view.writing} episode{view.writing === 1 ? "" : "s"}…
        </span>
      ) : null}
      {!view.active && view.writing === 0 && view.error ? (
        <span className="error-text" data-testid="rec-error" title={view.error}>
          recording not written
        </span>
      ) : null}
    </div>
  );
}
