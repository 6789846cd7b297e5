"""solve_batch: many variants of one circuit, against a loop of independent cold solves."""

import numpy as np
import pytest

from explorer.gallery import bridge_rectifier
from solver import InvalidValueError, UnknownElementError, solve, solve_batch

# bridge_rectifier: 5 V through 10 Ohm, four 0.7 V diodes, a 1 kOhm load. Two diodes conduct:
# v(out) = (5 - 1.4) * 1000 / 1010 = 3.564 V, less the microamps of the 1 MOhm leaks.


def tolerance_variants(net, n, seed=0):
    """Resistors within 5 %, thresholds within 20 mV, and the source's sign flipped at random."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        v = {e.name: e.value * rng.uniform(0.95, 1.05) for e in net.elements("resistor")}
        v.update({e.name: 0.7 + rng.uniform(-0.02, 0.02) for e in net.elements("diode")})
        v["Vac"] = 5.0 * rng.choice([-1.0, 1.0])
        out.append(v)
    out.insert(3, {})  # the base circuit itself, after a changed one
    return out


def loop_of_solves(net, variants):
    rows_v, rows_i = [], []
    for variant in variants:
        one = net.copy()
        for name, value in variant.items():
            one.set_value(name, value)
        sol = solve(one)
        assert sol.converged
        rows_v.append([sol.voltages[n] for n in net.nodes])
        rows_i.append(sol.currents)
    return np.array(rows_v), rows_i


def check_equal(batch, net, variants):
    V, currents = loop_of_solves(net, variants)
    assert batch.nodes == list(net.nodes)
    assert batch.converged.all()
    np.testing.assert_allclose(batch.voltages, V, rtol=1e-10, atol=1e-10)
    for row, expected in enumerate(currents):
        for name in batch.elements:
            assert batch.current(name)[row] == pytest.approx(expected[name], rel=1e-8, abs=1e-12)


def test_solve_batch_equals_a_loop_of_solve():
    net = bridge_rectifier()
    variants = tolerance_variants(net, 12)
    batch = solve_batch(net, variants)
    check_equal(batch, net, variants)
    assert batch.voltage("out")[3] == pytest.approx(3.6 * 1000 / 1010, rel=1e-4)  # hand value
    assert len(net.elements()) == len(batch.elements)
    assert net.element("Rs").value == pytest.approx(0.1)  # the base network is untouched


def test_solve_batch_on_a_dask_cluster_equals_a_loop_of_solve():
    distributed = pytest.importorskip("distributed")
    net = bridge_rectifier()
    variants = tolerance_variants(net, 10, seed=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        batch = solve_batch(net, variants, client, chunk_size=3)
    check_equal(batch, net, variants)


def test_solve_batch_rejects_bad_variants():
    net = bridge_rectifier()
    with pytest.raises(UnknownElementError, match="variant 1"):
        solve_batch(net, [{}, {"R99": 1.0}])
    with pytest.raises(InvalidValueError, match="variant 0"):
        solve_batch(net, [{"Rload": -1.0}])
    with pytest.raises(TypeError, match="variant 0 must be a dict"):
        solve_batch(net, [("Rload", 1.0)])
    with pytest.raises(TypeError, match="sequence of"):
        solve_batch(net, {"Rload": 1.0})
    with pytest.raises(ValueError, match="chunk_size"):
        solve_batch(net, [{}], chunk_size=0)
    with pytest.raises(ValueError, match="no node 'nowhere'"):
        solve_batch(net, [{}]).voltage("nowhere")
