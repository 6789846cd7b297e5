"""A high-precision reference for the steady state: the KKT system solved in mpmath.

Written from ``net.elements()`` alone; shares no code with the solver. For a
guessed set of conducting diodes, the diodes in it and the voltage sources are
equalities and the modified-nodal system

    [ G  B^T ] [v]   [injected currents]
    [ B  0   ] [i] = [source voltages and thresholds]

is solved with 60 significant digits (``G`` the conductance Laplacian without
ground, ``B`` the incidence rows of the equalities, ``i`` their currents from p
through the element to n). The guess is the optimum exactly when every other
diode holds and every conducting diode's current is >= 0; :func:`exact_solve`
checks that, and searches (primal-dual guesses, then every subset for a few
diodes) when the guess is wrong. Float inputs are converted exactly.
"""

from __future__ import annotations

import itertools

import mpmath

DIGITS = 60

#: Relative slack of the optimality checks in the reference's own precision.
EXACT_TOL = mpmath.mpf(10) ** (-40)


class ReferenceError(RuntimeError):
    """The reference found no optimal conducting set (should not happen for a valid network)."""


def _forest(diodes, sources, preferred=()):
    """The diodes that join new groups of nodes (sources' groups first); the others close loops.

    A conducting diode that closes a loop of equalities makes the system
    singular; it is left out (it then carries no current and is checked as
    an inequality, which it meets exactly when the loop's thresholds agree).
    """
    parent = {}

    def root(k):
        while parent.get(k, k) != k:
            k = parent[k]
        return k

    for e in sources:
        parent[root(e.p)] = root(e.n)
    kept = []
    for e in sorted(diodes, key=lambda e: (e.name not in preferred, e.name)):
        a, b = root(e.p), root(e.n)
        if a != b:
            parent[a] = b
            kept.append(e)
    return kept


def _system(net, conducting, preferred=()):
    nodes = [k for k in net.nodes if k != "0"]
    index = {k: i for i, k in enumerate(nodes)}
    n = len(nodes)
    equalities = net.elements("vsource") + _forest([e for e in net.elements("diode") if e.name in conducting],
                                                   net.elements("vsource"), preferred)
    size = n + len(equalities)
    M = mpmath.zeros(size, size)
    rhs = mpmath.zeros(size, 1)
    for e in net.elements("resistor"):
        g = mpmath.mpf(e.value)
        a, b = index.get(e.p), index.get(e.n)
        for x, y, sign in ((a, a, 1), (b, b, 1), (a, b, -1), (b, a, -1)):
            if x is not None and y is not None:
                M[x, y] += sign * g
    for e in net.elements("isource"):
        i = mpmath.mpf(e.value)
        if e.p in index:
            rhs[index[e.p]] -= i
        if e.n in index:
            rhs[index[e.n]] += i
    for row, e in enumerate(equalities, start=n):
        for node, sign in ((e.p, 1), (e.n, -1)):
            if node in index:
                M[row, index[node]] = sign
                M[index[node], row] = sign
        rhs[row] = mpmath.mpf(e.value)
    return nodes, equalities, M, rhs


def kkt_point(net, conducting, preferred=()):
    """Voltages and equality currents with the diodes in ``conducting`` held at threshold.

    Returns ``(voltages, currents)`` as dicts of mpf, or None if the system is singular.
    """
    with mpmath.workdps(DIGITS):
        nodes, equalities, M, rhs = _system(net, conducting, preferred)
        try:
            x = mpmath.lu_solve(M, rhs)
        except (ZeroDivisionError, TypeError):  # singular (mpmath's LU may fail either way)
            return None
        volts = {k: x[i] for i, k in enumerate(nodes)}
        volts["0"] = mpmath.mpf(0)
        currents = {e.name: x[len(nodes) + i] for i, e in enumerate(equalities)}
        return volts, currents


def violations(net, volts, currents):
    """(diodes over their threshold, conducting diodes with negative current), judged exactly."""
    over, negative = [], []
    scale = 1 + max(abs(v) for v in volts.values())
    for e in net.elements("diode"):
        drop = volts[e.p] - volts[e.n]
        if e.name in currents:
            if currents[e.name] < -EXACT_TOL * (1 + abs(currents[e.name])):
                negative.append(e.name)
        elif drop - mpmath.mpf(e.value) > EXACT_TOL * scale:
            over.append(e.name)
    return over, negative


def _guesses(net, conducting, max_guesses):
    """Primal-dual guesses from ``conducting``; the optimal (voltages, set) or None if they cycle."""
    preferred = set()  # diodes found over their threshold: kept first when loops are broken
    seen = set()
    for _ in range(max_guesses):
        key = (frozenset(conducting), frozenset(preferred))
        if key in seen:
            return None
        seen.add(key)
        point = kkt_point(net, conducting, preferred)
        if point is None:
            return None
        over, negative = violations(net, *point)
        if not over and not negative:
            return point[0], conducting
        conducting = (conducting - set(negative)) | set(over)
        preferred = (preferred - set(negative)) | set(over)
    return None


def exact_solve(net, guess=(), max_guesses=60, brute_force_limit=8):
    """The optimal voltages (dict of mpf) and the conducting set found, starting from ``guess``.

    Tries primal-dual guesses from ``guess``, from no diode and from every
    diode, then (for a few diodes) every subset.
    """
    names = [e.name for e in net.elements("diode")]
    with mpmath.workdps(DIGITS):
        for start in (set(guess), set(), set(names)):
            found = _guesses(net, start, max_guesses)
            if found is not None:
                return found
        if len(names) > brute_force_limit:
            raise ReferenceError("no optimal conducting set found by the guesses")
        for size in range(len(names) + 1):
            for subset in itertools.combinations(names, size):
                point = kkt_point(net, set(subset))
                if point is not None and violations(net, *point) == ([], []):
                    return point[0], set(subset)
        raise ReferenceError("no subset of diodes satisfies the KKT conditions")
