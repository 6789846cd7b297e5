"""ngspice's ``.dc`` on a deck, read back point by point: the sampled reference for exact sweeps.

:func:`run_ngspice_dc` runs a deck that carries a ``.dc`` line in ngspice
(batch mode) and returns every saved vector over the sweep.
:func:`ngspice_dc_deck` writes such a deck for a :class:`solver.Network`, with
the steep diode model of :mod:`solver.circuits.spice` (see there for how far
its answer may lie from the ideal one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .netlist import _netlist_lines, format_value
from .spice import NGSPICE_DIODE_MODEL, NGSPICE_OPTIONS, _run_batch

__all__ = ["NgspiceSweep", "ngspice_dc_deck", "run_ngspice_dc"]


@dataclass
class NgspiceSweep:
    """ngspice's vectors over a ``.dc`` sweep: ``vectors["v(out)"]``, ``vectors["i(v1)"]``...

    Names are lower case as ngspice writes them; the swept value is
    ``vectors["v-sweep"]`` (or ``"i-sweep"``, ``"res-sweep"``). ``wall`` is the
    whole ngspice run in seconds, ``analysis`` the time ngspice reports for it.
    """

    vectors: dict
    wall: float
    analysis: float = float("nan")
    output: str = field(default="", repr=False)

    @property
    def sweep_values(self) -> np.ndarray:
        for key in ("v-sweep", "i-sweep", "res-sweep"):
            if key in self.vectors:
                return self.vectors[key]
        return next(iter(self.vectors.values()))


def run_ngspice_dc(deck, *, executable="ngspice", timeout=600.0) -> NgspiceSweep:
    """Run ``deck`` (netlist text holding a ``.dc`` line) in ngspice and read its vectors back.

    Raises
    ------
    NgspiceError
        When ngspice is missing, fails, or writes no sweep.
    """
    vectors, wall, output = _run_batch(deck, executable, timeout)
    found = re.findall(r"Total analysis time \(seconds\)\s*=\s*([0-9.eE+-]+)", output)
    return NgspiceSweep(vectors, wall, float(found[-1]) if found else float("nan"), output)


def ngspice_dc_deck(net, source, start, stop, step, *, diode_model=NGSPICE_DIODE_MODEL,
                    options=NGSPICE_OPTIONS) -> str:
    """A deck of ``net`` with ``.dc source start stop step``, node and element names kept.

    Names must be valid SPICE names (as those read from a netlist are);
    ``acct`` is added to the options so that ngspice reports its timings.
    """
    lines = _netlist_lines(net, f"resistive-explorer .dc of {source}", diode_model)
    lines += [f".options acct {options}".rstrip(),
              f".dc {source} {format_value(start)} {format_value(stop)} {format_value(step)}", ".end"]
    return "\n".join(lines) + "\n"
