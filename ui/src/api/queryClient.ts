// TanStack Query client: errors become toasts (404 is left to the page: NEW endpoints may be missing).
import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import { isApiError } from "./errors";
import { toastError } from "./notify";

export function createQueryClient(): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({
      onError: (error, query) => {
        if (isApiError(error, 404)) return;
        toastError(`Loading ${String(query.queryKey[0])} failed`, error);
      },
    }),
    mutationCache: new MutationCache({
      onError: (error, _vars, _ctx, mutation) => {
        const title = typeof mutation.meta?.title === "string" ? mutation.meta.title : "Request failed";
        toastError(title, error);
      },
    }),
    defaultOptions: {
      queries: {
        refetchOnWindowFocus: false,
        staleTime: 2_000,
        retry: (count, error) => !(isApiError(error) && error.status >= 400 && error.status < 500) && count < 2,
      },
    },
  });
}
