// The robot the operator works with: the one picked in the header, else the first connected.
import type { RobotOut } from "../api/types";
import { useRobots } from "../api/queries";
import { useRobotStore } from "../stores/robot";

export function isConnected(robot: RobotOut, linked: Record<string, boolean>): boolean {
  return linked[robot.id] ?? robot.connected;
}

export function pickDefaultRobot(robots: RobotOut[], linked: Record<string, boolean>): string | null {
  return robots.find((r) => isConnected(r, linked))?.id ?? robots[0]?.id ?? null;
}

export function useSelectedRobot(): string | null {
  const { data: robots } = useRobots();
  const selected = useRobotStore((s) => s.selectedRobotId);
  const linked = useRobotStore((s) => s.linked);
  if (selected && (!robots || robots.some((r) => r.id === selected))) return selected;
  return robots ? pickDefaultRobot(robots, linked) : null;
}
