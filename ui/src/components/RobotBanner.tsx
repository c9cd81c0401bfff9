// The selected robot's state on every page: link lost, e-stop, protective stop, each with its
// cause in words and a Reset right there; a count of the other robots that are stopped.
import { useRobots } from "../api/queries";
import { useSafetyReset } from "../hooks/useEstop";
import { useSelectedRobot } from "../hooks/useSelectedRobot";
import { bannerFor, type Banner } from "../live/banner";
import { robotLiveness } from "../live/liveness";
import { useLiveness } from "../live/useLiveness";
import { useNow } from "../live/useNow";
import { useRobotStore } from "../stores/robot";
import { useSystemStore } from "../stores/system";

function useOthersStopped(selected: string | null): string[] {
  const robots = useRobots().data ?? [];
  const states = useRobotStore((s) => s.states);
  const receivedAt = useRobotStore((s) => s.receivedAt);
  const linked = useRobotStore((s) => s.linked);
  const connection = useSystemStore((s) => s.connection);
  const now = useNow(1_000);
  return robots
    .filter((r) => r.id !== selected && (linked[r.id] ?? r.connected))
    .filter((r) => {
      const l = robotLiveness({ connection, linked: linked[r.id], receivedAt: receivedAt[r.id], now });
      const b = bannerFor(r.id, states[r.id], l);
      return b !== null && b.kind !== "link";
    })
    .map((r) => r.id);
}

export function RobotBanner() {
  const robotId = useSelectedRobot();
  const liveness = useLiveness(robotId);
  const state = useRobotStore((s) => (robotId ? s.states[robotId] : undefined));
  const others = useOthersStopped(robotId);
  const reset = useSafetyReset();
  const banner: Banner | null = robotId ? bannerFor(robotId, state, liveness) : null;
  if (!banner && others.length === 0) return null;
  return (
    <div className="banners" role="status" aria-live="assertive">
      {banner ? (
        <div className={`robot-banner banner-${banner.kind}`} data-testid="robot-banner" data-kind={banner.kind}>
          <strong className="banner-title">
            {banner.robotId}: {banner.title}
          </strong>
          {banner.cause ? (
            <span className="banner-cause" data-testid="banner-cause">
              {banner.cause}
            </span>
          ) : null}
          {banner.resettable ? (
            <button
              type="button"
              className="banner-reset"
              data-testid="banner-reset"
              disabled={reset.isPending}
              title="Clear the stop once the robot is still (operate scope)"
              onClick={() => reset.mutate(banner.robotId)}
            >
              {reset.isPending ? "Resetting…" : "Reset"}
            </button>
          ) : null}
        </div>
      ) : null}
      {others.length ? (
        <div className="robot-banner banner-others" data-testid="banner-others">
          {others.length} other robot{others.length > 1 ? "s" : ""} stopped: {others.join(", ")}
        </div>
      ) : null}
    </div>
  );
}
