"""solve's argument errors (issue 14 item 3, issue 13 item 4) and the warm-start structure."""

import numpy as np
import pytest

from solver import Network, Solution, solve
from solver.config import MAX_SWEEPS_LIMIT
from solver.core.solution import WarmStart

from .circuits import ANALYTIC


def small():
    return ANALYTIC["stall"]()[0]


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(method="cd", max_sweeps=10**9), ValueError, f"0..{MAX_SWEEPS_LIMIT:,}"),
    (dict(max_sweeps=-1), ValueError, "max_sweeps"),
    (dict(max_sweeps=float("nan")), TypeError, "max_sweeps must be an int"),
    (dict(max_sweeps=2.5), TypeError, "max_sweeps must be an int"),
    (dict(cd_sweeps=2.5), TypeError, "cd_sweeps must be an int"),
    (dict(cd_sweeps=True), TypeError, "cd_sweeps must be an int"),
    (dict(cd_sweeps=10**12), ValueError, "cd_sweeps"),
    (dict(tol="1e-9"), TypeError, "tol must be a real number"),
    (dict(tol=None), TypeError, "tol must be a real number"),
    (dict(tol=float("nan")), ValueError, r"tol must lie in \(0, 1\)"),
    (dict(tol=0.0), ValueError, r"tol must lie in \(0, 1\)"),
    (dict(tol=-1e-9), ValueError, r"tol must lie in \(0, 1\)"),
    (dict(method="newton"), ValueError, r"method must be one of \('auto', 'cd'\)"),
    (dict(method=None), ValueError, r"method must be one of"),
    (dict(trace="yes"), TypeError, "trace must be True or False"),
    (dict(warm_start={"b": "x"}), TypeError, r"warm_start\['b'\] must be a voltage"),
    (dict(warm_start={"b": float("nan")}), ValueError, r"warm_start\['b'\] must be finite"),
    (dict(warm_start={"b": 10**400}), ValueError, r"warm_start\['b'\] must be finite"),
    (dict(warm_start=[0.5]), TypeError, "warm_start must be None, a Solution or a"),
])
def test_bad_arguments_name_the_argument_and_accepted_values(kwargs, error, words):
    with pytest.raises(error, match=words):
        solve(small(), **kwargs)


def test_argument_errors_are_not_network_errors():
    """Problems of the *call* are TypeError/ValueError, not the NetworkError family."""
    from solver import NetworkError
    with pytest.raises(ValueError) as info:
        solve(small(), method="newton")
    assert not isinstance(info.value, NetworkError)


def test_numpy_integers_and_floats_are_accepted():
    sol = solve(small(), tol=np.float64(1e-9), max_sweeps=np.int64(50), cd_sweeps=np.int32(4))
    assert sol.converged


def test_max_sweeps_limit_is_accepted_without_allocating_per_requested_sweep():
    # cd stops when the steps vanish; the trace is sized by the limit, which MAX_SWEEPS_LIMIT bounds
    sol = solve(small(), method="cd", max_sweeps=MAX_SWEEPS_LIMIT, trace=False)
    assert sol.sweeps < MAX_SWEEPS_LIMIT


def test_warm_start_is_a_named_structure():
    net = small()
    first = solve(net)
    assert isinstance(first.warm, WarmStart)
    assert first.warm.working_set.dtype == bool
    assert first.nodes == net.nodes and first.names("diode") == ["D1"]
    net.set_value("R1", 2.0)
    again = solve(net, warm_start=first)
    assert again.converged and isinstance(again, Solution)
    # the warm path is the cold answer: R1 = 0.5 ohm, R2 = 1 ohm, 1 V: a = b = 1 * 1 / 1.5
    assert again.voltages["a"] == pytest.approx(2 / 3, abs=1e-12)


def test_network_versions_are_public():
    net = Network()
    s0, v0 = net.structure_version, net.value_version
    net.add_resistor("a", "0", 1.0, name="R1")
    assert net.structure_version > s0 and net.value_version > v0
    s1, v1 = net.structure_version, net.value_version
    net.set_value("R1", 2.0)
    assert net.structure_version == s1 and net.value_version > v1
