"""Numba kernels of the KKT certificate (:func:`solver.core.solution.local_certificate`).

Each kernel is one pass over the elements of a kind, computing the figures
that the certificate's definition (see :class:`KKTCertificate`) spells out
with numpy: a cold solve of a small network otherwise spends more time in
those fifty array operations than in its own equality QPs. Non-finite input
needs no care here: the certificate reports it through ``finite``.
"""

import numpy as np
from numba import njit

from ..config import NUMBA_OPTIONS


@njit(**NUMBA_OPTIONS)
def add_currents(p, n, current, v, net_out, gross, near):
    """Accumulate element currents at their terminals.

    Per node: the net current out (``net_out``), the sum of ``|I|``
    (``gross``) and the largest ``|v|`` over the node and the nodes it shares
    an element with (``near``, which starts as ``|v|``).
    """
    for t in range(p.shape[0]):
        a, b, i = p[t], n[t], current[t]
        net_out[a] += i
        net_out[b] -= i
        gross[a] += abs(i)
        gross[b] += abs(i)
        near[a] = max(near[a], abs(v[b]))
        near[b] = max(near[b], abs(v[a]))


@njit(**NUMBA_OPTIONS)
def node_scales(near, gross, rp, rn, rg, floor):
    """Each node's current scale: the ``|I|`` meeting there plus its conductance times its voltage scale."""
    conductance = np.zeros(near.shape[0])
    for t in range(rp.shape[0]):
        conductance[rp[t]] += rg[t]
        conductance[rn[t]] += rg[t]
    return gross + conductance * (floor + near)


@njit(**NUMBA_OPTIONS)
def worst_kcl(net_out, scale):
    """``(node, ratio, largest residual)``: the node but ground (index 0) with the largest
    ``|net_out| / scale``; node -1 when ground is the only node."""
    worst, ratio, largest = -1, 0.0, 0.0
    for k in range(1, net_out.shape[0]):
        r = abs(net_out[k])
        relative = r / max(scale[k], 1e-300)
        if worst < 0 or relative > ratio:
            worst, ratio = k, relative
        largest = max(largest, r)
    return worst, ratio, largest


@njit(**NUMBA_OPTIONS)
def source_violation(v, vp, vn, volts, floor):
    """Largest ``|v_p - v_n - V|`` of the voltage sources (V), and relative to each source's voltage scale."""
    largest, relative = 0.0, 0.0
    for t in range(vp.shape[0]):
        off = abs(v[vp[t]] - v[vn[t]] - volts[t])
        largest = max(largest, off)
        relative = max(relative, off / (floor + max(abs(v[vp[t]]), abs(v[vn[t]]))))
    return largest, relative


@njit(**NUMBA_OPTIONS)
def diode_figures(v, dp, dn, theta, current, gross, scale, rounding_per_scale, floor):
    """The diodes' part of the certificate.

    Returns the per-diode current scales ``actual`` (the smaller ``|I|`` sum
    of its ends) and ``rounding`` (``rounding_per_scale`` times the smaller
    node scale), ground (node 0) taking its other end's figures; and the
    largest forward violation (V), it relative to the diode's voltage scale,
    the largest negative current beyond rounding relative to ``actual``,
    the relative complementarity, the smallest current and the largest
    ``|I| * |theta - drop|`` (W).
    """
    nd = dp.shape[0]
    actual = np.empty(nd)
    rounding = np.empty(nd)
    violation = relative_violation = negative = complementarity = power = 0.0
    smallest = np.inf
    for e in range(nd):
        a, b = dp[e], dn[e]
        actual[e] = min(gross[a] if a != 0 else np.inf, gross[b] if b != 0 else np.inf)
        rounding[e] = min(rounding_per_scale * scale[a] if a != 0 else np.inf,
                          rounding_per_scale * scale[b] if b != 0 else np.inf)
        drop = v[a] - v[b]
        volts = floor + max(abs(v[a]), abs(v[b]))
        over = max(drop - theta[e], 0.0)
        violation = max(violation, over)
        relative_violation = max(relative_violation, over / volts)
        i = current[e]
        amps = max(actual[e], 1e-300)
        negative = max(negative, max(-i - rounding[e], 0.0) / amps)
        distance = abs(theta[e] - drop)
        complementarity = max(complementarity, min(max(abs(i) - rounding[e], 0.0) / amps, distance / volts))
        smallest = min(smallest, i)
        power = max(power, abs(i) * distance)
    return actual, rounding, violation, relative_violation, negative, complementarity, smallest, power


@njit(**NUMBA_OPTIONS)
def _all_finite(x):
    for k in range(x.shape[0]):
        if not np.isfinite(x[k]):
            return False
    return True


@njit(**NUMBA_OPTIONS)
def _largest(x, start):
    """``max(start, max(x))`` with NaN propagated, as ``np.max(x, initial=start)``."""
    out = start
    for k in range(x.shape[0]):
        if x[k] > out or x[k] != x[k]:
            out = x[k]
            if out != out:
                return out
    return out


@njit(**NUMBA_OPTIONS)
def local_figures(v, rp, rn, rg, ip, in_, icur, dp, dn, theta, i_dio, vp, vn, volts, i_vs,
                  rounding_per_scale, floor, cluster_step):
    """Every figure of the certificate but its cluster check, in one call.

    Composes the kernels above in the order the certificate's definition uses
    them (resistor, current-source, diode, then voltage-source currents at each
    node). Returns ``(i_res, scale, finite, worst, relative_kcl, largest_kcl,
    source_off, source_relative, diode figures (8, as diode_figures),
    current_scale, voltage_scale, clusters)``; ``clusters`` is False when the
    strengths span a single cluster level (or are not finite), so that the
    cluster check has nothing to add.
    """
    n_nodes = v.shape[0]
    i_res = np.empty(rp.shape[0])
    for t in range(rp.shape[0]):
        i_res[t] = rg[t] * (v[rp[t]] - v[rn[t]])
    finite = (_all_finite(v) and _all_finite(i_res) and _all_finite(icur) and _all_finite(i_dio)
              and _all_finite(i_vs))
    net_out = np.zeros(n_nodes)
    gross = np.zeros(n_nodes)
    near = np.abs(v)
    add_currents(rp, rn, i_res, v, net_out, gross, near)
    add_currents(ip, in_, icur, v, net_out, gross, near)
    add_currents(dp, dn, i_dio, v, net_out, gross, near)
    add_currents(vp, vn, i_vs, v, net_out, gross, near)
    scale = node_scales(near, gross, rp, rn, rg, floor)
    worst, relative_kcl, largest_kcl = worst_kcl(net_out, scale)
    source_off, source_relative = source_violation(v, vp, vn, volts, floor)
    diode = diode_figures(v, dp, dn, theta, i_dio, gross, scale, rounding_per_scale, floor)
    current_scale = max(_largest(scale, 0.0), 1e-300)
    voltage_scale = floor + _largest(np.abs(v), 0.0)
    # the cluster check's first test: the weakest resistor's strength times one step against the largest strength
    clusters = False
    if rg.shape[0]:
        weakest = np.inf
        top = -np.inf
        for t in range(rp.shape[0]):
            strength = rg[t] * max(floor + abs(v[rp[t]]), floor + abs(v[rn[t]]))
            weakest = min(weakest, strength)
            top = max(top, strength) if strength == strength and top == top else np.nan
        top = max(top, _largest(np.abs(icur), 0.0)) if top == top else top
        top = max(top, _largest(np.abs(i_dio), 0.0)) if top == top else top
        top = max(top, _largest(np.abs(i_vs), 0.0)) if top == top else top
        level = weakest * cluster_step
        clusters = np.isfinite(top) and level > 0.0 and level <= top
    return (i_res, scale, finite, worst, relative_kcl, largest_kcl, source_off, source_relative, diode,
            current_scale, voltage_scale, clusters)
