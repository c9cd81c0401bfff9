// The 3D view of the selected robot (loaded lazily: three.js is large).
import { useState } from "react";
import { Canvas } from "@react-three/fiber";
import { useRobotModel, useZones } from "../api/queries";
import { errorMessage, isApiError } from "../api/errors";
import { RobotScene, type PathCounts } from "./RobotScene";
import { zonesFor } from "./zones";

export default function RobotView({ robotId }: { robotId: string }) {
  const model = useRobotModel(robotId);
  const zonesQuery = useZones();
  const zones = zonesFor(zonesQuery.data ?? [], robotId);
  // what the scene really holds, reported after each commit (for the e2e test)
  const [bodyCount, setBodyCount] = useState(0);
  const [zonesDrawn, setZonesDrawn] = useState(0);
  const [paths, setPaths] = useState<PathCounts>({ actual: 0, planned: 0 });

  let note: string | null = null;
  if (model.isPending) note = "loading the robot model…";
  else if (isApiError(model.error, 404)) note = "no robot model yet";
  else if (model.isError) note = `robot model unavailable: ${errorMessage(model.error)}`;

  return (
    <>
      <div
        className="robot-view"
        data-testid="robot-view"
        data-zone-count={zonesDrawn}
        data-body-count={bodyCount}
        data-trail-points={paths.actual}
        data-planned-points={paths.planned}
        data-model={model.data ? "loaded" : "none"}
      >
        <Canvas
          frameloop="demand"
          dpr={1}
          gl={{ antialias: false, preserveDrawingBuffer: true }}
          camera={{ position: [1.0, 2.1, 1.8], up: [0, 0, 1], fov: 45, near: 0.01, far: 100 }}
        >
          <RobotScene
            model={model.data ?? null}
            robotId={robotId}
            zones={zones}
            onZonesDrawn={setZonesDrawn}
            onBodies={setBodyCount}
            onPaths={setPaths}
          />
        </Canvas>
        {note ? (
          <div className="robot-view-note" data-testid="robot-view-note">
            {note}
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
