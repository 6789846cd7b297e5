"""Coordinate descent stepped by hand is public API of solver, and the explorer uses only public names."""

import ast
import pathlib

import pytest

from solver import CoordinateDescent, Network, solve

ROOT = pathlib.Path(__file__).resolve().parents[1]


def cd_stall():
    """1 V source, R1 = 1 Ω to a, ideal diode a -> b, R2 = 1 Ω to ground.

    Exact: the diode conducts, a = b = 0.5 V, E* = 2 * (0.5^2 / 2) = 0.25 W.
    From zero, a is clipped by the diode at b = 0 and b stays 0: descent
    stalls with E = 1^2 / 2 = 0.5 W, a gap of 0.25 W.
    """
    net = Network()
    net.add_voltage_source("s", "0", 1.0)
    net.add_resistor("s", "a", resistance=1.0)
    net.add_diode("a", "b")
    net.add_resistor("b", "0", resistance=1.0)
    return net


def test_stall_is_detected_with_the_hand_worked_gap():
    cd = CoordinateDescent(cd_stall())
    assert cd.optimum == pytest.approx(0.25)
    cd.step_sweep()
    cd.step_sweep()
    assert cd.stalled and not cd.converged and cd.finished
    assert cd.energy_gap[-1] == pytest.approx(0.25)
    assert cd.voltages() == pytest.approx({"0": 0.0, "s": 1.0, "a": 0.0, "b": 0.0})


def test_divider_converges_in_one_sweep_to_the_hand_answer():
    net = Network()
    net.add_voltage_source("in", "0", 10.0)
    net.add_resistor("in", "mid", resistance=1000.0)
    net.add_resistor("mid", "0", resistance=3000.0)
    cd = CoordinateDescent(net)
    assert not cd.finished
    cd.step_sweep()
    assert cd.converged and cd.finished
    assert cd.node_voltages[net.nodes.index("mid")] == pytest.approx(7.5)  # 10 * 3k / 4k


def test_bad_start_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="'zero', 'random'"):
        CoordinateDescent(cd_stall(), start="ones")


def test_steps_match_solve_with_max_sweeps():
    net = cd_stall()
    net.add_resistor("a", "0", resistance=3.0)
    cd = CoordinateDescent(net, start="random", seed=4)
    reference = solve(net, method="cd", max_sweeps=2, warm_start=dict(zip(net.nodes, CoordinateDescent(
        net, start="random", seed=4).node_voltages)))
    cd.step_sweep()
    cd.step_sweep()
    assert cd.voltages() == pytest.approx(reference.voltages, abs=1e-9)


def test_explorer_imports_no_private_solver_name():
    for path in sorted((ROOT / "explorer").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "solver":
                assert not any(part.startswith("_") for part in node.module.split(".")), (path.name, node.module)
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports private {private} from {node.module}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not any(p.startswith("_") for p in alias.name.split(".")[1:]), (path.name, alias.name)
