// TanStack Query client: errors become toasts (404 is left to the page: NEW endpoints may be missing).
import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import { isApiError } from "./errors";
import { toastError } from "./notify";
import { useUiStore } from "../stores/ui";

export function createQueryClient(): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({
      onError: (error, query) => {
        if (isApiError(error, 404)) return;
        // An unreachable server is the banner's to say (link lost), not a toast per query.
        if (isApiError(error, 0)) return;
        const name = String(query.queryKey[0]);
        toastError(`Loading ${name} failed`, error, `query:${name}`);
      },
      // the same data loading again clears its failure's toast
      onSuccess: (_data, query) => useUiStore.getState().dismissToastKey(`query:${String(query.queryKey[0])}`),
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
