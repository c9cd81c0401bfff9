// An error response of the API, with the server's detail text.
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;

  constructor(status: number, detail: string) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }
}

export function isApiError(e: unknown, status?: number): e is ApiError {
  return e instanceof ApiError && (status === undefined || e.status === status);
}

/** The human-readable detail of an error body: FastAPI's `detail` may be a string or a list. */
export function detailOf(body: unknown, fallback: string): string {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((d) => {
          if (d && typeof d === "object" && "msg" in d) {
            const loc = "loc" in d && Array.isArray(d.loc) ? d.loc.join(".") + ": " : "";
            return loc + String((d as { msg: unknown }).msg);
          }
          return String(d);
        })
        .join("; ");
    }
    if (detail !== undefined) return JSON.stringify(detail);
  }
  return fallback;
}

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.detail;
  if (e instanceof Error) return e.message;
  return String(e);
}
