"""The solver against circuits solved by hand (tests/circuits.py)."""

import math

import numpy as np
import pytest

from solver import solve

from .circuits import ANALYTIC
from .reference import brute_force_solve


@pytest.mark.parametrize("name", sorted(ANALYTIC))
def test_analytic_circuit(name):
    net, volts, currents = ANALYTIC[name]()
    sol = solve(net)
    assert sol.converged
    for node, expected in volts.items():
        assert sol.voltages[node] == pytest.approx(expected, abs=1e-9), node
    for element, expected in currents.items():
        assert sol.currents[element] == pytest.approx(expected, abs=1e-12), element
    assert sol.kkt.is_optimal(1e-9)


@pytest.mark.parametrize("name", sorted(ANALYTIC))
def test_analytic_circuit_matches_brute_force(name):
    net, _, _ = ANALYTIC[name]()
    volts, _ = brute_force_solve(net)
    sol = solve(net)
    for node, v in volts.items():
        assert sol.voltages[node] == pytest.approx(v, abs=1e-9), node


def test_stall_is_real_for_plain_coordinate_descent():
    net, volts, _ = ANALYTIC["stall"]()
    plain = solve(net, method="cd", max_sweeps=1000)
    assert not plain.converged
    assert plain.voltages["a"] == 0.0 and plain.voltages["b"] == 0.0
    assert plain.kkt.max_kcl_residual == pytest.approx(1.0)  # 1 A unbalanced at a
    exact = solve(net)
    assert exact.voltages["a"] == pytest.approx(0.5, abs=1e-12)
    assert exact.active_diodes == ["D1"]


def test_active_diodes_and_power_of_clipper():
    net, volts, currents = ANALYTIC["clipper_on"]()
    sol = solve(net)
    assert sol.active_diodes == ["D1"]
    # dissipation: R1 carries 4.3 mA over 4.3 V, RL 0.7 mA over 0.7 V, D1 3.6 mA over 0.7 V
    expected = 4.3 * 4.3e-3 + 0.7 * 0.7e-3 + 0.7 * 3.6e-3
    assert sol.power == pytest.approx(expected, rel=1e-12)
    # the source delivers exactly what is dissipated (Tellegen)
    assert -sol.element_power("V1") == pytest.approx(expected, rel=1e-12)


def test_blocking_diodes_are_not_active():
    net, _, _ = ANALYTIC["bridge_positive"]()
    sol = solve(net)
    assert sorted(sol.active_diodes) == ["D1", "D4"]
    assert sol.currents["D2"] == pytest.approx(0.0, abs=1e-15)
    assert sol.currents["D3"] == pytest.approx(0.0, abs=1e-15)


def test_energy_trace_decreases_and_ends_at_optimum():
    net, _, _ = ANALYTIC["diode_chain"]()
    sol = solve(net, cd_sweeps=20)
    energy = sol.trace["energy"]
    assert len(energy) == len(sol.trace["max_kcl_residual"]) == len(sol.trace["phase"])
    sweeps = energy[sol.trace["phase"] == 0]
    assert np.all(np.diff(sweeps) <= 1e-15 * (1 + np.abs(sweeps[:-1])))
    assert energy[-1] >= sol.energy - 1e-12 * (1 + abs(sol.energy))
    # E at the optimum, by hand: half the resistor dissipation (no current sources)
    r_power = (5 - 2.1) ** 2 / 1e3 + 1.4 ** 2 / 1e3 + 0.7 ** 2 / 1e3
    assert sol.energy == pytest.approx(r_power / 2, rel=1e-12)


def test_warm_start_after_small_change_agrees_with_cold_solve():
    net, _, _ = ANALYTIC["wheatstone_unbalanced"]()
    first = solve(net)
    net.set_value("R5", resistance=2e3)
    warm = solve(net, warm_start=first)
    cold = solve(net)
    for node in cold.voltages:
        assert warm.voltages[node] == pytest.approx(cold.voltages[node], abs=1e-12)
    # by hand with R5 = 2k: I5 = 2 / (2/3 + 3/2 + 2) k = 12/25 mA
    assert warm.currents["R5"] == pytest.approx(12 / 25 * 1e-3, rel=1e-10)


def test_warm_start_from_voltage_dict():
    net, volts, _ = ANALYTIC["diode_chain"]()
    sol = solve(net, warm_start={"a": 2.0, "b": 1.0, "c": 0.5, "nonexistent": 3.0})
    for node, expected in volts.items():
        assert sol.voltages[node] == pytest.approx(expected, abs=1e-9)


def test_current_conventions_follow_spice():
    net, _, _ = ANALYTIC["floating_source"]()
    sol = solve(net)
    assert sol.currents["V1"] == pytest.approx(-1e-3)
    assert math.isclose(sol.voltages["0"], 0.0)
