"""The explorer's state: one circuit, its last valid solution, the edit history.

:class:`CircuitStore` holds everything the views show, apart from the views.
Every edit goes through it: the edit is applied, the network re-solved at once
(warm-started from the last solution) and ``version`` bumped so that views
repaint. Errors never lose the picture:

* an edit the network itself refuses (negative resistance, duplicate name...)
  is not applied; ``error`` says why;
* an edit that leaves no valid steady state (a floating node, a voltage loop,
  an infeasible set of diodes) *is* applied, so it can be fixed or undone, but
  ``solution`` stays the last valid one, ``stale`` is True and ``error`` holds
  the solver's message.

Nodes that no element touches yet (just added, waiting to be wired) are left
out of the solve rather than reported as floating.
"""

from __future__ import annotations

import time

import numpy as np
import param

from solver import Network, NetworkError, Solution, solve
from solver.core.network import KINDS

from . import gallery
from .layout import ensure_layout  # layered, linear cost; kept importable from here
from .units import UNITS, from_user_value, si, user_value

__all__ = ["CircuitStore", "NEW_NODE", "ensure_layout"]

#: Choice in the endpoint selects meaning "create a fresh node".
NEW_NODE = "(new node)"

#: Networks with more nodes than this are re-solved on slider release only.
BIG_NETWORK = 1500

#: Networks with more nodes than this open with the values not written on the circuit.
LABELLED_NETWORK = 30


def _positions(net):
    return {n: (net.node_attributes(n).get("x"), net.node_attributes(n).get("y")) for n in net.nodes}


def _wired(net):
    """The network without nodes that no element touches (they cannot be solved yet)."""
    used = {node for e in net.elements() for node in (e.p, e.n)}
    lonely = [n for n in net.nodes if n not in used and n != "0"]
    if not lonely:
        return net
    wired = net.copy()
    for node in lonely:
        wired.remove_node(node)
    return wired


class CircuitStore(param.Parameterized):
    """State of the explorer: the circuit, its last valid solution, settings and history.

    Examples
    --------
    >>> from explorer import CircuitStore
    >>> store = CircuitStore.from_example("divider")
    >>> round(store.solution.voltages["mid"], 6)
    7.5
    >>> store.set_element_value("R2", 1000.0)   # ohms
    True
    >>> round(store.solution.voltages["mid"], 6)
    5.0
    >>> store.undo()
    True
    >>> round(store.solution.voltages["mid"], 6)
    7.5
    """

    network = param.ClassSelector(class_=Network, doc="The circuit being explored (always the latest edit).")
    solution = param.ClassSelector(class_=Solution, allow_None=True,
                                   doc="Last valid steady state (from an earlier network when stale).")
    title = param.String(default="untitled", doc="Name of the circuit (example or file name).")
    error = param.String(default="", doc="Message of the last failed edit or solve; empty when all is well.")
    stale = param.Boolean(default=False, doc="True when the shown solution belongs to an earlier network.")
    status = param.String(default="", doc="One-line summary of the last solve.")
    selected_element = param.String(default="", doc="Element shown in the editor.")
    selected_node = param.Parameter(default="", doc="Last node picked on the circuit (a node name).")
    picked_nodes = param.List(default=[], doc="Up to two nodes picked by tapping: endpoints of a new element.")
    show_values = param.Boolean(default=True, doc="Write values, voltages and currents on the circuit.")
    color_by = param.Selector(default="potential", objects=["potential", "power", "update"],
                              doc="Colour nodes by potential, elements by dissipated power, or "
                                  "elements by the sign and size of ``edge_overlay`` (weight updates).")
    edge_overlay = param.Dict(default=None, allow_None=True,
                              doc="Element name -> signed number shown in the 'update' colouring.")
    preview = param.Dict(default=None, allow_None=True,
                         doc="Node voltages to paint instead of the solution (step mode), with a 'label'.")
    version = param.Integer(default=0, doc="Bumped after every change of network or solution.")
    layout_version = param.Integer(default=0, doc="Bumped when node positions change.")
    can_undo = param.Boolean(default=False)
    can_redo = param.Boolean(default=False)
    max_history = param.Integer(default=200, bounds=(1, None))
    solve_seconds = param.Number(default=0.0)

    def __init__(self, network=None, **params):
        super().__init__(**params)
        self._undo = []
        self._redo = []
        if network is None:
            network = gallery.build("divider")
            self.title = self.title if self.title != "untitled" else "divider"
        self._set_network(network)

    # ---------------------------------------------------------------- loading
    @classmethod
    def from_example(cls, name, **params):
        return cls(gallery.build(name), title=gallery._key(name), **params)

    def _set_network(self, network):
        ensure_layout(network)
        self.network = network
        self.show_values = len(network.nodes) <= LABELLED_NETWORK
        self.selected_element = ""
        self.selected_node = ""
        self.picked_nodes = []
        self.preview = None
        self.solution = None
        self._resolve(warm=False)

    def load(self, network, title="untitled"):
        """Show a new circuit (undoable)."""
        if not isinstance(network, Network):
            raise TypeError(f"load needs a solver.Network, not {type(network).__name__}")
        self._push(("load", self.network, self.title))
        self.title = title
        self._set_network(network)

    def load_example(self, name):
        self.load(gallery.build(name), gallery._key(name))

    # ------------------------------------------------------------------ solve
    def _resolve(self, warm=True):
        t0 = time.perf_counter()
        try:
            sol = solve(_wired(self.network), warm_start=self.solution if warm else None)
        except NetworkError as e:
            self.solve_seconds = time.perf_counter() - t0
            self.error = str(e)
            self.stale = self.solution is not None
            self.status = f"not solved: {type(e).__name__}"
            self.version += 1
            return False
        self.solve_seconds = time.perf_counter() - t0
        self.error = ""
        self.stale = False
        self.solution = sol
        k = sol.kkt
        iters = f" + {sol.active_set_iterations} active-set" if sol.active_set_iterations else ""
        self.status = (
            f"{'solved' if sol.converged else 'NOT converged'} in {self.solve_seconds * 1e3:.1f} ms · "
            f"{sol.sweeps} sweeps{iters} · KKT: KCL {k.max_kcl_residual:.1e} A, "
            f"violation {k.max_constraint_violation:.1e} V, complementarity {k.max_complementarity:.1e} W · "
            f"{len(sol.active_diodes)} diodes conducting"
        )
        self.version += 1
        return True

    # ---------------------------------------------------------------- history
    def _push(self, entry):
        self._undo.append(entry)
        del self._undo[: -self.max_history]
        self._redo.clear()
        self.can_undo, self.can_redo = True, False

    def _swap(self, entry):
        """Apply a history entry; return the entry that reverts it."""
        if entry[0] == "value":
            _, name, old, new = entry
            self.network.set_value(name, old)
            return ("value", name, new, old)
        _, network, title = entry
        positions = _positions(self.network)
        current = (entry[0], self.network, self.title)
        for node in network.nodes:  # keep the layout the user has dragged meanwhile
            x, y = positions.get(node, (None, None))
            if x is not None:
                network.add_node(node, x=x, y=y)
        self.title = title
        ensure_layout(network)
        self.network = network
        return current

    def undo(self):
        """Revert the last edit (values, structure or a load)."""
        if not self._undo:
            return False
        self._redo.append(self._swap(self._undo.pop()))
        self.can_undo, self.can_redo = bool(self._undo), True
        self._after_history()
        return True

    def redo(self):
        if not self._redo:
            return False
        self._undo.append(self._swap(self._redo.pop()))
        self.can_undo, self.can_redo = True, bool(self._redo)
        self._after_history()
        return True

    def _after_history(self):
        if self.selected_element and self.selected_element not in self.network:
            self.selected_element = ""
        self.preview = None
        self._resolve()

    # ------------------------------------------------------------------ edits
    def _fail(self, e):
        self.error = str(e)
        self.version += 1
        return False

    def edit(self, change, description="edit"):
        """Apply ``change(network_copy)`` as one undoable structural edit, then re-solve.

        Returns True when the edit was applied (even if it left the circuit
        unsolvable: then ``error`` is set and ``stale`` is True).
        """
        new = self.network.copy()
        try:
            change(new)
        except NetworkError as e:
            return self._fail(e)
        self._push(("network", self.network, self.title))
        ensure_layout(new)
        self.network = new
        self.preview = None
        self._resolve()
        return True

    def set_value(self, name, value=None, *, resistance=None, merge=False):
        """Set an element's raw value (conductance in S for a resistor, or ``resistance=``), then re-solve.

        Undoable; with ``merge`` consecutive changes of one element form one
        undo step (a slider drag).
        """
        try:
            old = self.network.element(name).value
            self.network.set_value(name, value, resistance=resistance)
        except NetworkError as e:
            return self._fail(e)
        new = self.network.element(name).value
        last = self._undo[-1] if self._undo else None
        if merge and last is not None and last[0] == "value" and last[1] == name:
            self._undo[-1] = ("value", name, last[2], new)
            self._redo.clear()
            self.can_redo = False
        else:
            self._push(("value", name, old, new))
        self.preview = None
        self._resolve()
        return True

    def set_element_value(self, name, value, merge=False):
        """Set an element's value in user units: Ω for resistors, V or A for the others."""
        try:
            kind = self.network.element(name).kind
        except NetworkError as e:
            return self._fail(e)
        return self.set_value(name, merge=merge, **from_user_value(kind, value))

    def add_element(self, kind, p, n, value, name=None):
        """Add an element between nodes ``p`` and ``n`` (``NEW_NODE`` makes a fresh node).

        ``value`` is in user units (Ω, V or A). Returns the new element's name or None.
        """
        if kind not in KINDS:
            return self._fail(NetworkError(f"unknown element kind {kind!r}; choose one of {KINDS}"))
        result = {}

        def change(net):
            ends = []
            for node, other in ((p, n), (n, p)):
                if node == NEW_NODE:
                    node = self._fresh_node(net, near=other if other != NEW_NODE else None)
                ends.append(node)
            if kind == "resistor":
                result["name"] = net.add_resistor(ends[0], ends[1], resistance=value, name=name or None)
            else:
                result["name"] = net.add_element(kind, ends[0], ends[1], value, name=name or None)

        if self.edit(change, f"add {kind}"):
            self.selected_element = result["name"]
            self.picked_nodes = []
            return result["name"]
        return None

    def _fresh_node(self, net, near=None):
        k = 1
        while f"n{k}" in net.nodes:
            k += 1
        node = f"n{k}"
        x = y = None
        if near is not None and near in net.nodes:
            attrs = net.node_attributes(near)
            if "x" in attrs:
                x, y = attrs["x"] + 1.0, attrs["y"] + 0.5
        if x is None:
            xy = np.array([[a.get("x", 0.0), a.get("y", 0.0)] for a in map(net.node_attributes, net.nodes)])
            x, y = float(xy[:, 0].max() + 1.0), float(xy[:, 1].mean())
        net.add_node(node, x=float(x), y=float(y))
        return node

    def add_node(self, name=None, x=None, y=None):
        """Add an unwired node (left out of the solve until an element touches it)."""
        result = {}

        def change(net):
            if name and name in net.nodes:
                raise NetworkError(f"node {name!r} already exists")
            node = net.add_node(name) if name else self._fresh_node(net)
            if x is not None and y is not None:
                net.add_node(node, x=float(x), y=float(y))
            result["node"] = node

        if self.edit(change, "add node"):
            self.selected_node = result["node"]
            return result["node"]
        return None

    def remove_node(self, node):
        """Remove a node and every element touching it."""
        def change(net):
            if node not in net.nodes:
                raise NetworkError(f"no node {node!r} in the network")
            for e in net.elements():
                if node in (e.p, e.n):
                    net.remove_element(e.name)
            net.remove_node(node)

        ok = self.edit(change, "remove node")
        if ok:
            self.selected_node = ""
            self.picked_nodes = [p for p in self.picked_nodes if p != node]
        return ok

    def remove_element(self, name):
        ok = self.edit(lambda net: net.remove_element(name), "remove element")
        if ok and self.selected_element == name:
            self.selected_element = ""
        return ok

    def rename_element(self, old, new):
        ok = self.edit(lambda net: net.rename_element(old, new), "rename")
        if ok:
            self.selected_element = new.strip()
        return ok

    def move_nodes(self, positions):
        """Move nodes (dragged on the circuit); kept as node attributes, no re-solve."""
        changed = False
        for node, (x, y) in positions.items():
            if node in self.network.nodes:
                attrs = self.network.node_attributes(node)
                if attrs.get("x") != x or attrs.get("y") != y:
                    self.network.add_node(node, x=float(x), y=float(y))
                    changed = True
        if changed:
            self.layout_version += 1
        return changed

    def relayout(self):
        """Forget positions and compute an automatic layout."""
        def change(net):
            for node in net.nodes:
                attrs = net.node_attributes(node)
                attrs.pop("x", None)
                attrs.pop("y", None)
        return self.edit(change, "automatic layout")

    def pick_node(self, node):
        """A node was tapped: remember it as an endpoint for the next element (last two kept)."""
        if node not in self.network.nodes:  # a name as text for an int node (SPICE "1")
            node = {str(n): n for n in self.network.nodes}.get(str(node), node)
        self.selected_node = node
        self.picked_nodes = (list(self.picked_nodes) + [node])[-2:]

    # --------------------------------------------------------------- readouts
    def voltages(self):
        """Node potentials to paint: the step-mode preview, else the solution (NaN where unknown)."""
        if self.preview is not None:
            source = self.preview["voltages"]
        elif self.solution is not None:
            source = self.solution.voltages
        else:
            source = {}
        return np.array([source.get(n, np.nan) for n in self.network.nodes], dtype=float)

    def describe_element(self, name):
        """Dictionary of what the hover and the editor show for one element."""
        e = self.network.element(name)
        label, unit = UNITS[e.kind]
        info = {"name": e.name, "kind": e.kind, "p": e.p, "n": e.n, "value": user_value(e),
                "value_text": f"{label} {si(user_value(e), unit)}"}
        sol = self.solution
        if sol is not None and name in sol.currents:
            dv = sol.voltages[e.p] - sol.voltages[e.n]
            info.update(voltage=dv, current=sol.currents[name], power=sol.element_power(name))
            if e.kind == "diode":
                info["state"] = "conducting" if name in sol.active_diodes else "blocking"
        return info
