"""The primal-dual step's one-kernel decision against the same figures in numpy.

``working_set_changes`` must flag exactly the diodes that the solver's
``diode_volts`` / ``diode_amps`` figures flag: violated ones off the working
set, negative currents in it, on random points of compiled random networks
(near and far from the thresholds, with and without a NaN).
"""

import importlib

import numpy as np
import pytest

from solver.circuits.generators import random_network
from solver.config import CURRENT_ROUNDING, VOLTAGE_FLOOR
from solver.core import _kernels as K
from solver.core.compiled import compile_network

solve_module = importlib.import_module("solver.core.solve")


def _case(seed):
    rng = np.random.default_rng(seed)
    cn = compile_network(random_network(int(rng.integers(20, 400)), seed=seed))
    s = cn.structure
    state = solve_module._State(cn, False)
    u = rng.normal(size=s.m + 1) * 10.0 ** rng.integers(-3, 3)
    u[s.m] = 0.0
    if seed % 2:  # points on the thresholds, within and beyond rounding
        for e in np.flatnonzero(rng.random(len(s.da)) < 0.5):
            if s.da[e] < s.m:
                u[s.da[e]] = u[s.dc[e]] + cn.db[e] + rng.normal() * 1e-12
    lam = rng.normal(size=len(s.da)) * 10.0 ** -rng.integers(0, 14, len(s.da))
    if seed % 5 == 0:
        lam[0] = np.nan
    in_w = rng.random(len(s.da)) < 0.5
    tol = float(10.0 ** -rng.integers(6, 12))
    violated, negative, changed = K.working_set_changes(
        u, lam, in_w, s.da, s.dc, cn.db, s.indptr, s.nbr, cn.g, cn.c, cn.f, cn.gsum, s.dptr, s.d_inc,
        tol, VOLTAGE_FLOOR, CURRENT_ROUNDING)
    slack = cn.db - (u[s.da] - u[s.dc])
    expected_violated = ~in_w & (slack < -tol * state.diode_volts(u))
    expected_negative = in_w & (lam < state.diode_amps(u, lam, tol))
    return (violated, negative, changed), (expected_violated, expected_negative)


@pytest.mark.parametrize("seed", range(40))
def test_working_set_changes_match_the_numpy_figures(seed):
    (violated, negative, changed), (expected_violated, expected_negative) = _case(seed)
    assert np.array_equal(violated, expected_violated)
    assert np.array_equal(negative, expected_negative)
    assert changed == bool(expected_violated.any() or expected_negative.any())


def test_the_cases_hold_both_kinds_of_change():
    flagged = [_case(seed)[1] for seed in range(40)]
    assert sum(int(v.sum()) for v, _ in flagged) > 0 and sum(int(n.sum()) for _, n in flagged) > 0
    assert any(not (v.any() or n.any()) for v, n in flagged)  # and points where nothing changes
