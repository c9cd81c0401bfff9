"""L4: route a step's text to skills with a trained mixture-of-experts gate.

Each skill is an expert; the gate (a small PyTorch MLP over MiniLM sentence embeddings) gives
every expert a weight. It is trained on the manifests' descriptions and generated paraphrases
(``paraphrase.training_texts``) and retrained, in about a second, whenever the skill set changes.

A gate always picks someone, even for "bake a cake", so a route also carries its *support*: the
cosine similarity of the text to the nearest training sentence of the chosen skill. Below
``min_support`` or ``min_confidence`` the router answers "no skill matches" instead of guessing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

from dynamical.orchestration.embedding import SentenceEmbedder
from dynamical.orchestration.errors import NoSkillMatchError
from dynamical.orchestration.paraphrase import normalize, training_texts, verbs
from dynamical.skills.manifest import SkillManifest

HIDDEN = 64
EPOCHS = 200
LEARNING_RATE = 3e-3


class RouteResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    skill_ids: list[str]
    """Top-k skills, best first."""
    weights: list[float]
    """Softmax weights of those skills, renormalised over the top k (they sum to 1)."""
    confidence: float
    """The best skill's gate probability over all skills."""
    support: float
    """Cosine similarity of the text to the nearest training sentence of the best skill."""
    matched: bool

    @property
    def skill_id(self) -> str:
        return self.skill_ids[0]


class MoESkillRouter:
    """Top-k skill routing with softmax weights, a confidence, and a refusal below thresholds."""

    def __init__(
        self,
        embedder: SentenceEmbedder,
        manifests: Iterable[SkillManifest] = (),
        top_k: int = 3,
        min_confidence: float = 0.25,
        min_support: float = 0.4,
        seed: int = 0,
    ) -> None:
        self.embedder = embedder
        self.top_k = top_k
        self.min_confidence = min_confidence
        self.min_support = min_support
        self.seed = seed
        self._manifests: dict[str, SkillManifest] = {}
        self.train_seconds = 0.0
        for manifest in manifests:
            self._manifests[manifest.id] = manifest
        if self._manifests:
            self.train()

    @property
    def skill_ids(self) -> list[str]:
        return list(self._manifests)

    @property
    def training_sentences(self) -> int:
        return len(self._train_y)

    def manifest(self, skill_id: str) -> SkillManifest:
        return self._manifests[skill_id]

    def register(self, manifest: SkillManifest) -> float:
        """Add (or replace) a skill and retrain; returns the seconds retraining took."""
        self._manifests[manifest.id] = manifest
        return self.train()

    def unregister(self, skill_id: str) -> float:
        del self._manifests[skill_id]
        return self.train() if self._manifests else 0.0

    def train(self) -> float:
        """Fit the gate on every skill's training sentences (deterministic for a seed)."""
        start = time.perf_counter()
        texts, labels = [], []
        manifests = list(self._manifests.values())
        self.verbs = {m.id: verbs(m, manifests) for m in manifests}
        for label, manifest in enumerate(manifests):
            for text in training_texts(manifest, self.verbs[manifest.id], seed=self.seed + label):
                texts.append(normalize(text))
                labels.append(label)
        x = self.embedder.embed(texts)
        y = np.array(labels)
        generator = torch.Generator().manual_seed(self.seed)
        gate = torch.nn.Sequential(
            torch.nn.Linear(x.shape[1], HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, len(self._manifests))
        )
        with torch.no_grad():
            for param in gate.parameters():
                param.copy_(torch.randn(param.shape, generator=generator) * (1.0 / np.sqrt(param.shape[-1])))
        optimiser = torch.optim.AdamW(gate.parameters(), lr=LEARNING_RATE, weight_decay=1e-3)
        # Label smoothing keeps the gate from becoming certain of everything it saw, which keeps
        # its probabilities useful as a confidence.
        loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        # Full-batch training: a few thousand sentences fit in one step; dropout-free for determinism.
        for _ in range(EPOCHS):
            optimiser.zero_grad()
            loss_fn(gate(xt), yt).backward()
            optimiser.step()
        # Inference runs in torch on the embedder's single thread: NumPy's OpenBLAS would split these
        # small products over two threads that spin against other work (measured: 16 ms vs 1.5 ms p50
        # for the similarity product on a loaded two-core machine).
        self._gate = gate.eval()
        self._train_x, self._train_y = xt, y
        self.train_seconds = time.perf_counter() - start
        return self.train_seconds

    def route(self, text: str) -> RouteResult:
        return self.route_many([text])[0]

    def route_many(self, texts: Sequence[str]) -> list[RouteResult]:
        """Route several texts with one embedding batch."""
        if not self._manifests:
            raise NoSkillMatchError("no skills are registered")
        x = torch.from_numpy(self.embedder.embed([normalize(t) or t for t in texts]))
        with torch.inference_mode():
            probs = torch.softmax(self._gate(x), dim=1).numpy()
            similarity = (x @ self._train_x.T).numpy()
        ids = self.skill_ids
        results = []
        for i, text in enumerate(texts):
            order = np.argsort(-probs[i])[: min(self.top_k, len(ids))]
            top = probs[i, order]
            support = float(similarity[i, self._train_y == order[0]].max())
            confidence = float(top[0])
            results.append(
                RouteResult(
                    text=text,
                    skill_ids=[ids[j] for j in order],
                    weights=[float(w) for w in top / top.sum()],
                    confidence=confidence,
                    support=support,
                    matched=confidence >= self.min_confidence and support >= self.min_support,
                )
            )
        return results

    def explain_no_match(self, result: RouteResult) -> str:
        return (
            f"no skill matches {result.text!r} (best guess {result.skill_id} with confidence "
            f"{result.confidence:.2f} and support {result.support:.2f}; needs {self.min_confidence:.2f} and "
            f"{self.min_support:.2f}); registered skills: {', '.join(self.skill_ids)}"
        )
