"""The safety filter's quadratic program, solved with DAQP through its own workspace API.

    minimize   ½ Σ w_i (v_i - v_des_i)²
    subject to lower ≤ v ≤ upper                 (joint limits, one interval per joint)
               A_zone · v ≥ b_zone               (keep-out zones)
               A_sep  · v ≤ b_sep                (speed toward people)

One ``daqp.Model`` lives for the kernel's lifetime: memory is allocated once and each solve
starts from the previous tick's active set (warm start), which rarely changes between ticks.
"""

from __future__ import annotations

from dataclasses import dataclass

import daqp
import numpy as np

INF = 1e30  # DAQP's infinity


@dataclass(frozen=True)
class QPResult:
    v: np.ndarray
    """(n,) the filtered joint velocity; meaningful only when ``ok``."""
    ok: bool
    exitflag: int
    iterations: int


class QPFilter:
    """A fixed-size QP: n variables, m_ge rows of A·v ≥ b, m_le rows of A·v ≤ b."""

    def __init__(self, n: int, m_ge: int, m_le: int, weights: np.ndarray | None = None) -> None:
        self.n, self.m_ge, self.m_le = n, m_ge, m_le
        self.weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        m = m_ge + m_le
        self._H = np.diag(self.weights)
        self._f = np.zeros(n)
        self._A = np.zeros((m, n))
        self._upper = np.full(n + m, INF)
        self._lower = np.full(n + m, -INF)
        self._model = daqp.Model()
        self._model.setup(self._H, self._f, self._A, self._upper, self._lower)

    def solve(
        self,
        v_des: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        a_ge: np.ndarray,
        b_ge: np.ndarray,
        a_le: np.ndarray,
        b_le: np.ndarray,
    ) -> QPResult:
        n, m_ge = self.n, self.m_ge
        np.multiply(-self.weights, v_des, out=self._f)
        self._A[:m_ge] = a_ge
        self._A[m_ge:] = a_le
        self._lower[:n], self._upper[:n] = lower, upper
        self._lower[n : n + m_ge], self._upper[n : n + m_ge] = b_ge, INF
        self._lower[n + m_ge :], self._upper[n + m_ge :] = -INF, np.minimum(b_le, INF)
        # Separate updates: measured here, one call with every argument costs several times more.
        self._model.update(f=self._f)
        self._model.update(A=self._A)
        self._model.update(bupper=self._upper, blower=self._lower)
        x, _, exitflag, info = self._model.solve()
        ok = exitflag >= 1 and bool(np.isfinite(x).all())
        return QPResult(v=np.asarray(x), ok=ok, exitflag=int(exitflag), iterations=int(info["iterations"]))
