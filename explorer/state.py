"""The explorer's state: one circuit, its last valid solution, the edit history.

:class:`CircuitStore` holds everything the views show, apart from the views.
Every edit goes through its public methods (views never set its parameters):
the edit is applied, the network re-solved at once (warm-started from the last
solution), ``readings`` replaced and ``version`` bumped so that views repaint.
Errors are honest:

* an edit the network itself refuses (negative resistance, NaN, duplicate
  name...) is not applied; ``error`` says why;
* an edit that leaves no valid steady state (a floating node, a voltage loop,
  an infeasible set of diodes) *is* applied, since circuits pass through such
  states while being drawn. Then ``readings`` holds no numbers (nothing stale
  is shown as current), ``error`` and ``problem`` name the latest problem,
  ``problem_nodes``/``problem_elements`` the parts to highlight, and
  ``solution`` keeps the last valid steady state only to warm-start the next
  solve. The first edit that makes the circuit valid solves it.

Nodes that no element touches yet (just added, waiting to be wired) are left
out of the solve rather than reported as floating.
"""

from __future__ import annotations

import time

import numpy as np
import param

from solver import KINDS, Network, NetworkError, Solution, solve

from . import gallery
from . import readings as R
from .editing import GRID, PARTS, nearest_node, problem_parts, snap
from .layout import ensure_layout  # layered, linear cost; kept importable from here
from .units import UNITS, from_user_value, si, user_value

__all__ = ["CircuitStore", "DEFAULT_VALUES", "NEW_NODE", "ensure_layout"]

#: Value of a freshly placed part, in user units (a silicon diode's 0.7 V for diodes).
DEFAULT_VALUES = {"resistor": 1000.0, "diode": 0.7, "vsource": 5.0, "isource": 1e-3}

#: Choice in the endpoint selects meaning "create a fresh node".
NEW_NODE = "(new node)"

#: Networks with more nodes than this are re-solved on slider release only.
BIG_NETWORK = 1500

#: In a served session, networks with more nodes than this are solved in a worker thread, so that
#: the server's event loop (shared by every session) stays free. Smaller ones re-solve warm in a few
#: milliseconds, less than the hop costs: the copy of the network for the worker, the thread
#: switch and the callback back on the loop (at 500 nodes the hop cost 4-9 ms of CPU per slider
#: step and 30 ms or more of the round trip; ``benchmarks/profile_move.py``).
OFF_LOOP_NODES = 1000

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
    """State of the explorer: the circuit, what is known about it, settings and history.

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
                                   doc="Last valid steady state (from an earlier network when stale); "
                                       "views draw ``readings``, not this.")
    readings = param.ClassSelector(class_=R.Readings, doc="What is known now, in the network's node and "
                                   "element order (no numbers while the circuit does not solve).")
    title = param.String(default="untitled", doc="Name of the circuit (example or file name).")
    error = param.String(default="", doc="The latest problem: a refused edit or why the circuit does not solve.")
    problem = param.String(default="", doc="Why the present circuit does not solve; empty when it does.")
    problem_nodes = param.List(default=[], doc="Nodes the latest problem blames (highlighted).")
    problem_elements = param.List(default=[], doc="Elements the latest problem blames (highlighted).")
    stale = param.Boolean(default=False, doc="True while the circuit does not solve (``solution`` is older).")
    status = param.String(default="", doc="One-line summary of the last solve.")
    selected_element = param.String(default="", doc="Element shown in the editor.")
    selected_node = param.Parameter(default="", doc="Last node picked on the circuit (a node name).")
    picked_nodes = param.List(default=[], doc="Up to two nodes picked by tapping: endpoints of a new element.")
    tool = param.Selector(default="select", objects=list(PARTS), doc="Palette: what a click on the circuit does.")
    pending = param.Parameter(default=None, doc="First end of the part being placed: a node name or an (x, y) "
                              "grid point; None when no placement is under way.")
    snap_to_grid = param.Boolean(default=False, doc="Dragged nodes land on grid points (on for circuits "
                                 "whose nodes all sit on the grid, e.g. those built from a blank one).")
    show_values = param.Boolean(default=True, doc="Write values, voltages and currents on the circuit.")
    color_by = param.Selector(default="potential", objects=["potential", "power", "update"],
                              doc="Colour nodes by potential, elements by dissipated power, or "
                                  "elements by the sign and size of ``edge_overlay`` (weight updates).")
    edge_overlay = param.Dict(default=None, allow_None=True,
                              doc="Element name -> signed number shown in the 'update' colouring.")
    preview = param.Dict(default=None, allow_None=True,
                         doc="Step mode: node voltages shown instead of the solution, with a 'label'.")
    version = param.Integer(default=0, doc="Bumped after every change of network or readings.")
    layout_version = param.Integer(default=0, doc="Bumped when node positions change.")
    can_undo = param.Boolean(default=False)
    can_redo = param.Boolean(default=False)
    max_history = param.Integer(default=200, bounds=(1, None))
    solve_seconds = param.Number(default=0.0)
    solve_off_loop = param.Boolean(default=False, doc="Solve networks of more than ``OFF_LOOP_NODES`` nodes in "
                                   "a worker thread when served (set by the served app).")

    def __init__(self, network=None, **params):
        super().__init__(**params)
        self._undo = []
        self._redo = []
        self._index = (None, None)  # (structure key, ElementIndex)
        self._solve_in_flight = self._solve_queued = False
        self._wanted_warm = True
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
        # one batch: no view repaints the new network with the old one's readings
        with param.parameterized.batch_call_watchers(self):
            self.param.update(network=network, selected_element="", selected_node="", picked_nodes=[],
                              pending=None, preview=None, solution=None)
            self._resolve(warm=False)
            self.show_values = len(network.nodes) <= LABELLED_NETWORK
            self.snap_to_grid = all(snap(*xy) == xy for xy in _positions(network).values())

    def load(self, network, title="untitled"):
        """Show a new circuit (undoable)."""
        if not isinstance(network, Network):
            raise TypeError(f"load needs a solver.Network, not {type(network).__name__}")
        self._push(("load", self.network, self.title))
        self.title = title
        self._set_network(network)

    def load_example(self, name):
        self.load(gallery.build(name), gallery._key(name))

    def new_blank(self):
        """Start a new, empty circuit: only the ground node (undoable)."""
        net = Network()
        net.add_node("0", x=0.0, y=0.0)
        self.load(net, "blank")
        self.tool = "select"

    def show_network(self, network, title):
        """Replace the circuit without an undo step (a view that drives its own network, e.g. learning)."""
        self.title = title
        self._set_network(network)

    def show_solution(self, solution, status=""):
        """Show ``solution``, a solve of the present network computed elsewhere (e.g. by a learner)."""
        net = self.network
        self.param.update(preview=None, solution=solution, error="", problem="", problem_nodes=[],
                          problem_elements=[], stale=False, status=status,
                          readings=R.from_solution(net, solution, self._element_index(), by_name=True))
        self.version += 1

    def report(self, message):
        """Show ``message`` as the latest problem (e.g. a file that could not be opened)."""
        self.error = str(message)
        self.version += 1

    # ------------------------------------------------------------------ solve
    def _element_index(self):
        return self._index_for(self.network)

    def _index_for(self, network):
        key = network.arrays()["position"]  # kept by value edits, new on any structural edit
        if self._index[0] is not key:
            self._index = (key, R.element_index(network))
        return self._index[1]

    def _resolve(self, warm=True):
        """Re-solve the present network and publish what is known; False when it does not solve.

        In a served session the solve is deferred instead (:meth:`_resolve_later`): to a worker
        thread for a large network, to the loop's next turn for a small one. The call then returns
        at once, True (the edit was taken; its solve is under way), and the answer is shown when
        it arrives.
        """
        if self.solve_off_loop:
            from .server import served_document

            if served_document() is not None:
                self._resolve_later(warm, in_thread=len(self.network.nodes) > OFF_LOOP_NODES)
                return True
        t0 = time.perf_counter()
        net = self.network
        wired = _wired(net)
        try:
            outcome = solve(wired, warm_start=self.solution if warm else None)
        except NetworkError as e:
            outcome = e
        return self._publish(net, wired, outcome, time.perf_counter() - t0)

    def _publish(self, net, wired, outcome, seconds):
        """Show the solve of ``net`` (a :class:`Solution` of ``wired``, or the NetworkError it raised)."""
        self.solve_seconds = seconds
        if isinstance(outcome, NetworkError):
            nodes, elements = problem_parts(net, outcome)
            self.param.update(error=str(outcome), problem=str(outcome), problem_nodes=nodes,
                              problem_elements=elements, stale=True, readings=R.unknown(net, self._element_index()),
                              status=f"not solved: {type(outcome).__name__}")
            self.version += 1
            return False
        sol = outcome
        rows = None
        if len(wired.nodes) != len(net.nodes):
            position = {n: k for k, n in enumerate(wired.nodes)}
            rows = np.array([position.get(n, -1) for n in net.nodes], dtype=np.int64)
        k = sol.kkt
        iters = f" + {sol.active_set_iterations} active-set" if sol.active_set_iterations else ""
        status = (
            f"{'solved' if sol.converged else 'NOT converged'} in {seconds * 1e3:.1f} ms · "
            f"{sol.sweeps} sweeps{iters} · KKT: KCL {k.max_kcl_residual:.1e} A, "
            f"violation {k.max_constraint_violation:.1e} V, complementarity {k.max_complementarity:.1e} W · "
            f"{len(sol.active_diodes)} diodes conducting"
        )
        self.param.update(error="", problem="", problem_nodes=[], problem_elements=[], stale=False,
                          solution=sol, readings=R.from_solution(net, sol, self._element_index(), rows),
                          status=status)
        self.version += 1
        return True

    def _solve_key(self):
        net = self.network
        return id(net), net.structure_version, net.value_version

    def _resolve_later(self, warm, in_thread=True):
        """Solve in a worker thread (or on the next tick of the loop, ``in_thread=False``, for small
        networks: see :func:`explorer.server.run_next_tick`); while one solve runs, later requests
        wait and only the latest is solved.

        A slider dragged over a large circuit asks for a solve per step; solving each in turn would
        leave the display ever further behind the hand. Instead the request in flight finishes,
        the requests made meanwhile collapse into one (the network as it is then), and a result
        for a network that has changed since it was taken is never shown.
        """
        from .server import run_next_tick, run_off_loop

        self._wanted_warm = self._wanted_warm and warm if self._solve_in_flight else warm
        if self._solve_in_flight:
            self._solve_queued = True
            return
        self._solve_in_flight, self._solve_queued = True, False

        def take():
            net = self.network
            wired = _wired(net)
            if in_thread:  # the loop may edit ``net`` in place (a value edit) while the worker solves
                wired = wired.copy()
            return net, self._solve_key(), wired, self.solution if self._wanted_warm else None

        # in a thread: the network as it is now; on the loop: as it is when the tick comes, which
        # covers the requests made until then
        net, key, wired, warm_start = take() if in_thread else (None, None, None, None)

        def compute():
            nonlocal net, key, wired, warm_start
            if not in_thread:
                net, key, wired, warm_start = take()
                self._solve_queued = False
            t0 = time.perf_counter()
            try:
                outcome = solve(wired, warm_start=warm_start)
            except NetworkError as e:
                outcome = e
            return outcome, time.perf_counter() - t0

        def apply(result):
            self._solve_in_flight = False
            if isinstance(result, BaseException):  # not the solver's refusal: a bug; say so, keep going
                self._fail(RuntimeError(f"the solve failed: {type(result).__name__}: {result}"))
            elif self._solve_key() == key:
                self._publish(net, wired, *result)
            if self._solve_queued or self._solve_key() != key:
                self._solve_queued = False
                self._resolve_later(self._wanted_warm, in_thread)

        (run_off_loop if in_thread else run_next_tick)(compute, apply)

    # ---------------------------------------------------------- step mode
    def show_step(self, stepper, label):
        """Show coordinate descent mid-way: ``stepper`` ran on ``_wired(network)``."""
        net = self.network
        v = stepper.node_voltages
        nodes = stepper.net.nodes
        if len(nodes) != len(net.nodes):  # unwired nodes were left out of the stepper's network
            position = {n: k for k, n in enumerate(nodes)}
            v = np.append(v, np.nan)[[position.get(n, -1) for n in net.nodes]]
        readings = R.from_potentials(net, v, label, self._element_index())
        self.param.update(readings=readings,
                          preview={"voltages": dict(zip(net.nodes, v.tolist())), "label": label})
        self.version += 1

    def leave_step_mode(self):
        """Show the exact solution again."""
        self.preview = None
        self._resolve()

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
        self._replace_network(network)
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
        self.preview = None
        self._resolve()
        if self.selected_element and self.selected_element not in self.network:
            self.selected_element = ""
        self.pending = None

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
        self._replace_network(new)
        self.preview = None
        self._resolve()
        return True

    def _replace_network(self, network):
        """Swap in ``network`` with readings of its own size (unknown until the solve that follows)."""
        self.param.update(network=network, readings=R.unknown(network, self._index_for(network)))

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

    def add_element(self, kind, p, n, value=None, name=None):
        """Add an element between nodes ``p`` and ``n`` (``NEW_NODE`` makes a fresh node).

        ``value`` is in user units (Ω, V or A; ``DEFAULT_VALUES`` when omitted).
        ``p`` and ``n`` may also be ``(x, y)`` points: a node is created there.
        Returns the new element's name or None.
        """
        if kind not in KINDS:
            return self._fail(NetworkError(f"unknown element kind {kind!r}; choose one of {KINDS}"))
        value = DEFAULT_VALUES[kind] if value is None else value
        result = {}

        def change(net):
            ends = []
            for node, other in ((p, n), (n, p)):
                if isinstance(node, tuple):
                    node = self._node_at(net, *node)
                elif node == NEW_NODE:
                    node = self._fresh_node(net, near=other if isinstance(other, str) and other != NEW_NODE
                                            and other in net.nodes else None)
                ends.append(node)
            if ends[0] == ends[1]:
                raise NetworkError(f"both ends of the new {kind} are node {ends[0]!r}; pick two different nodes")
            if kind == "resistor":
                result["name"] = net.add_resistor(ends[0], ends[1], resistance=value, name=name or None)
            else:
                result["name"] = net.add_element(kind, ends[0], ends[1], value, name=name or None)

        if self.edit(change, f"add {kind}"):
            self.selected_element = result["name"]
            self.picked_nodes = []
            return result["name"]
        return None

    def _node_at(self, net, x, y):
        """The node at grid point ``(x, y)`` of ``net``, created if there is none."""
        for node in net.nodes:
            attrs = net.node_attributes(node)
            if attrs.get("x") == x and attrs.get("y") == y:
                return node
        node = self._fresh_node(net)
        net.add_node(node, x=float(x), y=float(y))
        return node

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

    def connect_to_ground(self, node):
        """Join ``node`` to ground: its elements move onto node ``0`` and it disappears (undoable)."""
        def change(net):
            if node not in net.nodes:
                raise NetworkError(f"no node {node!r} in the network")
            if node == "0":
                raise NetworkError("node '0' is the ground already")
            for e in net.elements():
                if node in (e.p, e.n):
                    p, n = ("0" if e.p == node else e.p), ("0" if e.n == node else e.n)
                    if p == n:
                        raise NetworkError(f"grounding {node!r} would short {e.name!r} (both ends on ground); "
                                           "remove it first")
                    net.remove_element(e.name)
                    if e.kind == "resistor":
                        net.add_resistor(p, n, conductance=e.value, name=e.name)
                    else:
                        net.add_element(e.kind, p, n, e.value, name=e.name)
            net.remove_node(node)

        return self.edit(change, "connect to ground")

    def delete_selection(self):
        """Remove the selected element, else the selected node (the Delete key)."""
        if self.selected_element and self.selected_element in self.network:
            return self.remove_element(self.selected_element)
        if self.selected_node not in ("", None, "0") and self.selected_node in self.network.nodes:
            return self.remove_node(self.selected_node)
        return False

    def rename_element(self, old, new):
        ok = self.edit(lambda net: net.rename_element(old, new), "rename")
        if ok:
            self.selected_element = new.strip()
        return ok

    def move_nodes(self, positions, snap_to_grid=False):
        """Move nodes (dragged on the circuit); kept as node attributes, no re-solve.

        With ``snap_to_grid`` each moved node lands on the nearest grid point
        (a view passes it when a drag ends, if ``self.snap_to_grid``).
        """
        changed = False
        for node, (x, y) in positions.items():
            if node in self.network.nodes:
                if snap_to_grid:
                    x, y = snap(x, y)
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

    def select_element(self, name):
        """Select an element (tapped on the circuit or picked in a list); "" clears the selection."""
        if name and name not in self.network:
            return self._fail(NetworkError(f"no element {name!r} in the network"))
        self.selected_element = name
        return True

    # ------------------------------------------------------- schematic editing
    def arm(self, tool):
        """Choose what a click on the circuit does: a part from ``PARTS`` or ``"select"``."""
        if tool not in PARTS:
            raise ValueError(f"unknown tool {tool!r}; choose one of {PARTS}")
        self.param.update(tool=tool, pending=None)

    def click(self, x, y, radius=0.3 * GRID):
        """A click on the circuit at ``(x, y)`` (drawing units): select, or place the armed part.

        With a part armed, the first click fixes one end (a node within
        ``radius``, else the nearest grid point) and the second places the part
        from the first end (p: anode, +) to the second (n: cathode, −). The
        ground tool joins the clicked node to ground. Returns what happened:
        ``"node"``, ``"cleared"``, ``"pending"``, ``"placed"``, ``"grounded"``
        or ``"refused"``.
        """
        net = self.network
        nodes = net.nodes
        xy = np.array([[net.node_attributes(n).get("x", np.nan), net.node_attributes(n).get("y", np.nan)]
                       for n in nodes], dtype=float)
        hit = nearest_node(xy, x, y, radius)
        node = nodes[hit] if hit is not None else None
        if self.tool == "select":
            if node is None:
                self.param.update(selected_node="", selected_element="")
                return "cleared"
            self.pick_node(node)
            return "node"
        if self.tool == "ground":
            if node is None:
                self._fail(NetworkError("click a node to connect it to ground"))
                return "refused"
            return "grounded" if self.connect_to_ground(node) else "refused"
        end = node if node is not None else snap(x, y)
        if self.pending is None:
            self.pending = end
            return "pending"
        start, self.pending = self.pending, None
        if start == end:
            self.pending = end
            return "pending"
        return "placed" if self.add_element(self.tool, start, end) else "refused"

    # --------------------------------------------------------------- readouts
    def voltages(self):
        """Node potentials shown now, in ``network.nodes`` order (NaN where unknown)."""
        return self.readings.v

    def describe_element(self, name):
        """Dictionary of what the hover and the editor show for one element."""
        e = self.network.element(name)
        label, unit = UNITS[e.kind]
        info = {"name": e.name, "kind": e.kind, "p": e.p, "n": e.n, "value": user_value(e),
                "value_text": f"{label} {si(user_value(e), unit)}"}
        r = self.readings
        if r.valid:
            dv, i, power, on = r.element(name)
            info.update(voltage=dv, current=i, power=power)
            if e.kind == "diode":
                info["state"] = "conducting" if on else "blocking"
        return info
