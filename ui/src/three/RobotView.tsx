// The 3D view of the selected robot (loaded lazily: three.js is large).
import { useCallback, useState } from "react";
import { Canvas } from "@react-three/fiber";
import { useRobotModel, useZones } from "../api/queries";
import { errorMessage, isApiError } from "../api/errors";
import { lastSeenText } from "../live/liveness";
import { useLiveness } from "../live/useLiveness";
import { HOME_CAMERA } from "./cameraLimits";
import { RobotScene, type CameraInfo, type MannequinExtent, type PathCounts } from "./RobotScene";
import { zonesFor } from "./zones";

export default function RobotView({ robotId }: { robotId: string }) {
  const model = useRobotModel(robotId);
  const zonesQuery = useZones();
  const zones = zonesFor(zonesQuery.data ?? [], robotId);
  const liveness = useLiveness(robotId);
  // what the scene really holds, reported after each commit (for the e2e test)
  const [bodyCount, setBodyCount] = useState(0);
  const [zonesDrawn, setZonesDrawn] = useState(0);
  const [paths, setPaths] = useState<PathCounts>({ actual: 0, planned: 0 });
  const [camera, setCamera] = useState<CameraInfo>({ distance: NaN, z: NaN });
  const [fps, setFps] = useState<number | null>(null);
  const [resetSignal, setResetSignal] = useState(0);
  const [mannequin, setMannequin] = useState<MannequinExtent | null>(null);
  const onCamera = useCallback((info: CameraInfo) => setCamera(info), []);
  const onFps = useCallback((v: number) => setFps(v), []);

  let note: string | null = null;
  if (model.isPending) note = "loading the robot model…";
  else if (isApiError(model.error, 404)) note = "no robot model yet";
  else if (model.isError) note = `robot model unavailable: ${errorMessage(model.error)}`;
  const stale = !!model.data && !liveness.live;

  return (
    <>
      <div
        className={`robot-view${stale ? " stale" : ""}`}
        data-testid="robot-view"
        data-zone-count={zonesDrawn}
        data-body-count={bodyCount}
        data-trail-points={paths.actual}
        data-planned-points={paths.planned}
        data-model={model.data ? "loaded" : "none"}
        data-live={String(liveness.live)}
        data-camera-distance={camera.distance.toFixed(3)}
        data-camera-z={camera.z.toFixed(3)}
        data-fps={fps === null ? "" : fps.toFixed(1)}
        data-mannequin-bottom={mannequin ? mannequin.bottom.toFixed(3) : ""}
        data-mannequin-top={mannequin ? mannequin.top.toFixed(3) : ""}
      >
        <Canvas
          frameloop="demand"
          dpr={1}
          gl={{ antialias: false, preserveDrawingBuffer: true }}
          camera={{ position: HOME_CAMERA, up: [0, 0, 1], fov: 45, near: 0.05, far: 100 }}
        >
          <RobotScene
            model={model.data ?? null}
            robotId={robotId}
            zones={zones}
            onZonesDrawn={setZonesDrawn}
            onBodies={setBodyCount}
            onPaths={setPaths}
            onMannequin={setMannequin}
            resetSignal={resetSignal}
            onCamera={onCamera}
            onFps={onFps}
          />
        </Canvas>
        <div className="robot-view-tools">
          <button type="button" data-testid="reset-view" onClick={() => setResetSignal((n) => n + 1)} title="Back to the starting camera">
            Reset view
          </button>
        </div>
        <div className="robot-view-fps" data-testid="robot-view-fps" title="frames drawn in the last second (the view draws when the robot moves)">
          {fps === null ? "— fps" : `${fps.toFixed(0)} fps`}
        </div>
        {note ? (
          <div className="robot-view-note" data-testid="robot-view-note">
            {note}
          </div>
        ) : null}
        {stale ? (
          <div className="robot-view-stale" data-testid="robot-view-stale">
            not live — {lastSeenText(liveness.ageS)}
          </div>
        ) : null}
      </div>
      <p className="robot-view-legend">
        <span className="legend-zone">■ keep-out zone</span> <span className="legend-left">— left hand</span>{" "}
        <span className="legend-right">— right hand</span>: solid, the last 20 s; dashed, the running step&apos;s plan.
        Drag to orbit, scroll to zoom.
      </p>
    </>
  );
}
