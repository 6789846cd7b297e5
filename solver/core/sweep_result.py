"""The results of a DC sweep: an exact piecewise-affine curve, or a table of sampled points.

:class:`Sweep` holds the exact solutions at the ends of the sweep and at every
breakpoint; between two neighbouring ones every potential and current is
affine in the swept value, so linear interpolation between those exact
solutions *is* the exact answer. :class:`SampledSweep` holds one solution per
requested value (any element value, or a grid of two). Both export the same
table (records or CSV) with one column per node voltage ``v(node)`` and per
element current ``i(element)``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

__all__ = ["Breakpoint", "SampledSweep", "Segment", "Sweep"]


@dataclass(frozen=True)
class Breakpoint:
    """A value of the swept source where the set of conducting diodes changes.

    ``switched_on`` and ``switched_off`` name the diodes that start or stop
    conducting there (going in the direction of the sweep); more than one
    diode may switch at one value.
    """

    value: float
    switched_on: tuple
    switched_off: tuple

    @property
    def label(self) -> str:
        """``"D1 on, D2 off"``: what switches here."""
        parts = [f"{d} on" for d in self.switched_on] + [f"{d} off" for d in self.switched_off]
        return ", ".join(parts)


@dataclass(frozen=True)
class Segment:
    """An interval of the sweep (``start`` to ``stop``, in sweep order) with one conducting set."""

    start: float
    stop: float
    conducting: tuple


class _Table:
    """Shared export: records and CSV of node voltages and element currents."""

    nodes: list
    elements: list
    parameters: tuple

    def _rows(self, x):
        """(parameter columns, voltages, currents) at the rows to export."""
        raise NotImplementedError

    def to_records(self, x=None, nodes=None, elements=None) -> list:
        """One dict per row: the swept value(s), then ``v(node)`` and ``i(element)`` columns.

        ``nodes`` and ``elements`` select columns (default: all). For an exact
        :class:`Sweep`, ``x`` picks the values (default: the ends and every
        breakpoint, which describe the curve completely).
        """
        params, v, i = self._rows(x)
        node_cols = self._columns(self.nodes, nodes, "node")
        element_cols = self._columns(self.elements, elements, "element")
        records = []
        for r in range(params.shape[0]):
            row = {name: float(params[r, k]) for k, name in enumerate(self.parameters)}
            row.update({f"v({self.nodes[k]})": float(v[r, k]) for k in node_cols})
            row.update({f"i({self.elements[k]})": float(i[r, k]) for k in element_cols})
            records.append(row)
        return records

    def to_csv(self, path=None, x=None, nodes=None, elements=None) -> str:
        """The records as CSV text (full float precision); also written to ``path`` if given."""
        records = self.to_records(x, nodes, elements)
        out = io.StringIO()
        if records:
            writer = csv.DictWriter(out, fieldnames=list(records[0]), lineterminator="\n")
            writer.writeheader()
            for row in records:
                writer.writerow({k: repr(v) for k, v in row.items()})
        text = out.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return text

    @staticmethod
    def _columns(names, wanted, what):
        if wanted is None:
            return range(len(names))
        index = {n: k for k, n in enumerate(names)}
        missing = [w for w in wanted if w not in index]
        if missing:
            raise ValueError(f"unknown {what}(s) {missing[:5]}; expected some of {names[:10]}")
        return [index[w] for w in wanted]

    def node_index(self, node) -> int:
        for k, n in enumerate(self.nodes):
            if n == node or str(n) == str(node):
                return k
        raise ValueError(f"no node {node!r} in the sweep; nodes are {self.nodes[:10]}")

    def element_index(self, name) -> int:
        try:
            return self.elements.index(name)
        except ValueError:
            raise ValueError(f"no element {name!r} in the sweep; elements are {self.elements[:10]}") from None


class Sweep(_Table):
    """The exact DC transfer curve of a network along one source, as returned by :func:`solver.sweep`.

    Attributes
    ----------
    source : str
        The swept voltage or current source.
    start, stop : float
        The ends of the sweep, in the order asked for (``stop < start`` sweeps down).
    breakpoints : list of Breakpoint
        Where the conducting set changes, in sweep order.
    segments : list of Segment
        The pieces between breakpoints, each with its conducting diodes.
    nodes, elements : list
        Column order of :meth:`voltages` and :meth:`currents` (elements by
        kind: resistors, diodes, voltage sources, current sources).
    anchor_values : numpy.ndarray
        Increasing values where the sweep holds an exact solve: the ends, the
        breakpoints and any value where a diode touched its threshold.
    solves, direction_solves : int
        Exact warm re-solves (one per anchor) and equality solves spent on the
        incremental network's direction (about one per breakpoint).
    """

    def __init__(self, *, source, kind, start, stop, nodes, elements, pieces, breakpoints, segments,
                 solves, direction_solves):
        self.source = source
        self.kind = kind
        self.start = float(start)
        self.stop = float(stop)
        self.nodes = list(nodes)
        self.elements = list(elements)
        self.parameters = (source,)
        self.breakpoints = list(breakpoints)
        self.segments = list(segments)
        self.solves = solves
        self.direction_solves = direction_solves
        self._descending = self.stop < self.start
        # pieces in increasing order of x, each (lo, hi, V_lo, V_hi, I_lo, I_hi)
        ordered = []
        for x0, x1, v0, v1, i0, i1 in pieces:
            ordered.append((x1, x0, v1, v0, i1, i0) if x1 < x0 else (x0, x1, v0, v1, i0, i1))
        ordered.sort(key=lambda p: p[0])
        self._lo = np.array([p[0] for p in ordered])
        self._hi = np.array([p[1] for p in ordered])
        self._pieces = ordered

    def __repr__(self):
        return (f"<Sweep {self.source} {self.start:g} -> {self.stop:g}: "
                f"{len(self.breakpoints)} breakpoints, {len(self.segments)} segments>")

    @property
    def anchor_values(self) -> np.ndarray:
        """Increasing values where the sweep solved exactly: the ends, the breakpoints, any touch."""
        return np.unique(np.concatenate([self._lo, self._hi]))

    # ----------------------------------------------------------- evaluation
    def _interpolate(self, which, x):
        x = np.asarray(x, dtype=float)
        lo, hi = self._lo[0], self._hi[-1]
        slack = 1e-12 * (1 + max(abs(lo), abs(hi)))
        if np.any(~np.isfinite(x)) or np.any(x < lo - slack) or np.any(x > hi + slack):
            raise ValueError(f"values must lie in the swept range [{lo:g}, {hi:g}]")
        flat = np.clip(x.reshape(-1), lo, hi)
        # at a breakpoint, the piece that follows it in the sweep's direction (currents may jump there)
        if self._descending:
            j = np.searchsorted(self._lo, flat, side="left") - 1
        else:
            j = np.searchsorted(self._lo, flat, side="right") - 1
        j = np.clip(j, 0, len(self._pieces) - 1)
        first = np.stack([self._pieces[k][2 + 2 * which] for k in range(len(self._pieces))])
        last = np.stack([self._pieces[k][3 + 2 * which] for k in range(len(self._pieces))])
        width = self._hi[j] - self._lo[j]
        w = np.where(width > 0, (flat - self._lo[j]) / np.where(width > 0, width, 1.0), 0.0)[:, None]
        out = first[j] + w * (last[j] - first[j])
        return out.reshape(x.shape + first.shape[1:])

    def voltages(self, x) -> np.ndarray:
        """Node potentials at ``x`` (a value or an array): shape ``x.shape + (len(nodes),)``."""
        return self._interpolate(0, x)

    def currents(self, x) -> np.ndarray:
        """Element currents at ``x``: shape ``x.shape + (len(elements),)``, SPICE signs."""
        return self._interpolate(1, x)

    def voltage(self, node, x) -> np.ndarray:
        """Potential of one node at ``x`` (vectorised)."""
        return self.voltages(x)[..., self.node_index(node)]

    def current(self, element, x) -> np.ndarray:
        """Current of one element at ``x`` (vectorised)."""
        return self.currents(x)[..., self.element_index(element)]

    def conducting(self, x) -> tuple:
        """The diodes conducting at ``x``; at a breakpoint, those of the segment that follows it."""
        x = float(x)
        for seg in self.segments:
            a, b = sorted((seg.start, seg.stop))
            if a <= x < b or (x == b and seg is self.segments[-1]) or (x == b == a):
                return seg.conducting
        for seg in self.segments:  # x at a segment's far end, sweeping down
            if x in (seg.start, seg.stop):
                return seg.conducting
        raise ValueError(f"{x:g} lies outside the sweep [{min(self.start, self.stop):g}, "
                         f"{max(self.start, self.stop):g}]")

    def slope(self, x, node) -> float:
        """d v(node) / d source on the piece holding ``x`` (V/V or V/A)."""
        j = int(np.clip(np.searchsorted(self._lo, float(x), side="right") - 1, 0, len(self._pieces) - 1))
        lo, hi, v_lo, v_hi = self._pieces[j][:4]
        if hi == lo:
            return 0.0
        k = self.node_index(node)
        return float((v_hi[k] - v_lo[k]) / (hi - lo))

    def _rows(self, x):
        values = self.anchor_values if x is None else np.asarray(x, dtype=float).reshape(-1)
        return values[:, None], self.voltages(values), self.currents(values)


class SampledSweep(_Table):
    """Solutions at a list of values of one element, or at a grid of two (no breakpoints).

    Attributes
    ----------
    parameters : tuple of str
        The swept elements.
    points : numpy.ndarray
        Shape ``(n, len(parameters))``: the value(s) at each sample; for a
        grid the first parameter varies fastest (as in SPICE's ``.dc``).
    node_voltages, element_currents : numpy.ndarray
        Shape ``(n, len(nodes))`` and ``(n, len(elements))``.
    conducting : list of tuple
        The conducting diodes at each sample.
    quantity : dict
        Parameter -> what its values are (``"voltage"``, ``"current"``,
        ``"resistance"``, ``"threshold"``).
    """

    def __init__(self, *, parameters, quantity, points, nodes, elements, node_voltages,
                 element_currents, conducting):
        self.parameters = tuple(parameters)
        self.quantity = dict(quantity)
        self.points = np.asarray(points, dtype=float)
        self.nodes = list(nodes)
        self.elements = list(elements)
        self.node_voltages = np.asarray(node_voltages, dtype=float)
        self.element_currents = np.asarray(element_currents, dtype=float)
        self.conducting = list(conducting)
        self.breakpoints = []

    def __repr__(self):
        return f"<SampledSweep {', '.join(self.parameters)}: {self.points.shape[0]} points>"

    @property
    def values(self) -> np.ndarray:
        """The values of the (first) swept parameter at each sample."""
        return self.points[:, 0]

    def voltage(self, node) -> np.ndarray:
        return self.node_voltages[:, self.node_index(node)]

    def current(self, element) -> np.ndarray:
        return self.element_currents[:, self.element_index(element)]

    def _rows(self, x):
        if x is not None:
            raise ValueError("a sampled sweep holds only its own points; call to_records() without x")
        return self.points, self.node_voltages, self.element_currents
