"""Array-built networks: elements kept as flat arrays, Python objects made only on demand.

A network of a million nodes built one element at a time costs a frozen
``Element``, a name string and two dictionary entries per element: seconds of
Python and about a kilobyte each. :meth:`Network.from_arrays` (the path the
generators take) keeps instead one list of node names and, per kind, the index
and value arrays that :meth:`Network.arrays` returns anyway. A solve reads
only those. The first call that needs per-element objects (``elements()``,
``element(name)``, an edit, ``to_networkx``...) turns the arrays into the
ordinary dictionaries once (:meth:`BulkStore.node_dicts`,
:meth:`BulkStore.elements`); from then on the network is an ordinary one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["AutoNames", "BulkStore"]


class AutoNames(Sequence):
    """The automatic names ``prefix + str(first + i)`` of ``count`` elements, made on access.

    >>> names = AutoNames("R", 1, 3)
    >>> list(names), names[-1], "R2" in names, names.index("R3")
    (['R1', 'R2', 'R3'], 'R3', True, 2)
    """

    __slots__ = ("prefix", "first", "count")

    def __init__(self, prefix: str, first: int, count: int):
        self.prefix, self.first, self.count = prefix, int(first), int(count)

    def __len__(self):
        return self.count

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self.count))]
        i = int(i)
        if i < 0:
            i += self.count
        if not 0 <= i < self.count:
            raise IndexError(f"name index {i} out of range for {self.count} names")
        return f"{self.prefix}{self.first + i}"

    def take(self, indices) -> list:
        """The names at ``indices`` (valid, non-negative), without a bounds check per name."""
        prefix, first = self.prefix, self.first
        return [f"{prefix}{first + i}" for i in np.asarray(indices, dtype=np.int64).tolist()]

    def __iter__(self):
        prefix = self.prefix
        return (f"{prefix}{k}" for k in range(self.first, self.first + self.count))

    def _position(self, name):
        """Index of ``name``, or -1 (no string scan: the number is parsed)."""
        if not isinstance(name, str) or not name.startswith(self.prefix):
            return -1
        digits = name[len(self.prefix):]
        if not digits.isdigit() or digits != str(int(digits)):  # "R01" is not "R1"
            return -1
        k = int(digits) - self.first
        return k if 0 <= k < self.count else -1

    def __contains__(self, name):
        return self._position(name) >= 0

    def index(self, name, start=0, stop=None):
        k = self._position(name)
        if k < start or (stop is not None and k >= stop) or k < 0:
            raise ValueError(f"{name!r} is not in the names")
        return k

    def __eq__(self, other):
        if isinstance(other, AutoNames):
            return (self.prefix, self.first, self.count) == (other.prefix, other.first, other.count) or (
                self.count == other.count == 0)
        if isinstance(other, (list, tuple)):
            return len(other) == self.count and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        if self.count == 0:
            return "AutoNames([])"
        return f"AutoNames([{self[0]!r} .. {self[-1]!r}], {self.count} names)"


@dataclass(frozen=True)
class BulkStore:
    """The validated arrays of an array-built network (never modified once built).

    ``nodes``: canonical node names, ground first. ``node_columns``: attribute
    name -> float array over ``nodes``, NaN where a node lacks the attribute.
    ``kinds``: kind -> ``(p, n, values, names)`` exactly as
    :meth:`Network.arrays` returns them (p, n index ``nodes``).
    """

    nodes: list
    node_columns: dict
    kinds: dict

    def count(self, kind) -> int:
        return len(self.kinds[kind][3])

    def node_dicts(self) -> dict:
        """``{node: {attribute: value}}`` in node order, as a network built node by node holds."""
        columns = [(name, values.tolist()) for name, values in self.node_columns.items()]
        out = {}
        for i, node in enumerate(self.nodes):
            out[node] = {name: values[i] for name, values in columns if not math.isnan(values[i])}
        return out

    def elements(self, make_element) -> dict:
        """``{name: make_element(kind, name, p, n, value)}``, kind by kind, each in array order."""
        out = {}
        nodes = self.nodes
        for kind, (p, n, values, names) in self.kinds.items():
            for name, i, j, value in zip(names, p.tolist(), n.tolist(), values.tolist()):
                out[name] = make_element(kind, name, nodes[i], nodes[j], value)
        return out


def first_bad(mask) -> int:
    """Index of the first True in a bool array, or -1."""
    bad = np.flatnonzero(mask)
    return int(bad[0]) if bad.size else -1


def names_at(names, indices) -> list:
    """``[names[i] for i in indices]`` for a list or :class:`AutoNames` (the latter without a call per name)."""
    if isinstance(names, AutoNames):
        return names.take(indices)
    return [names[i] for i in np.asarray(indices, dtype=np.int64).tolist()]
