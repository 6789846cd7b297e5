"""What a session builds when it opens, and what a large circuit sends to its drop-downs.

A session's start-up is the building of its Bokeh models (issue 13: twenty sessions opened at once
took minutes on two cores), so the tabs a session has not shown are not built; they must still
appear, and work, the moment they are shown.
"""

from __future__ import annotations

import numpy as np
import pytest
from bokeh.document import Document

from solver import Network


def _models_named(root, name):
    return [m for m in root.references() if getattr(m, "name", None) == name]


def test_opening_a_session_builds_neither_the_sweep_nor_the_learning_tab():
    from explorer.circuit_explorer import CircuitExplorer

    explorer = CircuitExplorer("divider")
    root = explorer.main().get_root(Document())
    assert explorer._sweep_view is None and explorer._learning_view is None
    assert _models_named(root, "sweep-figure") == []


def test_the_sweep_tab_is_built_when_shown_and_sweeps_the_circuit_shown():
    from explorer.circuit_explorer import CircuitExplorer

    explorer = CircuitExplorer("divider", learning=False)
    tabs = explorer.main()
    root = tabs.get_root(Document())
    explorer.store.set_element_value("R2", 1000.0)  # an edit made before the tab is first shown
    tabs.active = explorer._tab_names.index("Sweep")
    assert explorer._sweep_view is not None
    assert len(_models_named(root, "sweep-figure")) == 1  # now in the page
    view = explorer.sweep_view
    source = next(e.name for e in explorer.store.network.elements() if e.kind == "vsource")
    view.element.value = source
    view.quantities.value = ["v(mid)"]
    view.start.value, view.stop.value = 0.0, 10.0
    view.run()
    x = np.asarray(view.samples.data["x"], dtype=float)
    y = np.asarray(view.samples.data["y"], dtype=float)
    assert len(x) >= 2
    # R1 = 1 k and R2 = 1 k (the edit above): mid is half the source's voltage
    np.testing.assert_allclose(y, x / 2, rtol=0, atol=1e-12)


def ladder(rungs):
    net = Network()
    net.add_voltage_source("n0", "0", 1.0, name="V1")
    for k in range(rungs):
        net.add_resistor(f"n{k}", f"n{k + 1}", resistance=1e3, name=f"R{k}")
        net.add_resistor(f"n{k + 1}", "0", resistance=1e4, name=f"Rg{k}")
    return net


def test_a_large_circuit_lists_the_first_elements_and_those_in_use():
    from explorer.panels import LISTED_LIMIT, EditorPanel
    from explorer.state import CircuitStore

    store = CircuitStore(ladder(2000), title="ladder")
    editor = EditorPanel(store=store)
    assert len(editor.element_select.options) == LISTED_LIMIT
    far = "Rg1999"  # far past the listed ones
    store.select_element(far)
    assert editor.element_select.value == far and far in editor.element_select.options
    assert len(editor.element_select.options) == LISTED_LIMIT + 1
    for node in ("n1999", "n2000"):
        store.pick_node(node)
    assert (editor.from_select.value, editor.to_select.value) == ("n1999", "n2000")
    assert {"n1999", "n2000"} <= set(editor.to_select.options.values())


@pytest.mark.parametrize("rungs", [3, 100])
def test_a_small_circuit_lists_everything(rungs):
    from explorer.panels import EditorPanel
    from explorer.state import CircuitStore

    net = ladder(rungs)
    editor = EditorPanel(store=CircuitStore(net, title="ladder"))
    assert list(editor.element_select.options) == [e.name for e in net.elements()]
    assert set(net.nodes) <= set(editor.from_select.options.values())
