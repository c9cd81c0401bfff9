// Safety kernel events in words, with units. Pure.
//
// What an event's value and limit mean depends on its rule (safety/kernel.py): a joint limit's
// are in the joint's units, the watchdog's value counts missed 1 kHz ticks (ms), a separation's
// is a distance, an e-stop's is its category.

export interface EventLike {
  rule_name: string;
  joint: number;
  joint_name?: string | null;
  value: number | null;
  limit: number | null;
  /** Added by the server once zone events carry them (issue 19); absent on older servers. */
  zone_name?: string | null;
  point_name?: string | null;
}

const WORDS: Record<string, string> = {
  NON_FINITE: "a command held a NaN or infinite value",
  BAD_SHAPE: "a command had the wrong number of joints",
  BAD_TIMESTAMP: "a command's timestamps were out of order",
  STALE_COMMAND: "the command stream ran out (stale command)",
  POSITION_LIMIT: "a joint reached its position limit",
  VELOCITY_LIMIT: "a joint was slowed to its velocity limit",
  ACCELERATION_LIMIT: "a joint's acceleration was limited",
  EFFORT_LIMIT: "a joint met its effort (torque) limit",
  KEEP_OUT_ZONE: "a keep-out zone stopped the motion",
  SEPARATION_SPEED: "slowed down: a person is near",
  SEPARATION_STOP: "stopped: a person came too close",
  SEPARATION_RESUME: "the person moved away: motion may resume",
  HARD_LIMIT_HOLD: "the independent limit check replaced a command by a hold",
  BRAKING_TAKEOVER: "the braking controller took over",
  BRAKING_HANDBACK: "the braking controller handed control back",
  WATCHDOG_HOLD: "watchdog: no new command, holding",
  WATCHDOG_DECELERATE: "watchdog: no new command, decelerating",
  WATCHDOG_PROTECTIVE_STOP: "watchdog: no command for too long, protective stop",
  ESTOP: "an emergency stop was requested",
  ESTOP_POWER_OFF: "e-stop: drive power cut",
  RESET: "the safety state was reset",
  QP_INFEASIBLE: "the safety filter found no admissible command",
  ZONES_CHANGED: "new keep-out zones took effect",
};

export function ruleWords(rule: string): string {
  return WORDS[rule] ?? rule.toLowerCase().replace(/_/g, " ");
}

/** Rules the safety kernel acts on by itself: when one happened during a step, it (not the
 * step's postcondition) is the first explanation of a failure. Ordered most decisive first. */
export const DECISIVE_RULES = [
  "ESTOP",
  "ESTOP_POWER_OFF",
  "WATCHDOG_PROTECTIVE_STOP",
  "SEPARATION_STOP",
  "KEEP_OUT_ZONE",
  "WATCHDOG_DECELERATE",
  "WATCHDOG_HOLD",
  "QP_INFEASIBLE",
  "HARD_LIMIT_HOLD",
  "STALE_COMMAND",
] as const;

function fmt(v: number | null, digits: number, unit: string): string {
  return v === null || !Number.isFinite(v) ? "—" : `${v.toFixed(digits)} ${unit}`;
}

/** A joint's unit by its name: fingers and arms here are all revolute (rad). */
const JOINT_UNITS = { POSITION_LIMIT: "rad", VELOCITY_LIMIT: "rad/s", ACCELERATION_LIMIT: "rad/s²", EFFORT_LIMIT: "N·m" } as const;

/** Where the event happened: a joint, a monitored point in a zone, or nothing in particular. */
export function eventSubject(e: EventLike, jointNames?: string[]): string {
  if (e.rule_name === "KEEP_OUT_ZONE") {
    // the kernel's index here counts monitored points, not joints: never shown as a joint
    const zone = e.zone_name ? `zone '${e.zone_name}'` : "a keep-out zone";
    const point = e.point_name ?? (e.joint >= 0 ? `monitored point #${e.joint}` : null);
    return point ? `${zone}, ${point}` : zone;
  }
  if (e.rule_name in JOINT_UNITS || e.rule_name === "HARD_LIMIT_HOLD" || e.rule_name === "NON_FINITE") {
    const name = e.joint_name ?? (e.joint >= 0 ? jointNames?.[e.joint] : undefined);
    return name ?? (e.joint >= 0 ? `joint #${e.joint}` : "—");
  }
  return "—";
}

/** The event's value against its limit, with units ("13 ms without a command", "0.31 m < 0.50 m"). */
export function eventValue(e: EventLike): string {
  switch (e.rule_name) {
    case "WATCHDOG_HOLD":
    case "WATCHDOG_DECELERATE":
    case "WATCHDOG_PROTECTIVE_STOP":
      // value: consecutive 1 kHz ticks with no command
      return `${fmt(e.value, 0, "ms")} without a command`;
    case "STALE_COMMAND":
      return `command ${fmt(e.value, 3, "s")} old`;
    case "SEPARATION_SPEED":
    case "SEPARATION_STOP":
    case "SEPARATION_RESUME":
      return `person at ${fmt(e.value, 2, "m")} (protective distance ${fmt(e.limit, 2, "m")})`;
    case "KEEP_OUT_ZONE":
      return `speed into the zone ${fmt(e.value, 3, "m/s")} (allowed ${fmt(e.limit, 3, "m/s")})`;
    case "ESTOP":
      return `category ${e.value === null ? "—" : e.value.toFixed(0)}`;
    case "ZONES_CHANGED":
      return `${e.value ?? "—"} zones (capacity ${e.limit ?? "—"})`;
    case "ESTOP_POWER_OFF":
    case "RESET":
      return "—";
    default: {
      const unit = JOINT_UNITS[e.rule_name as keyof typeof JOINT_UNITS];
      if (unit) return `${fmt(e.value, 3, unit)} (limit ${fmt(e.limit, 3, unit)})`;
      return `${fmt(e.value, 3, "")} (limit ${fmt(e.limit, 3, "")})`.replace(/ \)/g, ")").replace(/ \(/, " (");
    }
  }
}

/** One line for a failed step's cause: "zone 'shelf_keepout', right hand: a keep-out zone stopped the motion". */
export function eventSentence(e: EventLike, jointNames?: string[]): string {
  const subject = eventSubject(e, jointNames);
  const value = eventValue(e);
  return `${ruleWords(e.rule_name)}${subject !== "—" ? ` (${subject})` : ""}${value !== "—" ? `: ${value}` : ""}`;
}
