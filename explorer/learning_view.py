"""The learning view: train a small resistive network live with EP or coupled learning.

:class:`LearningStore` holds the task, the network, the :class:`solver.learning.circuit_learner.Learner`
and the curves; :class:`LearningView` draws the network (free or nudged
potentials, or the last weight update coloured by sign and size), weight
heatmaps, and loss and accuracy curves, with play / pause / step / reset.
"""

from __future__ import annotations

import html

import numpy as np
import panel as pn
import param
from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper
from bokeh.palettes import Viridis256
from bokeh.plotting import figure

from solver.learning.circuit_learner import Learner, encode_inputs, layered_network

from .circuit_view import CircuitView
from .page import wrapping_item, wrapping_row
from .server import run_off_loop
from .state import CircuitStore

__all__ = ["LearningStore", "LearningView", "TASKS", "make_task"]

TASKS = ("XOR", "two moons", "digits 0-2")
TARGET = 0.1  # target potential (V) of the right answer; the wrong one gets -TARGET (or 0)


def make_task(name, seed=0):
    """Inputs (features in [-1, 1] or [0, 1]), labels, number of outputs, hidden width."""
    if name == "XOR":
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
        return X, np.array([0, 1, 1, 0]), 1, 4
    if name == "two moons":
        from sklearn.datasets import make_moons

        X, labels = make_moons(n_samples=64, noise=0.1, random_state=seed)
        X = (X - X.mean(axis=0)) / np.abs(X - X.mean(axis=0)).max(axis=0)
        return X, labels, 1, 8
    if name == "digits 0-2":
        from sklearn.datasets import load_digits

        digits = load_digits(n_class=3)
        X = digits.data[:90] / 16.0
        return X, digits.target[:90], 3, 6
    raise ValueError(f"unknown task {name!r}; choose one of {TASKS}")


def targets(labels, n_outputs):
    if n_outputs == 1:
        return np.where(np.asarray(labels) > 0, TARGET, -TARGET)[:, None]
    Y = np.zeros((len(labels), n_outputs))
    Y[np.arange(len(labels)), labels] = TARGET
    return Y


#: Distance between layer columns, in the units of node heights (at most 8 per column): wide enough
#: that the drawing fills a landscape frame at equal scale on both axes.
LAYER_SPACING = 8.0


def _layout_layers(net, layers):
    for depth, layer in enumerate(layers):
        n = len(layer)
        spread = max(n - 1, 1)
        height = min(float(n - 1), 8.0)
        for k, node in enumerate(layer):
            net.add_node(node, x=LAYER_SPACING * depth, y=height / 2 - height * k / spread if n > 1 else 0.0)
    net.add_node("0", x=0.4 * LAYER_SPACING, y=-6.5)  # off the layer columns, so ground wires fan out


class LearningStore(param.Parameterized):
    """State of a live training run."""

    task = param.Selector(default="XOR", objects=list(TASKS), doc="The toy task to learn.")
    rule = param.Selector(default="ep", objects=["ep", "cl"],
                          doc="Equilibrium propagation, or coupled learning (Stern et al.).")
    lr = param.Number(default=1.0, bounds=(0.0, 20.0), doc="Learning rate.")
    beta = param.Number(default=0.01, bounds=(1e-5, 1.0), doc="EP nudging conductance (S).")
    eta = param.Number(default=0.5, bounds=(0.01, 1.0), doc="Coupled learning: fraction of the way to the target.")
    batch = param.Integer(default=8, bounds=(1, 256), doc="Samples per update.")
    show = param.Selector(default="free", objects=["free", "nudged", "update"],
                          doc="What the circuit shows: free or nudged potentials, or the last update.")
    epoch = param.Number(default=0.0, doc="Passes over the training set so far.")
    version = param.Integer(default=0)

    def __init__(self, **params):
        super().__init__(**params)
        self.circuit = CircuitStore(self._build()[0], title="learning", show_values=False)
        self.reset()

    def _build(self):
        X, labels, n_out, width = make_task(self.task)
        net, inputs, outputs, layers = layered_network(X.shape[1], [width], n_out, seed=1)
        _layout_layers(net, layers)
        return net, inputs, outputs, layers, X, labels

    @param.depends("task", watch=True)
    def reset(self):
        """New network with fresh random weights for the chosen task."""
        net, inputs, outputs, layers, X, labels = self._build()
        self.layers, self.inputs, self.outputs = layers, inputs, outputs
        self.X = encode_inputs(X)
        self.labels = np.asarray(labels)
        self.Y = targets(labels, len(outputs))
        self.learner = Learner(net, inputs, outputs, rule=self.rule, beta=self.beta, eta=self.eta,
                               lr=self.lr, nudge="resistor", g_min=1e-3, g_max=5.0)
        self.rng = np.random.default_rng(0)
        self.cursor = 0
        self.epoch = 0.0
        self.loss_history, self.acc_history, self.epochs = [], [], []
        self.last = None
        self.circuit.param.update(edge_overlay=None, color_by="potential")
        self.circuit.show_network(net, f"{self.task} network")
        self.circuit.show_values = False
        self._record()

    @param.depends("rule", "lr", "beta", "eta", watch=True)
    def _settings(self):
        for name in ("rule", "lr", "beta", "eta"):
            setattr(self.learner, name, getattr(self, name))

    def evaluate(self, learner=None):
        """Loss and accuracy of ``learner`` (the present one by default) on the whole task."""
        pred = (learner or self.learner).predict(self.X)
        loss = float(np.mean(0.5 * np.sum((pred - self.Y) ** 2, axis=1)))
        if pred.shape[1] == 1:
            guess = (pred[:, 0] > 0).astype(int)
        else:
            guess = np.argmax(pred, axis=1)
        return loss, float(np.mean(guess == self.labels))

    def _record(self, loss=None, acc=None):
        if loss is None:
            loss, acc = self.evaluate()
        self.loss_history.append(loss)
        self.acc_history.append(acc)
        self.epochs.append(self.epoch)
        self.version += 1

    def next_batch(self):
        """The next mini-batch ``(X, Y, fraction of an epoch)``; the cursor moves on."""
        n = len(self.X)
        take = min(self.batch, n)
        idx = (self.cursor + np.arange(take)) % n
        self.cursor = (self.cursor + take) % n
        return self.X[idx], self.Y[idx], take / n

    def train(self, learner, X, Y):
        """One update of ``learner`` on ``(X, Y)`` and its loss and accuracy afterwards.

        Touches nothing but ``learner``, so that a served session can run it in a worker thread
        (:class:`LearningView`) and show it with :meth:`finish_step` on its event loop.
        """
        record = learner.step(X, Y)
        return (record, *self.evaluate(learner))

    def finish_step(self, record, loss, acc, epochs):
        """Show an update computed by :meth:`train`: curves, epoch, the circuit."""
        self.last = record
        self.epoch += epochs
        self._record(loss, acc)
        self._paint()

    def step(self):
        """One mini-batch update, then refresh the curves and the circuit."""
        X, Y, epochs = self.next_batch()
        record, loss, acc = self.train(self.learner, X, Y)
        self.finish_step(record, loss, acc, epochs)
        return record

    def _paint(self):
        c = self.circuit
        if self.last is None:
            c.edge_overlay = None
            c.leave_step_mode()  # re-solves the network as it is now
            return
        sol = self.last.nudged if self.show == "nudged" else self.last.free
        c.param.update(edge_overlay=dict(zip(self.learner.trainable, self.last.update.tolist())),
                       color_by="update" if self.show == "update" else "potential")
        c.show_solution(sol, f"{self.show} state of the last sample · epoch {self.epoch:.2f}")

    @param.depends("show", watch=True)
    def _on_show(self):
        self._paint()

    def weight_matrices(self):
        """Conductance matrices between consecutive layers: list of (title, rows, cols, G)."""
        net = self.learner.net
        out = []
        pairs = list(zip(self.layers[:-1], self.layers[1:]))
        if len(self.layers) > 2:
            pairs.append((self.layers[0], self.layers[-1]))
        names = ["inputs → hidden", "hidden → output", "inputs → output (skip)"]
        for k, (a, b) in enumerate(pairs):
            G = np.full((len(a), len(b)), np.nan)
            for i, p in enumerate(a):
                for j, q in enumerate(b):
                    name = f"R_{p}_{q}"
                    if name in net:
                        G[i, j] = net.element(name).value
            out.append((names[k] if len(pairs) == 3 else f"layer {k} → {k + 1}", a, b, G))
        return out


class LearningView(pn.viewable.Viewer):
    """Controls, the learning network, weight heatmaps, loss and accuracy curves."""

    store = param.ClassSelector(class_=LearningStore)
    interval = param.Integer(default=150, doc="Milliseconds between training steps while playing.")

    def __init__(self, **params):
        if "store" not in params:
            params["store"] = LearningStore()
        super().__init__(**params)
        s = self.store
        self._callback = None
        self._stepping = False
        # a fixed height: the tab's curves and heatmaps share the window with it
        self.circuit = CircuitView(store=s.circuit, height=430, tag="learning", grid=False, straight_wires=True,
                                   follow_window=False)
        self.curves = ColumnDataSource(dict(epoch=[], loss=[], acc=[]), name="learning-curves")
        self.loss_fig = figure(height=200, sizing_mode="stretch_width", y_axis_type="log", title="loss (mean C)",
                               x_axis_label="epoch", tools="pan,wheel_zoom,reset", name="learning-loss",
                               styles=wrapping_item(300))
        self.loss_fig.line("epoch", "loss", source=self.curves, line_width=2, color="#2171b5")
        self.acc_fig = figure(height=200, sizing_mode="stretch_width", title="accuracy", y_range=(0, 1.05),
                              x_axis_label="epoch", tools="pan,wheel_zoom,reset", name="learning-accuracy",
                              styles=wrapping_item(300))
        self.acc_fig.line("epoch", "acc", source=self.curves, line_width=2, color="#238b45")
        self.heat_sources, self.heat_figs = [], []
        self.heat_mapper = LinearColorMapper(palette=Viridis256, low=0, high=1)
        self.heat_row = wrapping_row()
        self._build_heatmaps()

        self.task = pn.widgets.Select.from_param(s.param.task, name="Task",
                                                 description="Toy task: XOR (4 points), two moons "
                                                 "(64 points) or digits 0-2 (90 8x8 images).")
        self.rule = pn.widgets.RadioButtonGroup.from_param(
            s.param.rule, options={"Equilibrium propagation": "ep", "Coupled learning": "cl"},
            description="EP: nudge outputs with a weak resistor to the target and compare squared "
                        "drops. Coupled learning: clamp outputs part-way to the target.")
        self.lr = pn.widgets.FloatSlider.from_param(s.param.lr, name="Learning rate", step=0.05, end=5.0)
        self.beta = pn.widgets.FloatSlider.from_param(s.param.beta, name="β (EP nudge, S)", start=0.001,
                                                      end=0.2, step=0.001)
        self.eta = pn.widgets.FloatSlider.from_param(s.param.eta, name="η (clamp fraction)", step=0.01)
        self.show = pn.widgets.RadioButtonGroup.from_param(
            s.param.show, options={"Free": "free", "Nudged": "nudged", "Weight update": "update"},
            description="Circuit shows the free or the nudged (clamped) potentials of the last sample, "
                        "or the last conductance update (red: up, blue: down; width: size).")
        self.step_button = pn.widgets.Button(name="Step", description="One mini-batch update.",
                                             button_type="primary")
        self.play_button = pn.widgets.Button(name="▶ Play", description="Train continuously.")
        self.pause_button = pn.widgets.Button(name="❚❚ Pause", description="Stop training.")
        self.reset_button = pn.widgets.Button(name="Reset", description="New random weights.")
        self.info = pn.pane.HTML("", css_classes=["learning-info"])
        self.step_button.on_click(lambda e: self.step())
        self.play_button.on_click(lambda e: self.play())
        self.pause_button.on_click(lambda e: self.pause())
        self.reset_button.on_click(lambda e: self._reset())
        s.param.watch(self._update, "version")
        s.param.watch(self._on_task, "task")
        self._update()

    def _on_task(self, event):
        """A new task starts from scratch: training stops, curves and heatmaps are the new network's."""
        self.pause()
        self._build_heatmaps()
        self._update()

    def _reset(self):
        self.pause()
        self.store.reset()
        self._build_heatmaps()

    def _build_heatmaps(self):
        self.heat_sources, figs = [], []
        for title, rows, cols, G in self.store.weight_matrices():
            source = ColumnDataSource(self._heat_data(rows, cols, G))
            fig = figure(height=230, width=260 if len(rows) < 40 else 330, title=f"conductances {title}",
                         x_range=[str(c) for c in cols], y_range=[str(r) for r in rows][::-1],
                         tools="hover", tooltips=[("from", "@row"), ("to", "@col"), ("g", "@g S")],
                         name="learning-heatmap")
            fig.rect("col", "row", 1, 1, source=source, line_color=None,
                     fill_color={"field": "g", "transform": self.heat_mapper})
            fig.add_layout(ColorBar(color_mapper=self.heat_mapper, width=10, title="g (S)",
                                    title_text_font_size="10px", major_label_text_font_size="10px"), "right")
            fig.xaxis.major_label_orientation = 0.9
            if len(rows) > 30:
                fig.yaxis.visible = False
            self.heat_sources.append(source)
            figs.append(fig)
        self.heat_row.objects = [pn.pane.Bokeh(f) for f in figs]

    @staticmethod
    def _heat_data(rows, cols, G):
        r, c = np.meshgrid(np.arange(len(rows)), np.arange(len(cols)), indexing="ij")
        return dict(row=[str(rows[i]) for i in r.ravel()], col=[str(cols[j]) for j in c.ravel()],
                    g=G.ravel())

    def _update(self, *events):
        s = self.store
        self.curves.data = dict(epoch=list(s.epochs), loss=list(s.loss_history), acc=list(s.acc_history))
        mats = s.weight_matrices()
        if len(mats) == len(self.heat_sources):
            gmax = 0.0
            for source, (_, rows, cols, G) in zip(self.heat_sources, mats):
                source.data = self._heat_data(rows, cols, G)
                gmax = max(gmax, float(np.nanmax(G)))
            self.heat_mapper.update(low=0.0, high=max(gmax, 1e-3))
        loss, acc = s.loss_history[-1], s.acc_history[-1]
        self.info.object = (f'<span data-epoch="{s.epoch:.4f}" data-loss="{loss!r}">epoch {s.epoch:.2f} · '
                            f"loss {loss:.3e} · accuracy {acc:.0%} · rule "
                            f"{'EP' if s.rule == 'ep' else 'coupled learning'}</span>")

    def step(self):
        """One training step, in a worker thread when served; a tick that finds one running is skipped.

        Skipping (rather than queueing) keeps a slow server from building a backlog of steps
        while playing: training then simply runs at the pace the server can give it.
        """
        if self._stepping:
            return False
        store = self.store
        learner = store.learner
        X, Y, epochs = store.next_batch()
        self._stepping = True

        def apply(outcome):
            self._stepping = False
            if isinstance(outcome, Exception):  # keep the app alive; show the error instead
                self.pause()
                self.info.object = (f"<span style='color:#a50f15'>training stopped: "
                                    f"{html.escape(str(outcome))}</span>")
            elif store.learner is learner:  # not reset (new task or weights) meanwhile
                store.finish_step(*outcome, epochs)

        run_off_loop(lambda: store.train(learner, X, Y), apply)
        return True

    def play(self):
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(self.step, period=self.interval)

    def pause(self):
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    def __panel__(self):
        controls = pn.Column(
            self.task, self.rule, self.lr, self.beta, self.eta, self.show,
            pn.Row(self.step_button, self.play_button, self.pause_button, self.reset_button),
            self.info, width=360)
        return pn.Column(
            pn.pane.Markdown(
                "Inputs drive voltage sources (each feature as +x and −x, plus ±1 V bias); hidden nodes are "
                "rectified by a diode to ground; the output potential is the prediction (target ±0.1 V). "
                "Only conductances learn.", styles={"font-size": "12px"}),
            # side by side where the window is wide enough, else one above the other
            wrapping_row(controls, pn.Column(self.circuit, sizing_mode="stretch_width", styles=wrapping_item(420)),
                         align_items="flex-start"),
            wrapping_row(self.loss_fig, self.acc_fig),
            self.heat_row,
            sizing_mode="stretch_width")
