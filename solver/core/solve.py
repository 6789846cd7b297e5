"""The algorithm: exact coordinate descent, then an active-set polish that makes it exact.

See ``solver/README.md`` for why this reaches the optimum on every valid
network. In short:

1. *Coordinate descent* (the paper's algorithm): each free node moves to the
   exact minimiser of E along its own potential, clipped to the interval its
   diodes allow. Iterates stay feasible and E never increases, but a sweep can
   stall where a conducting diode joins two free nodes.
2. *Certificate*: diode currents are recovered from the tight diodes by
   Kirchhoff's law; if KCL, feasibility, ``i >= 0`` and complementarity hold
   the point is optimal and we stop.
3. *Active-set polish* (primal active-set method for convex QPs): merge the
   ends of the working-set diodes into super-nodes, solve the reduced
   Laplacian system with a sparse factorization, step as far as the other
   diodes allow, add a blocking diode or release the diodes whose current
   comes out negative, and repeat until the KKT conditions hold.
"""

from __future__ import annotations

import math
import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from . import _compensated as C
from . import _kernels as K
from ._bordered import BorderedSolver
from ._bulk import names_at
from ._cholesky import CholeskyFactor, NotPositiveDefinite, cholesky_flops, postordered
from ._supernodal import SupernodalFactor
from ._dissection import nested_dissection_order
from ._ordering import merged_pivot_order, minimum_degree_order
from .compiled import compile_network
from ..config import (
    BORDER_FLOPS_PER_SOLVE,
    BORDER_MAX,
    BORDER_MAX_ENTRIES,
    BORDER_MIN_FACTOR,
    BORDER_RESIDUAL,
    BORDER_SYMBOLIC_SOLVES,
    CG_MAX_ITERATIONS,
    CLOSURE_WORK,
    CG_TOLERANCE,
    CURRENT_ROUNDING,
    DEFAULT_CD_SWEEPS,
    DEFAULT_MAX_SWEEPS,
    DEFAULT_TOL,
    DISSECTION_LEAF_SIZE,
    MAX_ACTIVE_SET_ITERATIONS,
    MAX_SWEEPS_LIMIT,
    MIN_CERTIFICATE_TOL,
    MIN_DEGREE_WORK,
    NATURAL_ORDER_SIZE,
    PRIMAL_DUAL_ITERATIONS,
    RATIO_TEST_EPS,
    RATIO_TEST_TIE,
    REFINEMENT_STEPS,
    REFINEMENT_TARGET,
    RESTART_SWEEPS,
    SUPERNODAL_MIN_FLOPS,
    SWEEP_CHUNK,
    SWEEP_STEP_FRACTION,
    TIGHT_SLACK,
    VOLTAGE_FLOOR,
)
from ..exceptions import InfeasibleNetworkError
from .solution import Solution, WarmStart, local_certificate

__all__ = ["solve"]

METHODS = ("auto", "cd")


def solve(net, *, tol=DEFAULT_TOL, max_sweeps=None, warm_start=None, trace=True,
          method="auto", cd_sweeps=DEFAULT_CD_SWEEPS) -> Solution:
    r"""Return the DC steady state of ``net``: the minimiser of its power dissipation.

    Solves the convex QP

    .. math::

        \min_v \; \sum_{r} \tfrac{g_r}{2} (v_{a_r} - v_{b_r})^2
                 + \sum_{s} I_s (v_{p_s} - v_{n_s})
        \quad \text{s.t.} \quad v_p - v_n = V \text{ (voltage sources)},\;
        v_{anode} - v_{cathode} \le \theta \text{ (diodes)},\; v_0 = 0,

    whose Lagrange multipliers of the diode rows are the diode currents.

    Parameters
    ----------
    net : Network
    tol : float in (0, 1)
        Relative tolerance of the certificate: every node's KCL residual
        below ``tol`` times that node's own current scale, every constraint
        within ``tol`` times its own voltage scale (see :class:`KKTCertificate`).
    max_sweeps : int, optional
        Sweep limit of ``method="cd"`` (default 100,000; at most
        ``config.MAX_SWEEPS_LIMIT``). With ``"auto"``, the sweeps before the
        polish are ``min(cd_sweeps, max_sweeps)``.
    warm_start : Solution or dict, optional
        A previous solution (its :attr:`Solution.warm`, a :class:`WarmStart`,
        and its voltages are reused) or a ``{node: voltage}`` guess of finite
        numbers. Nodes it lacks start at 0.
    trace : bool
        Record energy and residual per sweep (costs one pass over the
        resistors per sweep).
    method : {"auto", "cd"}
        ``"auto"``: coordinate descent then the exact active-set polish.
        ``"cd"``: coordinate descent alone, as in the paper; it may stall, and
        then ``converged`` is False.
    cd_sweeps : int
        Sweeps spent before the polish in ``"auto"`` (0 to ``config.MAX_SWEEPS_LIMIT``).

    Returns
    -------
    Solution
        With ``converged`` True when the KKT certificate meets ``tol``.

    Raises
    ------
    FloatingNodeError, VoltageLoopError, InfeasibleNetworkError
        When the network has no well-defined steady state.
    TypeError, ValueError
        For a bad argument (wrong type, unknown method, out-of-range count);
        the message lists the accepted values.

    Examples
    --------
    The stall case of plain coordinate descent: a diode between two free nodes.

    >>> from solver import Network, solve
    >>> net = Network()
    >>> net.add_voltage_source("s", "0", 1.0)
    'V1'
    >>> net.add_resistor("s", "a", 1.0)
    'R1'
    >>> net.add_resistor("b", "0", 1.0)
    'R2'
    >>> net.add_diode("a", "b")
    'D1'
    >>> sol = solve(net)
    >>> round(sol.voltages["a"], 9), round(sol.voltages["b"], 9), sol.active_diodes
    (0.5, 0.5, ['D1'])
    """
    _check_arguments(tol, max_sweeps, cd_sweeps, method, trace)
    timings = {}
    t0 = time.perf_counter()
    cn = compile_network(net)
    s = cn.structure
    m = s.m
    timings["compile"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    u, warm_active = _start_point(cn, warm_start)
    solver_state = _State(cn, trace)
    if isinstance(warm_start, Solution) and warm_start.warm is not None:
        solver_state.factor = warm_start.warm.factor
    done = False
    if warm_active is not None and method == "auto":
        # A previous active set is usually still right after a small edit: try it directly.
        in_w = np.zeros(len(s.da), dtype=bool)
        in_w[warm_active] = True
        candidate = solver_state.eqp(in_w)
        if candidate is not None and solver_state.accept(candidate[0], candidate[1], tol):
            u = candidate[0]
            done = True
    timings["warm_guess"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    if not done and method == "auto" and warm_start is None and len(s.da):
        u = _diode_free_start(solver_state, u)
    if not done:
        bad = K.repair_feasibility(u, s.da, s.dc, cn.db, m + 2)
        if bad >= 0:
            raise _infeasible(net, cn, bad)
        if method == "cd":
            sweeps = DEFAULT_MAX_SWEEPS if max_sweeps is None else max_sweeps
        else:
            sweeps = cd_sweeps if max_sweeps is None else min(cd_sweeps, max_sweeps)
        solver_state.sweep(u, sweeps, step_tol=tol * cn.voltage_scale * SWEEP_STEP_FRACTION)
    timings["sweeps"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    if not done:
        in_w = solver_state.tight(u)
        if method == "cd":
            solver_state.last = (u, in_w.copy())
        else:
            u = solver_state.polish(u, in_w, tol)
    timings["polish"] = time.perf_counter() - t3

    t4 = time.perf_counter()
    sol = _solution(cn, solver_state, tol)
    timings["certificate"] = time.perf_counter() - t4
    timings["total"] = time.perf_counter() - t0
    sol.timings = timings
    return sol


def _check_arguments(tol, max_sweeps, cd_sweeps, method, trace):
    """Raise TypeError/ValueError, naming the accepted values, for a bad argument of solve."""
    if (type(tol) is float and 0.0 < tol < 1.0 and type(cd_sweeps) is int and 0 <= cd_sweeps <= MAX_SWEEPS_LIMIT
            and (max_sweeps is None or (type(max_sweeps) is int and 0 <= max_sweeps <= MAX_SWEEPS_LIMIT))
            and type(trace) is bool and method in METHODS):
        return  # the common case, without the abstract-base-class checks below (tens of microseconds)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if isinstance(tol, bool) or not isinstance(tol, (Real, np.floating, np.integer)):
        raise TypeError(f"tol must be a real number, got {tol!r} ({type(tol).__name__})")
    if not (0.0 < float(tol) < 1.0):
        raise ValueError(f"tol must lie in (0, 1), got {tol!r}")
    for what, value in (("max_sweeps", max_sweeps), ("cd_sweeps", cd_sweeps)):
        if value is None and what == "max_sweeps":
            continue
        if isinstance(value, bool) or not isinstance(value, (Integral, np.integer)):
            raise TypeError(f"{what} must be an int (or None for max_sweeps), got {value!r} "
                            f"({type(value).__name__})")
        if not (0 <= value <= MAX_SWEEPS_LIMIT):
            raise ValueError(f"{what} must lie in 0..{MAX_SWEEPS_LIMIT:,}, got {value!r}")
    if not isinstance(trace, (bool, np.bool_)):
        raise TypeError(f"trace must be True or False, got {trace!r}")


def _start_point(cn, warm_start):
    """Component potentials from a warm start (Solution or dict), and its diode guess."""
    s = cn.structure
    u = np.zeros(s.m + 1)
    if warm_start is None:
        return u, None
    if isinstance(warm_start, Solution):
        volts = None
        previous_structure, previous_w = warm_start.warm.structure, warm_start.warm.working_set
        if previous_structure is s:
            active = previous_w  # same compiled structure: reuse the working set as is
        else:
            names = warm_start.names("diode")
            tight = {names[previous_structure.dio_keep[e]] for e in np.flatnonzero(previous_w)}
            active = set(warm_start.active_diodes) | tight
    elif isinstance(warm_start, dict):
        volts, active = _checked_guess(warm_start), None
    else:
        raise TypeError(
            f"warm_start must be None, a Solution or a {{node: voltage}} dict, not {type(warm_start).__name__}"
        )
    if volts is None and warm_start.nodes is s.nodes:
        guess = warm_start.node_voltages  # same nodes in the same order
    else:
        volts = warm_start.voltages if volts is None else volts
        guess = np.array([volts.get(node, np.nan) for node in s.nodes], dtype=float)
    known = np.isfinite(guess) & (s.comp < s.m)
    if known.any():
        comp = s.comp[known]
        total = np.bincount(comp, weights=guess[known] - cn.offset[known], minlength=s.m + 1)
        count = np.bincount(comp, minlength=s.m + 1)
        has = count > 0
        u[has] = total[has] / count[has]
        u[s.m] = 0.0
    warm_active = None
    if isinstance(active, np.ndarray):
        warm_active = np.flatnonzero(active)
    elif active is not None:
        names = cn.arrays["diode"][3]
        index = {names[e]: i for i, e in enumerate(s.dio_keep)}
        warm_active = np.array([index[n] for n in active if n in index], dtype=np.int64)
    return u, warm_active


def _diode_free_start(state, u):
    """The minimiser with every diode off (one equality QP), as the start of a cold solve.

    The diodes it violates are the first guess of the conducting set: far
    better than the diodes left tight at the sweeps' start (every diode
    between two nodes at 0 V), which the first polish step would mostly
    have to release again.
    """
    # a start only: the sweeps and the polish's refined solves decide, so no refinement here
    result = state.eqp(np.zeros(len(state.cn.structure.da), dtype=bool), refine=False)
    return u if result is None else result[0]


def _checked_guess(volts):
    """A ``{node: voltage}`` warm start with every value a finite real number (V)."""
    for node, value in volts.items():
        if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
            raise TypeError(f"warm_start[{node!r}] must be a voltage (a real number), got {value!r}")
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int too large for a float
            finite = False
        if not finite:
            raise ValueError(f"warm_start[{node!r}] must be finite, got {value!r}")
    return volts


def _infeasible(net, cn, bad):
    s = cn.structure
    names = cn.arrays["diode"][3]
    # walk the diodes whose bounds chain back into each other to name the loop
    culprit = names[s.dio_keep[bad]]
    chained = [names[s.dio_keep[e]] for e in range(len(s.da))
               if s.da[e] in (s.da[bad], s.dc[bad]) or s.dc[e] in (s.da[bad], s.dc[bad])]
    return InfeasibleNetworkError(
        f"the diode constraints cannot all hold: diode {culprit!r} (with {', '.join(sorted(set(chained) - {culprit})[:8]) or 'the sources'}) "
        "is forced forward by the voltage sources and the other diodes around it; "
        "check the diode directions and thresholds",
        sorted(set(chained) | {culprit}),
    )


class _State:
    """Kernels' view of one compiled network, plus what the solve has recorded."""

    def __init__(self, cn, trace):
        self.cn = cn
        self.record = trace
        self.energies = []
        self.residuals = []
        self.phases = []
        self.sweeps = 0
        self.iterations = 0
        self.converged = False
        self.last = None  # (u, in_w) of the final point
        self.factor = None  # (structure, working-set key, solver) of the last equality QP solved
        self.base = None  # (structure, tree, CholeskyFactor, working set) of the last factorisation
        self.factorizations = 0
        self.bordered_solves = 0
        self.pdas_last = None  # last point of the primal-dual guesses
        self.pdas_w = None  # and its working set
        self.certified = None  # (certificate, diode scales, v, currents) of a certified point
        self.certified_point = None  # ... which is this u

    # -- coordinate descent
    def sweep(self, u, n, step_tol):
        """Run up to n sweeps in place, in chunks so that the trace buffers stay small."""
        cn, s = self.cn, self.cn.structure
        if s.m == 0:
            return
        while n > 0:
            chunk = min(int(n), SWEEP_CHUNK)
            residuals = np.empty(chunk)
            energies = np.empty(chunk if self.record else 0)
            done = K.cd_sweeps(u, s.indptr, s.nbr, cn.g, cn.c, cn.f, cn.gsum, s.dptr, s.dother,
                               cn.dbound, s.dupper, chunk, step_tol, residuals, energies,
                               s.ri, s.rj, cn.rg, cn.rk)
            self.sweeps += done
            self.residuals.extend(residuals[:done])
            if self.record:
                self.energies.extend(energies[:done])
            self.phases.extend([0] * done)
            if done < chunk:
                return
            n -= chunk

    # -- local scales: every decision is judged against the diode's own surroundings
    def diode_volts(self, u):
        """Voltage scale of every reduced diode (V): 1 V plus the potentials and bound it involves."""
        cn, s = self.cn, self.cn.structure
        return VOLTAGE_FLOOR + np.maximum(np.abs(u[s.da]), np.abs(u[s.dc])) + np.abs(cn.db)

    def diode_amps(self, u, lam, tol):
        """Current below which each reduced diode's current counts as negative (a negative number, A).

        As in the certificate: ``tol`` times the currents that meet at its
        ends, plus the rounding of their largest terms (the smaller end).
        """
        cn, s = self.cn, self.cn.structure
        actual, scale = K.reduced_scales(u, s.indptr, s.nbr, cn.g, cn.c, cn.f, cn.gsum, s.dptr, s.d_inc,
                                         lam, VOLTAGE_FLOOR)
        allowance = tol * actual + CURRENT_ROUNDING * scale
        return -np.minimum(allowance[s.da], allowance[s.dc])

    def tight(self, u):
        """Diodes within TIGHT_SLACK of their threshold, relative to their own voltage scale."""
        cn, s = self.cn, self.cn.structure
        slack = cn.db - (u[s.da] - u[s.dc])
        return slack <= TIGHT_SLACK * self.diode_volts(u)

    # -- equality QP on a working set of tight diodes
    def eqp(self, in_w, refine=True):
        """Minimiser with the diodes ``in_w`` held at their threshold: ``(u, forest)``, or None.

        ``refine=False`` skips iterative refinement: for a starting point only
        (the diode-free start), never for a point the polish judges.
        """
        cn, s = self.cn, self.cn.structure
        tree, w, order, parent_edge, n_trees = K.build_forest(s.m, s.da, s.dc, cn.db, in_w, cn.db_order)
        key = in_w.tobytes()
        if n_trees:
            rhs_hi, rhs_lo = C.reduced_rhs(tree, w, n_trees, s.ri, s.rj, cn.rg, cn.rk, cn.f)
            rhs = rhs_hi + rhs_lo
            U = None
            if self.factor is not None and self.factor[0] is s and self.factor[1] == key:
                # same super-nodes as the last factorisation: only conductances changed,
                # so the old factor is an excellent preconditioner
                U = _preconditioned_cg(self.factor[2], rhs, lambda x: K.apply_reduced(x, tree, s.ri, s.rj, cn.rg))
                factor = self.factor[2]
            refined = False
            if U is None:
                U, factor = self._bordered_solve(in_w, tree, n_trees, (rhs_hi, rhs_lo))
                if U is not None:
                    self.factor = (s, key, factor)
                    self.bordered_solves += 1
                    refined = True
            if U is None:
                factor = _factorize(n_trees, s, tree, w, cn)
                if factor is None:
                    return None  # singular: a super-node with no resistor path (cannot happen after validation)
                self.factor = (s, key, factor)
                if isinstance(factor, (CholeskyFactor, SupernodalFactor)):
                    self.base = (s, tree, factor, in_w.copy())
                self.factorizations += 1
                U = factor.solve(rhs)
            if refine and not refined:
                U, _ = _refine(factor, U, (rhs_hi, rhs_lo), tree, s, cn)
        else:
            U = np.zeros(0)
        u = K.expand_reduced(U, tree, w)
        u[s.m] = 0.0
        return u, (in_w, order, parent_edge, tree)

    def _bordered_solve(self, in_w, tree, n_trees, rhs):
        """``(U, solver)`` through the last Cholesky factor bordered by the working-set change.

        ``(None, None)`` when there is no factor of this structure, the change
        is too large to be worth it (see ``_border_budget``), or the refined
        solution does not meet ``config.BORDER_RESIDUAL``: the caller then
        factorises afresh.
        """
        cn, s = self.cn, self.cn.structure
        if self.base is None or self.base[0] is not s:
            return None, None
        _, base_tree, base_factor, base_w = self.base
        budget = _border_budget(base_factor)
        if budget == 0 or np.count_nonzero(in_w != base_w) > 4 * budget:
            return None, None  # far too many diodes changed: not worth finding the pieces
        solver = BorderedSolver(base_factor, base_tree, tree, n_trees, s.ri, s.rj, cn.rg, budget)
        if not solver.ok:
            return None, None
        U, relative = _refine(solver, solver.solve(rhs[0] + rhs[1]), rhs, tree, s, cn)
        if not relative <= BORDER_RESIDUAL:
            return None, None
        return U, solver

    def diode_currents(self, u, forest):
        """Diode currents that balance KCL on the working-set forest (reduced diodes)."""
        cn, s = self.cn, self.cn.structure
        in_w, order, parent_edge = forest[:3]
        # in double-double: a diode's current is often the small difference of large ones
        hi, lo = np.zeros(s.m + 1), np.zeros(s.m + 1)
        hi[: s.m], lo[: s.m] = C.reduced_gradient(u, s.indptr, s.nbr, cn.g, cn.c, cn.f)
        lam, leftover = C.tree_flow(order, parent_edge, s.da, s.dc, -hi, -lo)
        leftover[s.m] = 0.0
        return lam, hi + lo, leftover

    def accept(self, u, forest, tol, lam=None):
        """True when u with forest currents passes the node-by-node certificate at tol.

        ``lam``: the forest currents at u, when the caller has them already.
        """
        in_w = forest[0]
        if lam is None:
            lam = self.diode_currents(u, forest)[0]
        result = _certify(self.cn, u, in_w, lam)
        if result[0].is_optimal(_judged_tol(tol)):
            self.last = (u, in_w)
            self.certified, self.certified_point = result, u
            self.converged = True
            return True
        return False

    # -- active-set polish: primal-dual guesses first, the safe primal method if they cycle
    def polish(self, u, in_w, tol):
        # No shortcut from the sweep point itself: its residuals may pass tol while its
        # potentials are still off by cond(A) times as much; the first equality QP, on the
        # diodes the sweeps left tight, is exact and costs one factorisation.
        cn, s = self.cn, self.cn.structure
        target = self.primal_dual(in_w.copy(), tol)
        if target is not None:
            return target
        # The guesses cycled near the answer: restart the monotone method from their last
        # point, made feasible (largest feasible point below it) and smoothed by a few sweeps.
        restart = self.pdas_last.copy()
        if K.repair_feasibility(restart, s.da, s.dc, cn.db, s.m + 2) < 0:
            self.sweep(restart, RESTART_SWEEPS, step_tol=0.0)
            if K.reduced_energy(restart, s.ri, s.rj, cn.rg, cn.rk, cn.f) < K.reduced_energy(u, s.ri, s.rj, cn.rg, cn.rk, cn.f):
                u = restart
        return self.primal(u, self.tight(u), tol)

    def primal_dual(self, in_w, tol):
        """Primal-dual active-set iterations (a semismooth Newton method).

        Each iteration solves the equality QP on the guessed set, then keeps
        the diodes whose current came out positive and adds those the new
        point violates, together with the diodes that pulling the violated
        ones onto their thresholds would make tight (a whole chain of
        conducting diodes joins in one iteration). Fast (a handful of solves)
        but not monotone, so it gives up, returning None, as soon as a guess
        repeats.
        """
        cn, s = self.cn, self.cn.structure
        seen = set()
        for _ in range(PRIMAL_DUAL_ITERATIONS):
            self.iterations += 1
            result = self.eqp(in_w)
            if result is None:
                return None
            target, forest = result
            self.pdas_last = target
            self.pdas_w = in_w.copy()
            lam, r, leftover = self.diode_currents(target, forest)
            self._record(target, (lam, r))
            # off the set and violated, or in it with a negative current (diode_volts, diode_amps)
            violated, negative, changed = K.working_set_changes(
                target, lam, in_w, s.da, s.dc, cn.db, s.indptr, s.nbr, cn.g, cn.c, cn.f, cn.gsum, s.dptr,
                s.d_inc, tol, VOLTAGE_FLOOR, CURRENT_ROUNDING)
            if not changed:
                if self.accept(target, forest, tol, lam):
                    return target
                self.last = (target, in_w)  # optimal set, rounding beyond tol: reported unconverged
                return target
            key = in_w.tobytes()
            if key in seen:
                return None
            seen.add(key)
            new_w = in_w & ~negative
            self._make_room(new_w, violated, forest, lam)
            closure = K.tight_closure(target, s.da, s.dc, cn.db, s.dptr, s.dother, s.dupper, s.d_inc,
                                      np.flatnonzero(violated), CLOSURE_WORK * (s.m + len(s.da) + 1))
            in_w = new_w | (closure & ~negative & ~in_w) | violated
        return None

    def _make_room(self, new_w, violated, forest, lam):
        """Release a tree diode for each violated diode that closes a cycle of the forest.

        Such a diode cannot join the working set as it is: the tree path
        between its ends already fixes their difference, above its threshold.
        Along that path, the diodes whose going slack lowers that difference
        are the candidates; the one carrying least current is released (an
        exchange, as in a simplex pivot).
        """
        cn, s = self.cn, self.cn.structure
        _, order, parent_edge, tree = forest
        closing = [e for e in np.flatnonzero(violated) if tree[s.da[e]] == tree[s.dc[e]]]
        if not closing:
            return
        depth = np.zeros(s.m + 1, dtype=np.int64)
        for k in order:
            f = parent_edge[k]
            if f >= 0:
                depth[k] = depth[s.dc[f] if s.da[f] == k else s.da[f]] + 1

        def up(k):
            f = parent_edge[k]
            return f, (s.dc[f] if s.da[f] == k else s.da[f])

        for e in closing:
            a, c = s.da[e], s.dc[e]
            candidates = []
            while a != c:
                if depth[a] >= depth[c]:
                    f, parent = up(a)
                    if s.da[f] == a:  # step parent -> a ends at f's anode: slack lowers v(a) - v(c)
                        candidates.append(f)
                    a = parent
                else:
                    f, parent = up(c)
                    if s.dc[f] == c:  # step c -> parent starts at f's cathode
                        candidates.append(f)
                    c = parent
            candidates = [f for f in candidates if new_w[f]]
            if candidates:
                new_w[min(candidates, key=lambda f: lam[f])] = False

    def primal(self, u, in_w, tol):
        """Primal active-set method from a feasible point: monotone and finite."""
        cn, s = self.cn, self.cn.structure
        single_release = False
        seen = set()
        for _ in range(MAX_ACTIVE_SET_ITERATIONS):
            self.iterations += 1
            result = self.eqp(in_w)
            if result is None:
                break
            target, forest = result
            p = target - u
            rate = p[s.da] - p[s.dc]
            moving = ~in_w & (rate > RATIO_TEST_EPS * self.diode_volts(u))
            alpha = 1.0
            if moving.any():
                slack = np.maximum(cn.db[moving] - (u[s.da[moving]] - u[s.dc[moving]]), 0.0)
                steps = slack / rate[moving]
                alpha = min(1.0, float(steps.min()))
            if alpha < 1.0:
                u = u + alpha * p
                u[s.m] = 0.0
                blocking = np.flatnonzero(moving)[steps <= alpha * (1 + RATIO_TEST_TIE) + 1e-300]
                in_w[blocking] = True
                self._record(u, None)
                continue
            u = target
            lam, r, leftover = self.diode_currents(u, forest)
            self._record(u, (lam, r))
            negative = in_w & (lam < self.diode_amps(u, lam, tol))
            if not negative.any():
                if not self.accept(u, forest, tol, lam):
                    self.last = (u, in_w)
                return u
            key = in_w.tobytes()
            if key in seen:
                single_release = True  # a working set came back: release one at a time (Bland)
            seen.add(key)
            if single_release:
                in_w[np.flatnonzero(negative)[0]] = False
            else:
                in_w[negative] = False
        self.last = (u, in_w)
        return u

    def _record(self, u, currents):
        if not self.record:
            return
        cn, s = self.cn, self.cn.structure
        self.energies.append(K.reduced_energy(u, s.ri, s.rj, cn.rg, cn.rk, cn.f))
        if currents is None:
            r = K.reduced_gradient(u, s.indptr, s.nbr, cn.g, cn.c, cn.f)
            imbalance = r
        else:
            lam, r = currents
            imbalance = r.copy()
            flow = np.maximum(lam, 0.0)
            # a trace figure only: bincount (a fraction of np.add.at's cost) may round it differently
            imbalance += np.bincount(s.da, flow, minlength=len(imbalance))
            imbalance -= np.bincount(s.dc, flow, minlength=len(imbalance))
            imbalance = imbalance[: s.m]
        self.residuals.append(float(np.max(np.abs(imbalance), initial=0.0)))
        self.phases.append(1)


def _factorize(n, structure, tree, w, cn):
    """Factorise an equality-QP matrix: Cholesky in a fill-reducing order kept per structure.

    Once per structure, a fill-reducing ordering of the unmerged reduced
    Laplacian (see ``_slot_rank``) is remembered as a pivot rank per free slot.
    Each working set merges slots into super-nodes; a super-node takes the
    latest rank among its slots (contracting nodes of an elimination order),
    and a numba Cholesky factorises at a fraction of SuperLU's cost, reading
    the matrix straight from the resistors: by supernodes (dense fronts, BLAS)
    where the ordering predicts enough flops (``config.SUPERNODAL_MIN_FLOPS``,
    2-D grids), up-looking otherwise. SuperLU (with pivoting) is only the
    fallback for a matrix that rounding leaves not quite positive definite.
    """
    s = structure
    if s.slot_rank is None:
        # a system with as many unknowns as free slots is the unmerged one: its forest is the same
        s.slot_rank, s.dense_fronts = _slot_rank(s, cn, (tree, w) if n == s.m else None)
    if s.slot_rank is not None:
        factor_class = SupernodalFactor if s.dense_fronts else CholeskyFactor
        try:
            return factor_class.from_resistors(n, tree, s.ri, s.rj, cn.rg,
                                               merged_pivot_order(tree[: s.m], s.slot_rank, n))
        except NotPositiveDefinite:
            pass  # rounding on a nearly singular matrix: let SuperLU pivot
    rows, cols, vals, _ = K.assemble_reduced(tree, w, n, s.ri, s.rj, cn.rg, cn.rk, cn.f)
    matrix = sp.csc_matrix((vals, (rows, cols)), shape=(n, n))
    try:
        return splu(matrix, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options=dict(SymmetricMode=True))
    except RuntimeError:
        return None


def _slot_rank(s, cn, unmerged=None):
    """Fill-reducing pivot rank of every free slot, from the unmerged reduced Laplacian,
    and whether its factorisations are worth doing by supernodes (see ``_factorize``).

    ``unmerged``: its ``(tree, w)`` forest (no diode held), when the caller has it.

    The order is a minimum-degree elimination on the graph while that stays
    cheap (tree-like networks); where its cliques grow (2-D grids) nested
    dissection orders instead, and small systems keep their natural order.
    Either order is then postordered along its elimination tree.
    """
    if unmerged is not None:
        (tree, w), n = unmerged, s.m
    else:
        no_diodes = np.zeros(len(s.da), dtype=bool)
        tree, w, _, _, n = K.build_forest(s.m, s.da, s.dc, cn.db, no_diodes, cn.db_order)
    if n == 0:
        return None, False
    rows, cols, _, _ = K.assemble_reduced(tree, w, n, s.ri, s.rj, cn.rg, cn.rk, cn.f)
    order, _ = minimum_degree_order(n, rows, cols, MIN_DEGREE_WORK * len(rows))
    dense_fronts = False  # minimum degree finishing within its budget means little fill
    if len(order) != n:
        if n <= NATURAL_ORDER_SIZE:
            return tree[: s.m].copy(), False  # too small for fill to matter
        order = nested_dissection_order(n, rows, cols, DISSECTION_LEAF_SIZE)
        dense_fronts = cholesky_flops(n, rows, cols, order) >= SUPERNODAL_MIN_FLOPS
    order = postordered(n, rows, cols, order)  # same fill, subtrees contiguous: fewer cache misses
    pivot_rank = np.empty(n, dtype=np.int64)
    pivot_rank[order] = np.arange(n)
    return pivot_rank[tree[: s.m]], dense_fronts  # slot k is its own super-node tree[k]


def _border_budget(factor):
    """Largest working-set change worth solving through ``factor`` rather than refactorising.

    A border of ``k`` rows costs about ``k`` triangular-solve passes over the
    factor (``nnz(L) + n`` entries each); a fresh factorisation, its symbolic
    work (``BORDER_SYMBOLIC_SOLVES`` passes) plus its flops. Capped by the
    memory of the border's two dense ``n x k`` arrays; 0 for a small factor,
    which is cheaper to recompute than to border.
    """
    if factor.nnz < BORDER_MIN_FACTOR:
        return 0
    column = factor.column_counts().astype(np.float64)
    flops = float(np.sum(column * column))  # not BLAS dot: its threads cost more than this sum
    size = float(factor.nnz + factor.n)
    worth = BORDER_SYMBOLIC_SOLVES + flops / (BORDER_FLOPS_PER_SOLVE * size)
    return int(min(BORDER_MAX, BORDER_MAX_ENTRIES // factor.n, worth))


def _judged_tol(tol):
    """The tolerance converged is judged at: tol, but never below what rounding allows."""
    return max(tol, MIN_CERTIFICATE_TOL)


def _refine(factor, U, rhs, tree, s, cn):
    """Iterative refinement of an equality-QP solve, the residual evaluated in double-double.

    ``rhs`` is the right-hand side as a ``(hi, lo)`` pair. With the residual
    exact to far below float64 rounding, each step with the existing factor
    (one triangular solve pair) brings U closer to the exact solution, not
    merely to a backward-stable one: this is what rescues rows of small
    conductances next to large ones, and large injections that cancel.
    Stops when a step no longer halves the worst row residual (relative to
    that row's ``|A||U| + |rhs|``) or the correction is below rounding of U.
    Returns ``(U, relative)``: relative is the worst relative row residual
    measured before the last accepted step (an upper bound of U's).
    """
    best, best_relative = U, np.inf
    for _ in range(REFINEMENT_STEPS):
        r, relative = C.reduced_residual(U, rhs[0], rhs[1], tree, s.ri, s.rj, cn.rg)
        if relative >= 0.5 * best_relative:
            break  # stagnated: keep the best so far
        best, best_relative = U, relative
        if relative == 0.0:
            break
        correction = factor.solve(r)
        U = U + correction
        if K.within_ulps(correction, U, REFINEMENT_TARGET):
            best = U
            break
    return best, best_relative


def _preconditioned_cg(lu, rhs, apply, max_iterations=CG_MAX_ITERATIONS):
    """Solve A x = rhs by conjugate gradients preconditioned with an LU factor of a nearby A.

    Returns None when it does not reach machine-level accuracy quickly, so the
    caller refactorises instead.
    """
    x = lu.solve(rhs)
    r = rhs - apply(x)
    target = CG_TOLERANCE * (float(np.max(np.abs(rhs), initial=0.0)) + 1e-300) * max(1, rhs.shape[0]) ** 0.5
    if float(np.max(np.abs(r), initial=0.0)) <= target:
        return x
    z = lu.solve(r)
    p = z.copy()
    rz = float(r @ z)
    for _ in range(max_iterations):
        ap = apply(p)
        alpha = rz / float(p @ ap)
        x += alpha * p
        r -= alpha * ap
        if float(np.max(np.abs(r), initial=0.0)) <= target:
            return x
        z = lu.solve(r)
        rz, rz_old = float(r @ z), rz
        p = z + (rz / rz_old) * p
    return None


def _certify(cn, u, in_w, lam):
    """Node voltages, element currents and their certificate for component potentials u.

    Returns ``(certificate, (diode actual current scales, rounding allowances), v, currents)``; ``lam`` are
    the reduced diodes' currents on the working-set forest.
    """
    s = cn.structure
    arrays = cn.arrays
    v = K.node_potentials(u, s.comp, cn.offset)
    v[0] = 0.0
    rp, rn, rg, _ = arrays["resistor"]
    dp, dn, _, _ = arrays["diode"]
    vp, vn, _, _ = arrays["vsource"]
    ip, in_, icur, _ = arrays["isource"]
    i_res = rg * (v[rp] - v[rn])
    i_dio = np.zeros(len(dp))
    i_dio[s.dio_keep] = lam
    # voltage-source currents: whatever KCL leaves at each node, carried along the source
    # forest (in double-double, as the diode currents)
    n_nodes = len(s.nodes)
    hi, lo = np.zeros(n_nodes), np.zeros(n_nodes)
    for p, n, i in ((rp, rn, i_res), (dp, dn, i_dio), (ip, in_, icur)):
        C.add_node_currents(p, n, i, hi, lo)
    i_vs, _ = C.tree_flow(s.vs_order, s.vs_parent_edge, vp, vn, -hi, -lo)
    currents = {"resistor": i_res, "diode": i_dio, "vsource": i_vs, "isource": icur}
    kkt, diode_scale = local_certificate(arrays, v, currents)
    return kkt, diode_scale, v, currents


def _solution(cn, state, tol) -> Solution:
    s = cn.structure
    arrays = cn.arrays
    u, in_w = state.last
    if state.certified is not None and state.certified_point is u:
        kkt, (diode_actual, diode_rounding), v, currents = state.certified
    else:
        forest = K.build_forest(s.m, s.da, s.dc, cn.db, in_w.copy(), cn.db_order)
        lam, _, _ = state.diode_currents(u, (in_w, forest[2], forest[3]))
        kkt, (diode_actual, diode_rounding), v, currents = _certify(cn, u, in_w, lam)

    rp, rn, rg, rnames = arrays["resistor"]
    dp, dn, theta, dnames = arrays["diode"]
    ip, in_, icur, inames = arrays["isource"]
    i_res, i_dio = currents["resistor"], currents["diode"]
    active = names_at(dnames, np.flatnonzero(i_dio > tol * diode_actual + diode_rounding))
    # elementwise products summed by numpy, not BLAS dot: BLAS threads cost more than the sum here
    power = float(np.sum(i_res * (v[rp] - v[rn])) + np.sum(i_dio * (v[dp] - v[dn])))
    final_energy = K.energy(v, rp, rn, rg, ip, in_, icur)
    trace = {
        "energy": np.asarray(state.energies, dtype=float),
        "max_kcl_residual": np.asarray(state.residuals, dtype=float),
        "phase": np.asarray(state.phases, dtype=np.int8),
        "final_energy": final_energy,
    }
    if state.record and len(state.energies):
        # reduced energies differ from E by a constant: align the last sweep's point
        trace["energy"] += final_energy - K.reduced_energy(u, s.ri, s.rj, cn.rg, cn.rk, cn.f)
    return Solution(
        arrays=arrays,
        node_voltages=v,
        element_currents=currents,
        active_diodes=active,
        power=power,
        sweeps=state.sweeps,
        active_set_iterations=state.iterations,
        converged=bool(kkt.is_optimal(_judged_tol(tol))),
        trace=trace,
        kkt=kkt,
        warm=WarmStart(s, in_w.copy(), state.factor),
    )
