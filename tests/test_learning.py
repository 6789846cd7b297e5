"""Equilibrium propagation and coupled learning against finite differences of the cost."""

import numpy as np
import pytest

from solver import Network, NetworkError, solve
from solver.learning.circuit_learner import Learner, encode_inputs, layered_network, resistor_drops


def tiny_network():
    """Two inputs, two free nodes, one output, and two diodes (one between free nodes).

    x1 (1 V) -R1- a -R2- out -R3- 0 ; x2 (-0.5 V) -R4- b -R5- out ; a -R6- 0 ;
    diode a -> b (conducts: a sits well above b) and diode out -> 0 with 0.25 V
    threshold (clips the output). Both diodes conduct at these values, and keep
    conducting under the small perturbations of the tests.
    """
    net = Network()
    net.add_voltage_source("x1", "0", 1.0, name="V1")
    net.add_voltage_source("x2", "0", -0.5, name="V2")
    net.add_resistor("x1", "a", conductance=2.0, name="R1")
    net.add_resistor("a", "out", conductance=0.7, name="R2")
    net.add_resistor("out", "0", conductance=0.3, name="R3")
    net.add_resistor("x2", "b", conductance=1.1, name="R4")
    net.add_resistor("b", "out", conductance=0.4, name="R5")
    net.add_resistor("a", "0", conductance=0.5, name="R6")
    net.add_diode("a", "b", 0.1, name="D1")
    net.add_diode("out", "0", 0.25, name="D2")
    return net


def linear_network():
    """Same as tiny_network without the output clipping diode (so the output moves with g)."""
    net = tiny_network()
    net.remove_element("D2")
    return net


def fd_cost_gradient(net, inputs, x, outputs, y, names, rel=1e-6):
    """Central finite differences of C = 1/2 sum (v_o - y_o)^2 at the free state."""
    def cost(n):
        for name, value in zip(inputs, x):
            n.set_value(name, float(value))
        v = solve(n, tol=1e-13).voltages
        return 0.5 * sum((v[o] - t) ** 2 for o, t in zip(outputs, y))

    grad = []
    for name in names:
        g = net.element(name).value
        h = rel * g
        up, down = net.copy(), net.copy()
        up.set_value(name, g + h)
        down.set_value(name, g - h)
        grad.append((cost(up) - cost(down)) / (2 * h))
    return np.array(grad)


@pytest.mark.parametrize("nudge, centered, beta, rtol", [
    ("resistor", False, 1e-6, 1e-4),
    ("current", False, 1e-6, 1e-4),
    ("current", True, 1e-4, 1e-6),
])
def test_ep_gradient_matches_finite_differences(nudge, centered, beta, rtol):
    net = linear_network()
    names = ["R1", "R2", "R3", "R4", "R5", "R6"]
    x, y = [1.0, -0.5], [0.6]
    fd = fd_cost_gradient(net.copy(), ["V1", "V2"], x, ["out"], y, names)
    learner = Learner(net, ["V1", "V2"], ["out"], names, beta=beta, nudge=nudge, centered=centered)
    grad, cost = learner.gradient(x, y)
    v = solve(net).voltages
    assert cost == pytest.approx(0.5 * (v["out"] - 0.6) ** 2, rel=1e-9)
    assert np.abs(fd).max() > 1e-3  # the test is not vacuous
    np.testing.assert_allclose(grad, fd, rtol=rtol, atol=rtol * np.abs(fd).max())


def test_ep_gradient_with_conducting_diodes():
    """Two outputs, the diode between free nodes conducting: still the exact gradient."""
    net = linear_network()
    assert "D1" in solve(net).active_diodes
    names = [e.name for e in net.elements("resistor")]
    x, y = [0.8, -0.3], [0.1, -0.2]
    fd = fd_cost_gradient(net.copy(), ["V1", "V2"], x, ["out", "b"], y, names)
    learner = Learner(net, ["V1", "V2"], ["out", "b"], beta=1e-7)
    grad, _ = learner.gradient(x, y)
    np.testing.assert_allclose(grad, fd, rtol=1e-4, atol=1e-6 * np.abs(fd).max())


def test_ep_gradient_is_zero_where_the_clipping_diode_holds_the_output():
    """With D2 clamping the output at 0.25 V, no conductance changes the output."""
    net = tiny_network()
    sol = solve(net)
    assert sol.voltages["out"] == pytest.approx(0.25)
    learner = Learner(net, ["V1", "V2"], ["out"], beta=1e-6)
    grad, cost = learner.gradient([1.0, -0.5], [0.1])
    assert cost == pytest.approx(0.5 * 0.15 ** 2)
    np.testing.assert_allclose(grad, 0.0, atol=1e-8)
    # ...yet a target above the clip releases the diode and gives a gradient again
    fd = fd_cost_gradient(net.copy(), ["V1", "V2"], [1.0, -0.5], ["out"], [0.1],
                          learner.trainable)
    np.testing.assert_allclose(fd, 0.0, atol=1e-7)


def test_coupled_learning_is_output_conductance_times_gradient():
    """One output, eta -> 0: CL's update is H * dC/dg, H the conductance seen from the output.

    Clamping the output by delta moves the network like injecting H * delta; EP
    injects beta * (y - v): so CL/eta -> H * (EP gradient). H comes from an
    independent test: inject 1 mA into the output, measure the voltage rise.
    """
    net = linear_network()
    names = [e.name for e in net.elements("resistor")]
    x, y = [1.0, -0.5], [0.6]
    fd = fd_cost_gradient(net.copy(), ["V1", "V2"], x, ["out"], y, names)
    probe = net.copy()
    v0 = solve(probe).voltages["out"]
    probe.add_current_source("0", "out", 1e-3)
    H = 1e-3 / (solve(probe).voltages["out"] - v0)
    learner = Learner(net, ["V1", "V2"], ["out"], algorithm="cl", eta=1e-5)
    grad, _ = learner.gradient(x, y)
    np.testing.assert_allclose(grad, H * fd, rtol=1e-3, atol=1e-5 * np.abs(fd).max())


def test_coupled_learning_rule_is_the_squared_drop_difference():
    net = linear_network()
    learner = Learner(net, ["V1", "V2"], ["out"], algorithm="cl", eta=0.5)
    x, y = [1.0, -0.5], [0.6]
    grad, _, free, clamped = learner.gradient(x, y, return_states=True)
    vf = free.voltages["out"]
    assert clamped.voltages["out"] == pytest.approx(vf + 0.5 * (0.6 - vf))
    # independent clamped state: a fresh copy with a source on the output
    ref = net.copy()
    ref.add_voltage_source("out", "0", vf + 0.5 * (0.6 - vf))
    ref_sol = solve(ref)
    names = learner.trainable
    expected = (resistor_drops(ref, ref_sol, names) ** 2 - resistor_drops(net, free, names) ** 2) / (2 * 0.5)
    np.testing.assert_allclose(grad, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("algorithm", ["ep", "cl"])
def test_training_lowers_the_cost_and_clips_weights(algorithm):
    net = linear_network()
    learner = Learner(net, ["V1", "V2"], ["out"], algorithm=algorithm, beta=1e-3, eta=0.3,
                      lr_weights=3.0,
                      g_min=0.05, g_max=3.0)
    X = np.array([[1.0, -0.5], [0.2, 0.4], [-0.6, 0.1]])
    Y = np.array([[0.5], [0.05], [-0.2]])
    before = learner.cost(X, Y)
    for _ in range(60):
        record = learner.step(X, Y)
    after = learner.cost(X, Y)
    assert after < 0.5 * before
    assert np.all(learner.weights >= 0.05) and np.all(learner.weights <= 3.0)
    assert record.update.shape == (len(learner.trainable),)


def test_ep_learns_xor_on_a_layered_network():
    net, inputs, outputs, layers = layered_network(2, [4], 1, seed=1)
    X = encode_inputs([[0, 0], [0, 1], [1, 0], [1, 1]])
    Y = np.array([[-0.1], [0.1], [0.1], [-0.1]])
    learner = Learner(net, inputs, outputs, beta=1e-2, lr_weights=0.5)
    before = learner.cost(X, Y)
    for _ in range(150):
        learner.step(X, Y)
    pred = learner.predict(X)
    assert learner.cost(X, Y) < 0.6 * before
    np.testing.assert_array_equal(np.sign(pred), np.sign(Y))
    assert len(layers) == 3 and len(inputs) == 4


def test_learner_validates_its_settings():
    net = linear_network()
    with pytest.raises(NetworkError, match="voltage source"):
        Learner(net, ["R1"], ["out"])
    with pytest.raises(NetworkError, match="not in the network"):
        Learner(net, ["V1"], ["nowhere"])
    with pytest.raises(NetworkError, match="centered"):
        Learner(net, ["V1"], ["out"], centered=True, nudge="resistor")
    with pytest.raises(NetworkError, match="eta"):
        Learner(net, ["V1"], ["out"], algorithm="cl", eta=0.0)
    with pytest.raises(NetworkError, match=r"algorithm must be one of \('ep', 'cl'\)"):
        Learner(net, ["V1"], ["out"], algorithm="bp")
    learner = Learner(net, ["V1", "V2"], ["out"])
    with pytest.raises(NetworkError, match="targets"):
        learner.gradient([1.0, 0.0], [0.1, 0.2])


def test_old_keywords_rule_and_lr_still_work_with_a_warning():
    """``rule``/``lr`` became ``algorithm``/``lr_weights`` (the Trainer's names); the old ones stay."""
    net = linear_network()
    with pytest.warns(DeprecationWarning, match="is now Learner"):
        old = Learner(net.copy(), ["V1", "V2"], ["out"], rule="cl", lr=2.0)
    assert (old.algorithm, old.lr_weights) == ("cl", 2.0)
    old.rule, old.lr = "ep", 0.5  # attribute aliases write the new names
    assert (old.algorithm, old.lr_weights) == ("ep", 0.5)
    new = Learner(net.copy(), ["V1", "V2"], ["out"], algorithm="ep", lr_weights=0.5)
    X, Y = np.array([[1.0, -0.5]]), np.array([[0.6]])
    np.testing.assert_array_equal(old.step(X, Y).update, new.step(X, Y).update)


def test_inputs_are_encoded_as_in_a_drn():
    """The paper's cat(x, -x), written out by hand, in both builders."""
    from solver.learning.drn import DRN

    X = np.array([[0.25, 1.0, 0.5], [0.0, 0.75, 1.0]])
    by_hand = np.array([[0.25, 1.0, 0.5, -0.25, -1.0, -0.5], [0.0, 0.75, 1.0, -0.0, -0.75, -1.0]])
    np.testing.assert_array_equal(encode_inputs(X), by_hand)
    drn = DRN([6, 2, 1], input_gain=1.0, seed=0, dtype=np.float64)
    np.testing.assert_array_equal(drn.input_voltages(X), by_hand)
    net, inputs, _, _ = layered_network(3, [2], 1)
    assert inputs == ["Vi0p", "Vi1p", "Vi2p", "Vi0n", "Vi1n", "Vi2n"]
    for name in inputs:  # each source sits on the node its name says
        assert net.element(name).p == "x" + name[2:]
