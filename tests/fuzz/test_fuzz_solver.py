"""Fuzzing the solver's certificate: no certified-but-wrong answer, no undocumented exception.

Every draw is solved and, when ``converged`` is True, compared with the
60-digit mpmath reference of :mod:`tests.exact_reference`. An unconverged
answer is allowed (float64 may not permit better); a certified wrong one is
not. The only exceptions allowed are the NetworkError family. CI runs a few
hundred draws; ``HYPOTHESIS_PROFILE=dev`` with ``FUZZ_EXAMPLES=5000`` runs more.
"""

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from solver import NetworkError, solve

from ..exact_reference import exact_solve
from ..hostile_networks import degenerate_cycles, wide_mesh

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))


def check(net, tol=1e-10, allowed=1e-8):
    """Solve net; a certified answer must be within ``allowed`` (relative to 1 V + max |v|) of exact."""
    try:
        sol = solve(net, tol=tol)
    except NetworkError:
        return None
    if not sol.converged:
        return False
    exact, _ = exact_solve(net, sol.active_diodes)
    scale = 1.0 + max(abs(float(x)) for x in exact.values())
    error = max(abs(sol.voltages[k] - float(x)) for k, x in exact.items())
    assert error <= allowed * scale, f"certified but off by {error:.3g} V (scale {scale:.3g} V)"
    return True


@settings(max_examples=EXAMPLES)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 14), low=st.floats(-12, 0), width=st.floats(0, 24),
       n_diodes=st.integers(0, 6), exponent=st.floats(-3, 15))
def test_wide_spans_and_huge_sources_are_never_certified_wrong(seed, n, low, width, n_diodes, exponent):
    check(wide_mesh(seed, n=n, low=low, high=min(low + width, 12.0), n_diodes=n_diodes,
                    source_exponent=exponent))


@settings(max_examples=EXAMPLES)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 8))
def test_nearly_degenerate_cycles_are_never_certified_wrong(seed, n):
    # converging on them is tested on fixed seeds in test_certificate_regressions (about 1 draw
    # in 150 still ends unconverged after the primal method's iteration limit)
    check(degenerate_cycles(seed, n=n), allowed=1e-9)
