// Turns an API error into a toast (a 401 opens the key dialog instead).
import { useUiStore } from "../stores/ui";
import { errorMessage, isApiError } from "./errors";

export const SCOPE_MESSAGE = "this needs the operate/admin scope";

export function toastError(title: string, error: unknown, key?: string): void {
  if (isApiError(error, 401)) return;
  const description = isApiError(error, 403) ? SCOPE_MESSAGE : errorMessage(error);
  useUiStore.getState().pushToast({ title, description, kind: "error", key });
}
