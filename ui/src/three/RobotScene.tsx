// Inside the canvas: the robot model posed from telemetry, hand paths, zones, controls.
import { useEffect, useMemo } from "react";
import { useThree } from "@react-three/fiber";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import type { RobotModel, ZoneOut } from "../api/types";
import { useRobotStore } from "../stores/robot";
import { HandPaths } from "./handPaths";
import { RobotGraph } from "./robotGraph";
import { ZoneMeshes } from "./ZoneMeshes";

/** Renders at most this often while states stream in (the machine may render in software). */
const MIN_FRAME_MS = 50;

function Controls() {
  const camera = useThree((s) => s.camera);
  const gl = useThree((s) => s.gl);
  const invalidate = useThree((s) => s.invalidate);
  useEffect(() => {
    const controls = new OrbitControls(camera, gl.domElement);
    controls.target.set(0.3, -0.1, 0.85);
    controls.update();
    controls.addEventListener("change", () => invalidate());
    return () => controls.dispose();
  }, [camera, gl, invalidate]);
  return null;
}

export interface PathCounts {
  actual: number;
  planned: number;
}

function RobotBodies({
  model,
  robotId,
  onBodies,
  onPaths,
}: {
  model: RobotModel;
  robotId: string;
  onBodies: (count: number) => void;
  onPaths: (counts: PathCounts) => void;
}) {
  const invalidate = useThree((s) => s.invalidate);
  const graph = useMemo(() => new RobotGraph(model), [model]);
  const paths = useMemo(() => new HandPaths(), [model]);

  useEffect(() => {
    onBodies(graph.root.children.length);
    return () => onBodies(0);
  }, [graph, onBodies]);

  useEffect(() => {
    let last = 0;
    let reported: PathCounts = { actual: -1, planned: -1 };
    let pending: ReturnType<typeof setTimeout> | null = null;
    const redraw = () => {
      pending = null;
      last = performance.now();
      invalidate();
    };
    const apply = () => {
      const s = useRobotStore.getState();
      const state = s.states[robotId] ?? null;
      const hands = graph.pose(state);
      if (state) {
        paths.update(state.t, hands, s.plannedHands[robotId]?.hands ?? null);
        const counts = paths.counts();
        if (counts.actual !== reported.actual || counts.planned !== reported.planned) {
          reported = counts;
          onPaths(counts);
        }
      }
      const wait = MIN_FRAME_MS - (performance.now() - last);
      if (wait <= 0) redraw();
      else if (!pending) pending = setTimeout(redraw, wait);
    };
    apply();
    const unsubscribe = useRobotStore.subscribe((s, prev) => {
      if (s.states[robotId] !== prev.states[robotId] || s.plannedHands[robotId] !== prev.plannedHands[robotId]) apply();
    });
    return () => {
      unsubscribe();
      if (pending) clearTimeout(pending);
    };
  }, [graph, paths, robotId, invalidate, onPaths]);

  useEffect(
    () => () => {
      graph.dispose();
      paths.dispose();
    },
    [graph, paths],
  );

  return (
    <>
      <primitive object={graph.root} />
      <primitive object={paths.root} />
    </>
  );
}

interface SceneProps {
  model: RobotModel | null;
  robotId: string;
  zones: ZoneOut[];
  onZonesDrawn: (count: number) => void;
  onBodies: (count: number) => void;
  onPaths: (counts: PathCounts) => void;
}

export function RobotScene({ model, robotId, zones, onZonesDrawn, onBodies, onPaths }: SceneProps) {
  const invalidate = useThree((s) => s.invalidate);
  useEffect(() => invalidate(), [zones, model, invalidate]);
  return (
    <>
      <ambientLight intensity={0.6} />
      <directionalLight position={[3, -2, 5]} intensity={1.6} />
      {/* the model brings its own floor; without one, a grid on z = 0 */}
      {model ? null : <gridHelper args={[4, 20, 0x888888, 0x444444]} rotation={[Math.PI / 2, 0, 0]} />}
      <axesHelper args={[0.3]} />
      {model ? <RobotBodies model={model} robotId={robotId} onBodies={onBodies} onPaths={onPaths} /> : null}
      <ZoneMeshes zones={zones} onDrawn={onZonesDrawn} />
      <Controls />
    </>
  );
}
