"""The safety filter's quadratic program, solved by DAQP through its own C API, warm-started.

    minimize   ½ Σ w_i (v_i - v_des_i)²
    subject to lower ≤ v ≤ upper                 (joint limits, one interval per joint)
               A_sep  · v ≤ b_sep                (speed toward people)
               A_zone · v ≥ b_zone               (keep-out zones)

DAQP's workspace is set up once (``setup_daqp_main``); every tick the compiled filter writes the
new data into the arrays the problem points at, refreshes the workspace (``daqp_update_ldp``) and
solves (``daqp_solve``), all inside one numba call: through DAQP's Python wrapper the same solve
costs about 25 µs, most of it argument handling, directly about 5 µs. The previous tick's working
set, read from the signs of its multipliers, starts the next solve.

The problem is set up for every zone row the kernel may need (``m_ge``: capacity × points), but a
solve passes only the rows of the zones now active: the ≤ rows come first, then the ≥ rows, and
the constraint count DAQP works on (the problem's and the workspace's ``m``) is set to the rows
passed. Rows past it are never read, so keeping room for 16 zones costs nothing while 4 are set.

The C structs are declared here for DAQP 0.11 (``types.h``, ``api.h``; of the workspace only its
leading ``qp, n, m`` fields). A wrong layout must never reach the robot: ``QPFilter`` solves test
problems at construction, with all rows and with fewer, and compares the answers with
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
PROBLEM_M_WORD = _Problem.m.offset // 4
# DAQPWorkspace is opaque here but for its first fields (DAQPProblem* qp; int n; int m; ...):
# DAQP allocates what it points to; the struct itself gets room to spare.
_WORKSPACE_BYTES = 1 << 16
WORKSPACE_M_WORD = (ctypes.sizeof(ctypes.c_void_p) + ctypes.sizeof(ctypes.c_int)) // 4

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
        # The constraint counts, as int32 views of the structs, for solve_qp to set.
        self.problem_words = np.frombuffer(self._problem, dtype=np.int32)
        self._workspace = ctypes.create_string_buffer(_WORKSPACE_BYTES)
        self.workspace_words = np.frombuffer(self._workspace, dtype=np.int32, count=WORKSPACE_M_WORD + 1)
        setup_time = ctypes.c_double(0.0)
        flag = _setup(ctypes.addressof(self._problem), ctypes.addressof(self._workspace), ctypes.byref(setup_time), 0)
        if flag < 0:
            raise RuntimeError(f"DAQP could not set up the safety filter's QP (exit flag {flag})")
        if self.workspace_words[WORKSPACE_M_WORD] != n + rows:
            raise RuntimeError(f"DAQP's workspace does not start with (qp, n, m) as {__name__} declares it")
        weakref.finalize(self, _release, self._workspace)
        self.addresses = (
            ctypes.addressof(self._problem),
            ctypes.addressof(self._workspace),
            self._result.ctypes.data,
        )
        self._verify()

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        """(f, A, upper, lower, sense, x, lam, weights, result words, problem words, workspace
        words) for ``solve_qp``."""
        return (
            self.f, self.A, self.upper, self.lower, self.sense, self.x, self.lam, self.weights, self.result_words,
            self.problem_words, self.workspace_words,
        )  # fmt: skip

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
        a_ge may hold fewer rows than m_ge (the active ones). Returns (ok, exit flag,
        iterations); the solution is in ``x``."""
        if a_ge.shape[0] > self.m_ge or a_le.shape[0] != self.m_le:
            raise ValueError(f"rows: {a_ge.shape[0]} ≥ (at most {self.m_ge}), {a_le.shape[0]} ≤ (need {self.m_le})")
        return solve_qp(self.arrays, self.addresses, v_des, lower, upper, a_ge, b_ge, a_le, b_le)

    def _verify(self) -> None:
        """Solve problems with every kind of constraint active, with all the ≥ rows, with half
        and with none (then all again), and compare with daqp.solve."""
        rng = np.random.default_rng(7)
        n = self.n
        v_des = rng.normal(0.0, 2.0, n)
        lower, upper = -np.ones(n), np.ones(n)
        a_le, b_le = rng.normal(size=(self.m_le, n)), np.full(self.m_le, 0.5)
        a_ge, b_ge = rng.normal(size=(self.m_ge, n)), -np.full(self.m_ge, 0.5)
        for m_ge in (self.m_ge, self.m_ge // 2, 0, self.m_ge):
            ok, exitflag, _ = self.solve(v_des, lower, upper, a_ge[:m_ge], b_ge[:m_ge], a_le, b_le)
            reference = daqp.solve(
                self.H, -self.weights * v_des, np.vstack([a_le, a_ge[:m_ge]]),
                np.concatenate([upper, b_le, np.full(m_ge, INF)]), np.concatenate([lower, np.full(self.m_le, -INF),
                b_ge[:m_ge]]),
            )  # fmt: skip
            if not ok or exitflag != reference[2] or not np.allclose(self.x, reference[0], atol=1e-9):
                raise RuntimeError(
                    "DAQP's C API does not answer as its Python API does: this daqp build does not match the "
                    f"structs declared in {__name__} (daqp {getattr(daqp, '__version__', '?')}, {m_ge} ≥ rows)"
                )
        self.lam[:] = 0.0  # no warm start from the test problems


def _release(workspace: ctypes.Array) -> None:
    """Free what DAQP allocated inside the workspace (the struct itself is Python's buffer)."""
    _free_workspace(ctypes.addressof(workspace))
    _free_ldp(ctypes.addressof(workspace))


@numba.njit(cache=True)
def solve_qp(arrays, addresses, v_des, lower, upper, a_ge, b_ge, a_le, b_le):
    """Write this tick's data, refresh DAQP's workspace, solve. Returns (ok, exit flag, iterations).

    a_le (m_le rows) comes first, then a_ge: up to m_ge rows, and DAQP sees only those passed."""
    f, a, bupper, blower, sense, x, lam, weights, words, problem_words, workspace_words = arrays
    problem, workspace, result = addresses
    n = v_des.shape[0]
    r_le = a_le.shape[0]
    m = n + r_le + a_ge.shape[0]
    for i in range(n):
        f[i] = -weights[i] * v_des[i]
        bupper[i], blower[i] = upper[i], lower[i]
    for r in range(r_le):
        a[r, :] = a_le[r, :]
        blower[n + r], bupper[n + r] = -INF, min(b_le[r], INF)
    for r in range(a_ge.shape[0]):
        a[r_le + r, :] = a_ge[r, :]
        blower[n + r_le + r], bupper[n + r_le + r] = b_ge[r], INF
    # Warm start: the constraints active in the last solution, on the side their multipliers say.
    for i in range(m):
        sense[i] = 0 if lam[i] == 0.0 else (ACTIVE if lam[i] > 0.0 else ACTIVE | LOWER)
    # The constraints DAQP works on: the first m (set up for all; the arrays have room for them).
    problem_words[PROBLEM_M_WORD] = m
    workspace_words[WORKSPACE_M_WORD] = m
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
