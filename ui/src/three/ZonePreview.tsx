// The zone being edited, drawn in the robot's world before it is saved (the zone dialog's
// preview; loaded lazily with three.js). The other zones of the robot are drawn too.
import { Canvas } from "@react-three/fiber";
import { useRobotModel, useZones } from "../api/queries";
import type { ZoneOut, ZoneWrite } from "../api/types";
import { HOME_CAMERA } from "./cameraLimits";
import { RobotScene } from "./RobotScene";
import { zonesFor } from "./zones";

const noop = () => undefined;

export default function ZonePreview({ robotId, draft, editingId }: { robotId: string; draft: ZoneWrite | null; editingId: number | null }) {
  const model = useRobotModel(robotId);
  const saved = zonesFor(useZones().data ?? [], robotId).filter((z) => z.id !== editingId);
  const preview: ZoneOut[] = draft ? [{ id: -1, robot_id: draft.robot_id, zone: draft.zone, created_at: "" }] : [];
  return (
    <div className="zone-preview" data-testid="zone-preview" data-preview={draft ? "zone" : "none"}>
      <Canvas frameloop="demand" dpr={1} gl={{ antialias: false }} camera={{ position: HOME_CAMERA, up: [0, 0, 1], fov: 45, near: 0.05, far: 100 }}>
        <RobotScene
          model={model.data ?? null}
          robotId={robotId}
          zones={[...saved, ...preview]}
          onZonesDrawn={noop}
          onBodies={noop}
          onPaths={noop}
          onMannequin={noop}
          resetSignal={0}
          onCamera={noop}
          onFps={noop}
        />
      </Canvas>
    </div>
  );
}
