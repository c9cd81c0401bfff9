// A robot's liveness from the stores, re-evaluated on a 250 ms clock.
import { useRobotStore } from "../stores/robot";
import { useSystemStore } from "../stores/system";
import { robotLiveness, type Liveness } from "./liveness";
import { useNow } from "./useNow";

export function useLiveness(robotId: string | null): Liveness {
  const now = useNow(250);
  const connection = useSystemStore((s) => s.connection);
  const linked = useRobotStore((s) => (robotId ? s.linked[robotId] : undefined));
  const receivedAt = useRobotStore((s) => (robotId ? s.receivedAt[robotId] : undefined));
  return robotLiveness({ connection, linked, receivedAt, now });
}
