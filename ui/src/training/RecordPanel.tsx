// /training: record a demonstration on the selected robot (the same as Ctrl+R anywhere).
import { useDatasets } from "../api/learning";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { DEFAULT_RECORDING_TASK, useRecordingStatus, useRecordingTask, useRecordingToggle } from "../hooks/useRecording";
import { episodesRecorded, formatElapsed, recordingView } from "../live/recording";
import { useNow } from "../live/useNow";
import { Panel } from "../components/Panel";

export function RecordPanel() {
  const robotId = useSelectedRobot();
  const status = useRecordingStatus(robotId);
  const datasets = useDatasets();
  const { task, setTask } = useRecordingTask();
  const { toggle, pending } = useRecordingToggle(robotId);
  const now = useNow(500);
  const view = robotId ? recordingView(status, episodesRecorded(datasets.data, robotId, status), now) : null;
  return (
    <Panel title="Record demonstrations" testId="record-panel">
      <p className="muted">
        Each recording is one episode, written as a LeRobot dataset (joint state, object poses, the targets sent, cameras where the robot
        renders them) and listed under Datasets. <kbd>Ctrl</kbd>+<kbd>R</kbd> starts and stops it on any page.
      </p>
      <div className="form-grid">
        <label>
          task stored with the frames
          <input value={task} placeholder={DEFAULT_RECORDING_TASK} maxLength={1000} onChange={(e) => setTask(e.target.value)} data-testid="record-task" />
        </label>
      </div>
      <p>
        <button
          type="button"
          className={view?.active ? "danger" : "primary"}
          data-testid="record-toggle"
          disabled={!robotId || pending || status === null}
          onClick={toggle}
        >
          {view?.active ? "Stop recording" : "Start recording"}
        </button>{" "}
        {!robotId ? (
          <span className="muted">no robot selected</span>
        ) : status === null ? (
          <span className="muted">{robotId}&apos;s agent has no recorder</span>
        ) : view?.active ? (
          <span data-testid="record-state">
            recording on {robotId}: {formatElapsed(view.elapsedS)}, {view.frames} frames (episode {view.episode})
          </span>
        ) : (
          <span className="muted" data-testid="record-state">
            {view?.episode ?? 0} episode{view?.episode === 1 ? "" : "s"} recorded on {robotId}
            {view && view.writing > 0 ? `, ${view.writing} being written` : ""}
          </span>
        )}
      </p>
      {view?.error ? <p className="error-text">Last recording not written: {view.error}</p> : null}
    </Panel>
  );
}
