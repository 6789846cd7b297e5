"""DC sweeps: the exact transfer curve along one source, or solutions sampled at given values.

With ideal diodes and linear resistors the steady state is a piecewise-affine
function of any one source value ``x`` (see ``solver/README.md``, "Sweeps").
:func:`sweep` follows it exactly, segment by segment (a parametric active-set
or homotopy method):

1. solve exactly at the current value (a warm re-solve);
2. find the direction ``dv/dx`` from the *incremental network*: every
   resistor kept, the swept source set to 1 (``+-1`` with the sweep's
   direction) and every other source to 0, each diode that carries current
   replaced by a short (its drop cannot change while it conducts), each diode
   at its threshold without current by an ideal diode of threshold 0 (it may
   start conducting or leave), every other diode removed. Solving that small
   QP also says which diodes at their threshold start to conduct, so several
   diodes switching at one value are handled exactly, not guessed;
3. ratio test: the segment ends at the first value where a conducting diode's
   current falls to zero or a blocking diode's drop reaches its threshold;
4. step there and repeat until ``stop``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from numbers import Real

import numpy as np

from . import _compensated as C
from . import _kernels as K
from .compiled import _compile_values, compile_network
from .network import KINDS
from .solution import WarmStart
from .solve import _State, solve
from .sweep_result import Breakpoint, SampledSweep, Segment, Sweep
from ..config import (
    DEFAULT_TOL,
    MAX_ELEMENTS,
    SWEEP_CURRENT_TOL,
    SWEEP_MAX_SEGMENTS,
    SWEEP_MIN_PIECE,
    SWEEP_RATE_TOL,
    SWEEP_TIGHT_SLACK,
)
from ..exceptions import InfeasibleNetworkError, NetworkError, VoltageLoopError

__all__ = ["SweepInfeasibleError", "sweep"]

#: What the sampled values of each element kind are.
QUANTITY = {"resistor": "resistance", "diode": "threshold", "vsource": "voltage", "isource": "current"}


class SweepInfeasibleError(InfeasibleNetworkError):
    """The network has no steady state beyond ``value`` of the swept source.

    ``value`` is the last value with a steady state (or the start, when the
    network is infeasible there already); ``sweep`` is the part of the
    transfer curve computed up to it (None when nothing was), ``elements``
    the diodes or sources that cannot all hold.
    """

    def __init__(self, message, value, sweep=None, elements=()):
        super().__init__(message, elements)
        self.value = value
        self.sweep = sweep


def sweep(net, element, start=None, stop=None, *, values=None, tol=DEFAULT_TOL):
    """Sweep one element of ``net``: exactly along a source, or sampled at given values.

    Parameters
    ----------
    net : Network
        Left as it was: the swept value is moved during the sweep and restored
        at the end (reusing the network's compiled structure).
    element : str or tuple of two str
        The element to sweep. With ``start`` and ``stop``, a voltage or current
        source: the exact piecewise-affine curve. With ``values``, any element
        (a resistor's values are resistances in ohm, a diode's its threshold,
        a source's its voltage or current); a pair of elements with a pair of
        value lists sweeps their grid, the first varying fastest.
    start, stop : float
        Ends of an exact sweep; ``stop < start`` sweeps downwards.
    values : array_like, or a pair of them
        Sample values (instead of ``start``/``stop``).
    tol : float
        Tolerance of each exact solve (see :func:`solver.solve`).

    Returns
    -------
    Sweep or SampledSweep

    Raises
    ------
    SweepInfeasibleError
        Where the network stops having a steady state (its ``value``).
    TypeError, ValueError
        For an element that cannot be swept this way, or bad values.

    Examples
    --------
    A clipper: 1 kOhm from the input to ``out``, a 0.7 V diode to ground.
    The output follows the input until the diode turns on at 0.7 V.

    >>> from solver import Network, sweep
    >>> net = Network()
    >>> net.add_voltage_source("in", "0", 0.0, name="V1")
    'V1'
    >>> net.add_resistor("in", "out", resistance=1e3)
    'R1'
    >>> net.add_diode("out", "0", threshold=0.7, name="D1")
    'D1'
    >>> s = sweep(net, "V1", -1.0, 2.0)
    >>> [(round(b.value, 9), b.label) for b in s.breakpoints]
    [(0.7, 'D1 on')]
    >>> [round(float(v), 9) for v in s.voltage("out", [0.5, 1.5])]
    [0.5, 0.7]
    """
    if values is not None:
        if start is not None or stop is not None:
            raise TypeError("give either start and stop (an exact sweep of a source) or values=, not both")
        return _sampled(net, element, values, tol)
    if start is None or stop is None:
        raise TypeError("sweep needs start and stop (an exact sweep of a source) or values= (samples)")
    if not isinstance(element, str):
        raise TypeError("an exact sweep follows one source: give its name; sweep a grid with values=(xs, ys)")
    source = net.element(element)
    if source.kind not in ("vsource", "isource"):
        raise TypeError(f"{source.kind} {element!r} cannot be swept exactly (only voltage and current "
                        f"sources); sample it with sweep(net, {element!r}, values=...)")
    start, stop = _finite_value("start", start), _finite_value("stop", stop)
    return _ExactSweep(net, element, start, stop, tol).run()


def _finite_value(what, x):
    if isinstance(x, bool) or not isinstance(x, (Real, np.floating, np.integer)) or not math.isfinite(x):
        raise ValueError(f"{what} must be a finite number, got {x!r}")
    return float(x)


def _element_names(arrays):
    return [name for kind in KINDS for name in arrays[kind][3]]


def _stack_currents(sol):
    return np.concatenate([sol.element_currents[kind] for kind in KINDS])


def _warm(sol, structure, in_w, factor):
    """A warm start that carries a chosen working set (and factor) instead of ``sol``'s own."""
    warm = copy.copy(sol)
    warm.warm = WarmStart(structure, in_w, factor)
    return warm


class _Direction:
    """The incremental network of one sweep: same structure, unit swept source, other sources 0.

    Compiled once per sweep on the original structure, so every equality
    solve shares (and reuses) the factorisations of the exact re-solves.
    """

    def __init__(self, cn, source, sigma):
        s = cn.structure
        arrays = dict(cn.arrays)
        kind, index = arrays["position"][source]
        for k in ("vsource", "isource"):
            p, n, value, names = arrays[k]
            unit = np.zeros_like(value)
            if k == kind:
                unit[index] = sigma
            arrays[k] = (p, n, unit, names)
        vp, vn, volts, _ = arrays["vsource"]
        self.offset = K.source_offsets(s.vs_order, s.vs_parent_edge, vp, vn, volts)
        dp, dn, _, names = arrays["diode"]
        # thresholds that no inner diode can violate: only the working set's bounds are used,
        # and those are set to threshold 0 below
        safe = np.abs(self.offset[dp] - self.offset[dn]) + 1.0
        arrays["diode"] = (dp, dn, safe, names)
        try:
            cn_d = _compile_values(None, s, arrays)
        except VoltageLoopError as e:
            raise NetworkError(f"source {source!r} lies on a loop of voltage sources: changing it alone "
                               f"breaks the loop ({', '.join(e.elements)})") from None
        keep = s.dio_keep
        db = self.offset[dn[keep]] - self.offset[dp[keep]]
        self.cn = replace(cn_d, db=db, dbound=np.where(s.dupper, db[s.d_inc], -db[s.d_inc]))
        self.state = _State(self.cn, False)
        self.dp, self.dn, self.keep = dp, dn, keep
        self.solves = 0

    def solve_working_set(self, in_w, factor):
        """``(dv, dlam)`` with the reduced diodes ``in_w`` held at their drop (None if singular)."""
        self.state.factor = factor
        result = self.state.eqp(in_w)
        self.solves += 1
        if result is None:
            return None
        u, forest = result
        dv = K.node_potentials(u, self.cn.structure.comp, self.offset)
        dv[0] = 0.0
        dlam = np.zeros(len(self.dp))
        dlam[self.keep] = self.state.diode_currents(u, forest)[0]
        return dv, dlam

    def solve(self, strong, weak, factor):
        """``(dv, dlam, in_w)``: node-potential and diode-current rates, and the working set.

        ``strong`` (conducting) diodes are held at their drop; ``weak`` ones
        (at the threshold, no current) may not rise above it. A small
        primal-dual active set decides which weak diodes join; returns None
        when it cannot (the caller then falls back on a full solve).
        """
        s = self.cn.structure
        keep = self.keep
        ws, wk = strong[keep], weak[keep]
        joined = np.zeros_like(ws)
        seen = set()
        self.state.factor = factor
        for _ in range(2 * int(wk.sum()) + 2):
            in_w = ws | joined
            result = self.state.eqp(in_w)
            self.solves += 1
            if result is None:
                return None
            u, forest = result
            lam = self.state.diode_currents(u, forest)[0]
            dv = K.node_potentials(u, s.comp, self.offset)
            dv[0] = 0.0
            rate = (dv[self.dp] - dv[self.dn])[keep]
            eps_v = SWEEP_RATE_TOL * (1.0 + float(np.max(np.abs(dv), initial=0.0)))
            eps_i = SWEEP_RATE_TOL * (1e-300 + float(np.max(np.abs(lam), initial=0.0)))
            if np.any(ws & (np.abs(rate) > eps_v)):
                return None  # a short closing a cycle could not be held: let the full solve decide
            violated = wk & ~joined & (rate > eps_v)
            negative = joined & (lam < -eps_i)
            if not violated.any() and not negative.any():
                dlam = np.zeros(len(self.dp))
                dlam[keep] = lam
                return dv, dlam, in_w
            key = joined.tobytes()
            if key in seen:
                return None
            seen.add(key)
            joined = (joined & ~negative) | violated
        return None


class _ExactSweep:
    """The segment-by-segment walk of :func:`sweep` along one source."""

    def __init__(self, net, source, start, stop, tol):
        # the sweep moves the source on the caller's network (restored when it ends), so that the
        # network's compiled structure, cached on it, is reused rather than built again
        self.net = net
        self.source = source
        self.kind = net.element(source).kind
        self.start, self.stop, self.tol = start, stop, tol
        self.sigma = 1.0 if stop >= start else -1.0
        self.pieces = []  # (x0, x1, V0, V1, I0, I1, conducting frozenset), in sweep order
        self.solves = 0
        self._reach = None  # the largest current the swept values drive (for _current_tol)

    def _solve(self, x, warm=None):
        self.net.set_value(self.source, x)
        self.solves += 1
        return solve(self.net, tol=self.tol, warm_start=warm)

    def run(self) -> Sweep:
        original = self.net.element(self.source).value
        try:
            return self._walk()
        finally:
            self.net.set_value(self.source, original)

    def _walk(self) -> Sweep:
        try:
            sol = self._solve(self.start)
        except InfeasibleNetworkError as e:
            raise SweepInfeasibleError(f"no steady state at {self.source} = {self.start:g}: {e}", self.start,
                                       None, e.elements) from e
        cn = compile_network(self.net)
        self.structure = cn.structure
        self.direction = _Direction(cn, self.source, self.sigma)
        dp, dn, theta, self.names = cn.arrays["diode"]
        unit = np.zeros(len(cn.arrays["isource"][2]))
        if self.kind == "isource":
            unit[cn.arrays["position"][self.source][1]] = self.sigma
        x = self.start
        if self.start == self.stop:  # a single point
            i = _stack_currents(sol)
            self._piece(x, x, sol.node_voltages, sol.node_voltages, i, i,
                        sol.element_currents["diode"] > self._current_tol(sol))
        for _ in range(SWEEP_MAX_SEGMENTS):
            if x == self.stop:
                break
            v = sol.node_voltages
            slack = theta - (v[dp] - v[dn])
            tight = slack <= SWEEP_TIGHT_SLACK * sol.kkt.voltage_scale
            found = self._fast_direction(sol, tight)
            if found is None:
                found = self._direction_past(x, sol, tight)
                if found is None:  # a piece too short to resolve: step over it between two exact solves
                    x, sol = self._sampled_piece(x, sol)
                    continue
            dv, dlam, in_w, lam = found
            rate = dv[dp] - dv[dn]
            eps_v = SWEEP_RATE_TOL * (1.0 + float(np.max(np.abs(dv), initial=0.0)))
            eps_i = SWEEP_RATE_TOL * (1e-300 + float(np.max(np.abs(dlam), initial=0.0)))
            strong = lam > self._current_tol(sol)
            conducting = strong | (tight & (dlam > eps_i))
            with np.errstate(divide="ignore", invalid="ignore"):
                t_slack = np.where(~tight & (rate > eps_v), slack / rate, np.inf)
                t_off = np.where(strong & (dlam < -eps_i), lam / -dlam, np.inf)
            step = float(min(np.min(t_slack, initial=np.inf), np.min(t_off, initial=np.inf)))
            remaining = abs(self.stop - x)
            x_next = self.stop if step >= remaining else x + self.sigma * step
            if x_next == x:  # a step below the resolution of floats at x: step over it
                x, sol = self._sampled_piece(x, sol)
                continue
            i0 = self._currents(v, lam, sol.element_currents["isource"])
            di = self._currents(dv, dlam, unit)
            warm = _warm(sol, self.structure, in_w, self.direction.state.factor)
            try:
                new = self._solve(x_next, warm)
            except InfeasibleNetworkError:
                self._infeasible(x, [])
            i1 = i0 + abs(x_next - x) * di
            self._piece(x, x_next, v, new.node_voltages, i0, i1, conducting)
            x, sol = x_next, new
        return self._result(complete=(x == self.stop))

    def _fast_direction(self, sol, tight):
        """The direction with the solve's own diode currents, or None if they do not give one."""
        lam = sol.element_currents["diode"]
        strong = tight & (lam > self._current_tol(sol))
        found = self.direction.solve(strong, tight & ~strong, sol.warm.factor)
        if found is None:
            return None
        dv = found[0]
        dp, dn = self.direction.dp, self.direction.dn
        eps_v = SWEEP_RATE_TOL * (1.0 + float(np.max(np.abs(dv), initial=0.0)))
        if np.any(tight & (dv[dp] - dv[dn] > eps_v)):
            return None  # a diode held by sources alone would be pushed past its threshold
        return (*found, lam)

    def _direction_past(self, x, sol, tight):
        """The direction from an exact solve just past ``x`` (a degenerate breakpoint).

        When diode currents at ``x`` are not unique (diodes in parallel through
        sources), the solve's currents may not continue into the next
        segment. The diodes at their threshold just past ``x`` are the next
        working set; its equality solve at ``x`` gives the currents that do.
        Returns None when no small step gives a consistent segment.
        """
        s = self.structure
        keep = s.dio_keep
        remaining = abs(self.stop - x)
        blocking = None
        for h in (1e-7, 1e-10, 1e-5):
            h = min(h * (1.0 + abs(x)), 0.5 * remaining)
            try:
                past = self._solve(x + self.sigma * h, sol)
            except InfeasibleNetworkError as e:
                blocking = blocking or e.elements
                continue
            blocking = []
            v = past.node_voltages
            dp, dn, theta, _ = past._arrays["diode"]
            in_w = (theta - (v[dp] - v[dn]) <= SWEEP_TIGHT_SLACK * past.kkt.voltage_scale)[keep]
            self.net.set_value(self.source, x)
            here = _State(compile_network(self.net), False)
            here.factor = past.warm.factor
            result = here.eqp(in_w)
            step = self.direction.solve_working_set(in_w, here.factor)
            if result is None or step is None:
                continue
            u, forest = result
            lam_keep = here.diode_currents(u, forest)[0]
            dv, dlam = step
            lam = np.zeros(len(self.names))
            lam[keep] = lam_keep
            v_here = K.node_potentials(u, s.comp, here.cn.offset)
            scale_i = self._current_tol(sol)
            rate = (dv[dp] - dv[dn])
            eps_v = SWEEP_RATE_TOL * (1.0 + float(np.max(np.abs(dv), initial=0.0)))
            eps_i = SWEEP_RATE_TOL * (1e-300 + float(np.max(np.abs(dlam), initial=0.0)))
            w_full = np.zeros(len(self.names), dtype=bool)
            w_full[keep] = in_w
            consistent = (
                np.max(np.abs(v_here[1:] - sol.node_voltages[1:]), initial=0.0) <= 1e-9 * sol.kkt.voltage_scale
                and np.all(lam >= -scale_i)
                and np.all((lam > scale_i) | (dlam >= -eps_i) | ~w_full)
                and not np.any(tight & ~w_full & (rate > eps_v))
            )
            if consistent:
                return dv, dlam, in_w, lam
        if blocking:
            self._infeasible(x, blocking)
        return None

    def _sampled_piece(self, x, sol):
        h = min(1e-7 * (1.0 + abs(x)), abs(self.stop - x))
        x_next = x + self.sigma * h
        try:
            new = self._solve(x_next, sol)
        except InfeasibleNetworkError:
            self._infeasible(x, [])
        i0, i1 = _stack_currents(sol), _stack_currents(new)
        conducting = new.element_currents["diode"] > self._current_tol(new)
        self._piece(x, x_next, sol.node_voltages, new.node_voltages, i0, i1, conducting)
        return x_next, new

    def _current_tol(self, sol):
        """Below this a diode current counts as zero: relative to the solution's currents, but never
        below what the sweep's own values drive through the network (at a value where every current
        vanishes, rounding noise must not count as conduction)."""
        if self._reach is None:
            reach = max(abs(self.start), abs(self.stop))
            if self.kind == "vsource":
                reach *= float(np.max(self.net.arrays()["resistor"][2], initial=0.0))
            self._reach = reach
        return SWEEP_CURRENT_TOL * max(sol.kkt.current_scale, self._reach)

    def _currents(self, v, i_dio, icur):
        """Every element's current from potentials, diode and current-source currents (KCL for the rest)."""
        s, arrays = self.structure, self.net.arrays()
        rp, rn, rg, _ = arrays["resistor"]
        dp, dn, _, _ = arrays["diode"]
        vp, vn, _, _ = arrays["vsource"]
        ip, in_, _, _ = arrays["isource"]
        i_res = rg * (v[rp] - v[rn])
        hi, lo = np.zeros(len(v)), np.zeros(len(v))
        for p, n, i in ((rp, rn, i_res), (dp, dn, i_dio), (ip, in_, icur)):
            C.add_node_currents(p, n, i, hi, lo)
        i_vs, _ = C.tree_flow(s.vs_order, s.vs_parent_edge, vp, vn, -hi, -lo)
        return np.concatenate([i_res, i_dio, i_vs, icur])

    def _piece(self, x0, x1, v0, v1, i0, i1, conducting):
        on = frozenset(self.names[e] for e in np.flatnonzero(conducting))
        self.pieces.append((x0, x1, v0, v1, i0, i1, on))

    def _infeasible(self, x, elements):
        partial = self._result(complete=False) if self.pieces else None
        raise SweepInfeasibleError(
            f"the network has no steady state beyond {self.source} = {x:.12g}"
            + (f": {', '.join(elements)} cannot all hold" if elements else ""),
            x, partial, elements)

    def _result(self, complete) -> Sweep:
        arrays = self.net.arrays()
        segments = []
        # pieces shorter than rounding (around a degenerate value) do not make segments of their own
        shortest = SWEEP_MIN_PIECE * (abs(self.start) + abs(self.stop) + abs(self.stop - self.start))
        real = [p for p in self.pieces if abs(p[1] - p[0]) > shortest] or self.pieces[:1]
        for k, (x0, x1, *_, on) in enumerate(real):
            x0 = self.start if k == 0 else segments[-1].stop
            if segments and set(segments[-1].conducting) == on:  # touched a threshold: no switch
                segments[-1] = Segment(segments[-1].start, x1, segments[-1].conducting)
            else:
                segments.append(Segment(x0, x1, tuple(sorted(on))))
        if segments and self.pieces:
            last = segments[-1]
            segments[-1] = Segment(last.start, self.pieces[-1][1], last.conducting)
        breakpoints = [
            Breakpoint(after.start, tuple(sorted(set(after.conducting) - set(before.conducting))),
                       tuple(sorted(set(before.conducting) - set(after.conducting))))
            for before, after in zip(segments, segments[1:])
        ]
        stop = self.stop if complete else (self.pieces[-1][1] if self.pieces else self.start)
        result = Sweep(source=self.source, kind=self.kind, start=self.start, stop=stop,
                       nodes=arrays["nodes"], elements=_element_names(arrays),
                       pieces=[p[:6] for p in self.pieces], breakpoints=breakpoints, segments=segments,
                       solves=self.solves, direction_solves=self.direction.solves)
        result.complete = complete
        return result


# ------------------------------------------------------------------ sampled sweeps
def _sampled(net, element, values, tol) -> SampledSweep:
    names = (element,) if isinstance(element, str) else tuple(element)
    if not 1 <= len(names) <= 2 or not all(isinstance(n, str) for n in names):
        raise TypeError("element must be an element name or a pair of names (a grid)")
    if len(names) == 2 and len(set(names)) != 2:
        raise ValueError(f"a grid sweeps two different elements, got {names}")
    axes = [values] if len(names) == 1 else list(values)
    if len(axes) != len(names):
        raise ValueError("a grid of two elements takes values=(values_of_first, values_of_second)")
    kinds = [net.element(n).kind for n in names]
    axes = [np.asarray(a, dtype=float).reshape(-1) for a in axes]
    for n, a in zip(names, axes):
        if a.size == 0 or not np.all(np.isfinite(a)):
            raise ValueError(f"values of {n!r} must be a non-empty list of finite numbers")
    count = int(np.prod([a.size for a in axes]))
    if count * max(1, len(net.nodes) + len(net)) > MAX_ELEMENTS:
        raise ValueError(f"{count} samples of a network of {len(net.nodes)} nodes is too large to store")
    if len(axes) == 1:
        points = axes[0][:, None]
    else:
        first, second = np.meshgrid(axes[0], axes[1], indexing="xy")  # first varies fastest
        points = np.column_stack([first.reshape(-1), second.reshape(-1)])
    work = net  # moved sample by sample, restored at the end (its compiled structure is reused)
    originals = [(n, net.element(n).value) for n in names]
    try:
        volts, currents, conducting = _solve_samples(work, names, kinds, points, tol)
    finally:
        for n, value in originals:
            work.set_value(n, value)
    arrays = work.arrays()
    return SampledSweep(parameters=names, quantity={n: QUANTITY[k] for n, k in zip(names, kinds)},
                        points=points, nodes=arrays["nodes"], elements=_element_names(arrays),
                        node_voltages=np.array(volts), element_currents=np.array(currents),
                        conducting=conducting)


def _solve_samples(work, names, kinds, points, tol):
    volts, currents, conducting = [], [], []
    sol = None
    for row in points:
        for n, kind, value in zip(names, kinds, row):
            if kind == "resistor":
                work.set_value(n, resistance=float(value))
            else:
                work.set_value(n, float(value))
        try:
            sol = solve(work, tol=tol, warm_start=sol)
        except InfeasibleNetworkError as e:
            at = ", ".join(f"{n} = {x:g}" for n, x in zip(names, row))
            raise SweepInfeasibleError(f"no steady state at {at}: {e}", float(row[0]), None, e.elements) from e
        volts.append(sol.node_voltages)
        currents.append(_stack_currents(sol))
        conducting.append(tuple(sorted(sol.active_diodes)))
    return volts, currents, conducting
