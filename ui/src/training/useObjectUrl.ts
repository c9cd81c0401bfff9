// An episode's camera video as an object URL: fetched with the API key (a <video src> cannot
// send it), released when the episode changes or the page goes.
import { useEffect, useState } from "react";
import { learningApi } from "../api/learning";
import { errorMessage } from "../api/errors";

export function useEpisodeVideo(dataset: string, episode: number, camera: string): { url: string | null; error: string | null } {
  const [state, setState] = useState<{ url: string | null; error: string | null }>({ url: null, error: null });
  useEffect(() => {
    const abort = new AbortController();
    let url: string | null = null;
    setState({ url: null, error: null });
    learningApi
      .episodeVideo(dataset, episode, camera, abort.signal)
      .then((blob) => {
        url = URL.createObjectURL(blob);
        setState({ url, error: null });
      })
      .catch((e: unknown) => {
        if (!abort.signal.aborted) setState({ url: null, error: errorMessage(e) });
      });
    return () => {
      abort.abort();
      if (url) URL.revokeObjectURL(url);
    };
  }, [dataset, episode, camera]);
  return state;
}
