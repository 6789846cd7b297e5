"""The certificate's one-call kernel against the certificate's definition written in numpy.

``local_certificate`` computes its node-by-node figures in one numba call
(:func:`solver.core._certificate.local_figures`). The reference below spells
out the definition of :class:`KKTCertificate` with whole-array numpy
operations; they must agree to rounding on optimal, perturbed and non-finite
answers, and with conductances over many decades (the cluster check's case).
"""

import dataclasses

import numpy as np
import pytest

from solver import solve
from solver.circuits.generators import grid_network, random_network
from solver.config import CURRENT_ROUNDING, VOLTAGE_FLOOR
from solver.core.solution import _cluster_kcl, local_certificate


def reference_figures(arrays, v, currents):
    """Everything but the cluster check, from the definition (see KKTCertificate's docstring)."""
    rp, rn, rg, _ = arrays["resistor"]
    dp, dn, theta, _ = arrays["diode"]
    vp, vn, volts, _ = arrays["vsource"]
    ip, in_, icur, _ = arrays["isource"]
    flows = [(rp, rn, rg * (v[rp] - v[rn])), (ip, in_, icur), (dp, dn, currents["diode"]),
             (vp, vn, currents["vsource"])]
    n = len(v)
    net_out, gross, near, conductance = np.zeros(n), np.zeros(n), np.abs(v), np.zeros(n)
    for p, q, i in flows:
        np.add.at(net_out, p, i)
        np.add.at(net_out, q, -i)
        np.add.at(gross, p, np.abs(i))
        np.add.at(gross, q, np.abs(i))
        np.maximum.at(near, p, np.abs(v[q]))
        np.maximum.at(near, q, np.abs(v[p]))
    np.add.at(conductance, rp, rg)
    np.add.at(conductance, rn, rg)
    scale = gross + conductance * (VOLTAGE_FLOOR + near)
    relative = np.abs(net_out[1:]) / np.maximum(scale[1:], 1e-300)
    finite = all(np.isfinite(x).all() for x in [v] + [i for _, _, i in flows])
    drop = v[dp] - v[dn]
    element_volts = VOLTAGE_FLOOR + np.maximum(np.abs(v[dp]), np.abs(v[dn]))
    source_volts = VOLTAGE_FLOOR + np.maximum(np.abs(v[vp]), np.abs(v[vn]))
    source_off = np.abs(v[vp] - v[vn] - volts)
    over = np.maximum(drop - theta, 0.0)
    ends = lambda x: (np.where(dp != 0, x[dp], np.inf), np.where(dn != 0, x[dn], np.inf))  # noqa: E731
    actual = np.minimum(*ends(gross))
    rounding = np.minimum(*ends(CURRENT_ROUNDING * scale))
    i = currents["diode"]
    amps = np.maximum(actual, 1e-300)
    distance = np.abs(theta - drop)
    complementarity = np.minimum(np.maximum(np.abs(i) - rounding, 0.0) / amps, distance / element_volts)
    top = lambda x: float(np.max(x, initial=0.0))  # noqa: E731
    return dict(
        finite=finite, relative_kcl=top(relative), max_kcl_residual=top(np.abs(net_out[1:])),
        max_constraint_violation=max(top(source_off), top(over)),
        relative_violation=max(top(source_off / source_volts), top(over / element_volts)),
        negative=top(np.maximum(-i - rounding, 0.0) / amps), relative_complementarity=top(complementarity),
        min_diode_current=float(np.min(i, initial=np.inf)), max_complementarity=top(np.abs(i) * distance),
        current_scale=max(top(scale), 1e-300), voltage_scale=VOLTAGE_FLOOR + top(np.abs(v)),
        actual=actual, rounding=rounding, scale=scale,
    )


def _cases(seed):
    rng = np.random.default_rng(seed)
    net = random_network(int(rng.integers(20, 300)), seed=seed) if seed % 3 else grid_network(8, 9, seed=seed)
    if seed % 4 == 0:  # conductances over many decades: strong clusters
        for r in net.elements("resistor")[::3]:
            net.set_value(r.name, r.value * 1e7)
    sol = solve(net, trace=False)
    v, currents = sol.node_voltages, sol.element_currents
    yield net.arrays(), v, currents
    for _ in range(3):
        noisy = {kind: i + rng.normal(size=i.size) * 1e-6 for kind, i in currents.items()}
        yield net.arrays(), v + rng.normal(size=v.size) * 10.0 ** -rng.integers(3, 12), noisy
    bad = v.copy()
    bad[1] = np.nan
    yield net.arrays(), bad, currents


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the reference's arithmetic on the NaN case
@pytest.mark.parametrize("seed", range(24))
def test_certificate_figures_match_the_definition(seed):
    for arrays, v, currents in _cases(seed):
        cert, (actual, rounding) = local_certificate(arrays, v, currents)
        ref = reference_figures(arrays, v, currents)
        assert cert.finite == ref["finite"]
        if not ref["finite"]:
            assert not cert.is_optimal(1e-3)
            continue
        close = lambda a, b: a == pytest.approx(b, rel=1e-12, abs=0.0)  # noqa: E731
        # KCL residuals are differences of large sums: they agree to rounding of the node's scale
        rounding_of_sums = 64 * np.finfo(float).eps
        assert abs(cert.max_kcl_residual - ref["max_kcl_residual"]) <= rounding_of_sums * cert.current_scale
        for name in ("max_constraint_violation", "relative_violation", "relative_complementarity",
                     "min_diode_current", "max_complementarity", "current_scale", "voltage_scale"):
            assert close(getattr(cert, name), ref[name]), name
        np.testing.assert_allclose(actual, ref["actual"], rtol=1e-12)
        np.testing.assert_allclose(rounding, ref["rounding"], rtol=1e-12)
        # the cluster check can only raise the node figures above the per-node ones
        flows = {"resistor": arrays["resistor"][2] * (v[arrays["resistor"][0]] - v[arrays["resistor"][1]]),
                 "isource": arrays["isource"][2], "diode": currents["diode"], "vsource": currents["vsource"]}
        cluster_kcl, _, cluster_negative = _cluster_kcl(arrays, v, flows, CURRENT_ROUNDING * ref["scale"])
        assert abs(cert.relative_kcl - max(ref["relative_kcl"], cluster_kcl)) <= rounding_of_sums
        assert close(cert.relative_negative_current, max(ref["negative"], cluster_negative, 0.0))


def test_mis_sized_input_is_refused():
    net = random_network(30, seed=1)
    sol = solve(net, trace=False)
    with pytest.raises(ValueError, match="voltages must be a vector of"):
        local_certificate(net.arrays(), sol.node_voltages[:-1], sol.element_currents)
    currents = dict(sol.element_currents, diode=sol.element_currents["diode"][:-1])
    with pytest.raises(ValueError, match="diode currents"):
        local_certificate(net.arrays(), sol.node_voltages, currents)
    assert dataclasses.asdict(local_certificate(net.arrays(), sol.node_voltages, sol.element_currents)[0])
