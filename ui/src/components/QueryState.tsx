// Loading / error / empty handling shared by every REST-backed table.
import type { ReactNode } from "react";
import type { UseQueryResult } from "@tanstack/react-query";
import { errorMessage, isApiError } from "../api/errors";
import { EmptyState } from "./Panel";

interface Props<T> {
  query: UseQueryResult<T>;
  /** Shown on a 404 (an endpoint this server does not have yet). */
  notFound?: string;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}

export function QueryState<T>({ query, notFound, isEmpty, empty, children }: Props<T>) {
  if (query.isPending && query.fetchStatus !== "idle") return <EmptyState>Loading…</EmptyState>;
  if (query.isError && query.data === undefined) {
    if (notFound && isApiError(query.error, 404)) return <EmptyState>{notFound}</EmptyState>;
    return <EmptyState>Could not load: {errorMessage(query.error)}</EmptyState>;
  }
  if (query.data === undefined) return <EmptyState>—</EmptyState>;
  if (isEmpty?.(query.data)) return <EmptyState>{empty ?? "Nothing here yet."}</EmptyState>;
  return <>{children(query.data)}</>;
}
