"""The safety filter's quadratic program, solved by DAQP through its own C API, warm-started.

    minimize   ½ Σ w_i (v_i - v_des_i)²
    subject to lower ≤ v ≤ upper                 (joint limits, one interval per joint)
               A_zone · v ≥ b_zone               (keep-out zones)
               A_sep  · v ≤ b_sep                (speed toward people)

DAQP's workspace is set up once (``setup_daqp_main``); every tick the compiled filter writes the
new data into the arrays the problem points at, refreshes the workspace (``daqp_update_ldp``) and
solves (``daqp_solve``), all inside one numba call: through DAQP's Python wrapper the same solve
costs about 25 µs, most of it argument handling, directly about 5 µs. The previous tick's working
set, read from the signs of its multipliers, starts the next solve.

The C structs are declared here for DAQP 0.11 (``types.h``, ``api.h``). A wrong layout must never
reach the robot: ``QPFilter`` solves a test problem at construction and compares the answer with
``daqp.solve`` (the Python API), refusing to start on any difference.
"""

from __future__ import annotations

import ctypes
import weakref

import daqp
import numba
import numpy as np
from llvmlite import binding
from numba import types

INF = 1e30  # DAQP_INF
UPDATE_M, UPDATE_V, UPDATE_D, UPDATE_SENSE = 2, 4, 8, 16
ACTIVE, LOWER = 1, 2


class _Problem(ctypes.Structure):
    """DAQPProblem (types.h)."""

    _fields_ = [
        ("n", ctypes.c_int),
        ("m", ctypes.c_int),
        ("ms", ctypes.c_int),
        ("H", ctypes.c_void_p),
        ("f", ctypes.c_void_p),
        ("A", ctypes.c_void_p),
        ("bupper", ctypes.c_void_p),
        ("blower", ctypes.c_void_p),
        ("sense", ctypes.c_void_p),
        ("break_points", ctypes.c_void_p),
        ("nh", ctypes.c_int),
        ("problem_type", ctypes.c_int),
    ]


class _Result(ctypes.Structure):
    """DAQPResult (api.h)."""

    _fields_ = [
        ("x", ctypes.c_void_p),
        ("lam", ctypes.c_void_p),
        ("fval", ctypes.c_double),
        ("soft_slack", ctypes.c_double),
        ("exitflag", ctypes.c_int),
        ("iter", ctypes.c_int),
        ("nodes", ctypes.c_int),
        ("solve_time", ctypes.c_double),
        ("setup_time", ctypes.c_double),
    ]


EXITFLAG_WORD = _Result.exitflag.offset // 4
ITER_WORD = _Result.iter.offset // 4
# DAQPWorkspace is opaque here: DAQP allocates what it points to; the struct itself gets room to spare.
_WORKSPACE_BYTES = 1 << 16

_LIB = ctypes.CDLL(daqp.__file__)
_setup = _LIB.setup_daqp_main
_setup.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
_setup.restype = ctypes.c_int
_free_workspace = _LIB.free_daqp_workspace
_free_workspace.argtypes = [ctypes.c_void_p]
_free_ldp = _LIB.free_daqp_ldp
_free_ldp.argtypes = [ctypes.c_void_p]
# The compiled filter calls DAQP by symbol name, resolved in this process when the compiled code
# (possibly from numba's cache) is loaded. Pointers travel as intp: the same registers as void*.
binding.load_library_permanently(daqp.__file__)
_update_ldp = types.ExternalFunction("daqp_update_ldp", types.intc(types.intc, types.intp, types.intp))
_solve = types.ExternalFunction("daqp_solve", types.void(types.intp, types.intp))


class QPFilter:
    """A fixed-size QP: n variables, m_ge rows of A·v ≥ b, m_le rows of A·v ≤ b."""

    def __init__(self, n: int, m_ge: int, m_le: int, weights: np.ndarray | None = None) -> None:
        self.n, self.m_ge, self.m_le = n, m_ge, m_le
        rows = m_ge + m_le
        self.weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float).copy()
        self.H = np.ascontiguousarray(np.diag(self.weights))
        self.f = np.zeros(n)
        self.A = np.zeros((max(rows, 1), n))  # DAQP wants a valid pointer even with no rows
        self.upper = np.full(n + rows, INF)
        self.lower = np.full(n + rows, -INF)
        self.sense = np.zeros(n + rows, dtype=np.intc)
        self.x = np.zeros(n)
        self.lam = np.zeros(n + rows)
        self._problem = _Problem(
            n, n + rows, n, self.H.ctypes.data, self.f.ctypes.data, self.A.ctypes.data,
            self.upper.ctypes.data, self.lower.ctypes.data, self.sense.ctypes.data, None, 0, 0,
        )  # fmt: skip
        self._result = np.zeros(ctypes.sizeof(_Result), dtype=np.uint8)
        result = _Result.from_buffer(self._result)
        result.x, result.lam = self.x.ctypes.data, self.lam.ctypes.data
        self.result_words = self._result.view(np.int32)
        self._workspace = ctypes.create_string_buffer(_WORKSPACE_BYTES)
        setup_time = ctypes.c_double(0.0)
        flag = _setup(ctypes.addressof(self._problem), ctypes.addressof(self._workspace), ctypes.byref(setup_time), 0)
        if flag < 0:
            raise RuntimeError(f"DAQP could not set up the safety filter's QP (exit flag {flag})")
        weakref.finalize(self, _release, self._workspace)
        self.addresses = (
            ctypes.addressof(self._problem),
            ctypes.addressof(self._workspace),
            self._result.ctypes.data,
        )
        self._verify()

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        """(f, A, upper, lower, sense, x, lam, weights, result words) for ``solve_qp``."""
        return self.f, self.A, self.upper, self.lower, self.sense, self.x, self.lam, self.weights, self.result_words

    def solve(
        self,
        v_des: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        a_ge: np.ndarray,
        b_ge: np.ndarray,
        a_le: np.ndarray,
        b_le: np.ndarray,
    ) -> tuple[bool, int, int]:
        """Solve from Python (tests, the start-up check); the kernel calls ``solve_qp`` compiled.
        Returns (ok, exit flag, iterations); the solution is in ``x``."""
        return solve_qp(self.arrays, self.addresses, v_des, lower, upper, a_ge, b_ge, a_le, b_le)

    def _verify(self) -> None:
        """Solve a problem with every kind of constraint active and compare with daqp.solve."""
        rng = np.random.default_rng(7)
        n, rows = self.n, self.m_ge + self.m_le
        v_des = rng.normal(0.0, 2.0, n)
        lower, upper = -np.ones(n), np.ones(n)
        a = rng.normal(size=(rows, n))
        a_ge, a_le = a[: self.m_ge], a[self.m_ge :]
        b_ge, b_le = -np.full(self.m_ge, 0.5), np.full(self.m_le, 0.5)
        ok, exitflag, _ = self.solve(v_des, lower, upper, a_ge, b_ge, a_le, b_le)
        reference = daqp.solve(
            self.H, -self.weights * v_des, a, np.concatenate([upper, np.full(self.m_ge, INF), b_le]),
            np.concatenate([lower, b_ge, np.full(self.m_le, -INF)]),
        )  # fmt: skip
        if not ok or exitflag != reference[2] or not np.allclose(self.x, reference[0], atol=1e-9):
            raise RuntimeError(
                "DAQP's C API does not answer as its Python API does: this daqp build does not match the "
                f"structs declared in {__name__} (daqp {getattr(daqp, '__version__', '?')})"
            )
        self.lam[:] = 0.0  # no warm start from the test problem


def _release(workspace: ctypes.Array) -> None:
    """Free what DAQP allocated inside the workspace (the struct itself is Python's buffer)."""
    _free_workspace(ctypes.addressof(workspace))
    _free_ldp(ctypes.addressof(workspace))


@numba.njit(cache=True)
def solve_qp(arrays, addresses, v_des, lower, upper, a_ge, b_ge, a_le, b_le):
    """Write this tick's data, refresh DAQP's workspace, solve. Returns (ok, exit flag, iterations)."""
    f, a, bupper, blower, sense, x, lam, weights, words = arrays
    problem, workspace, result = addresses
    n = v_des.shape[0]
    r_ge = a_ge.shape[0]
    for i in range(n):
        f[i] = -weights[i] * v_des[i]
        bupper[i], blower[i] = upper[i], lower[i]
    for r in range(r_ge):
        a[r, :] = a_ge[r, :]
        blower[n + r], bupper[n + r] = b_ge[r], INF
    for r in range(a_le.shape[0]):
        a[r_ge + r, :] = a_le[r, :]
        blower[n + r_ge + r], bupper[n + r_ge + r] = -INF, min(b_le[r], INF)
    # Warm start: the constraints active in the last solution, on the side their multipliers say.
    for i in range(sense.shape[0]):
        sense[i] = 0 if lam[i] == 0.0 else (ACTIVE if lam[i] > 0.0 else ACTIVE | LOWER)
    error = _update_ldp(UPDATE_M | UPDATE_V | UPDATE_D | UPDATE_SENSE, workspace, problem)
    if error < 0:
        lam[:] = 0.0
        return False, error, 0
    _solve(result, workspace)
    exitflag, iterations = words[EXITFLAG_WORD], words[ITER_WORD]
    ok = exitflag >= 1
    for i in range(n):
        ok = ok and np.isfinite(x[i])
    if not ok:
        lam[:] = 0.0
    return ok, exitflag, iterations
