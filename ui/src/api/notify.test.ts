import { beforeEach, describe, expect, it } from "vitest";
import { useUiStore } from "../stores/ui";
import { ApiError } from "./errors";
import { SCOPE_MESSAGE, toastError } from "./notify";

describe("toastError", () => {
  beforeEach(() => useUiStore.setState({ toasts: [] }));

  it("shows the server's detail", () => {
    toastError("Task not started", new ApiError(409, "robot thor_001 is busy"));
    expect(useUiStore.getState().toasts).toMatchObject([{ title: "Task not started", description: "robot thor_001 is busy", kind: "error" }]);
  });

  it("a 403 says which scope is missing; a 401 leaves it to the key dialog", () => {
    toastError("E-STOP failed", new ApiError(403, "forbidden"));
    toastError("Loading robots failed", new ApiError(401, "invalid key"));
    expect(useUiStore.getState().toasts.map((t) => t.description)).toEqual([SCOPE_MESSAGE]);
  });
});
