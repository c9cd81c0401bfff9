// Ctrl+T: away from the teleop page it opens it; on it, it starts or stops the session (the page
// listens for this event).
export const TELEOP_TOGGLE_EVENT = "dynamical:teleop-toggle";

export function toggleTeleop(navigate: (to: string) => void, pathname: string): void {
  if (pathname !== "/teleop") navigate("/teleop");
  else window.dispatchEvent(new Event(TELEOP_TOGGLE_EVENT));
}
