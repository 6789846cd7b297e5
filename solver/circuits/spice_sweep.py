"""ngspice's ``.dc`` on a deck, read back point by point: the sampled reference for exact sweeps.

:func:`run_ngspice_dc` runs a deck that carries a ``.dc`` line in ngspice
(batch mode) and returns every saved vector over the sweep.
:func:`ngspice_dc_deck` writes such a deck for a :class:`solver.Network`, with
the steep diode model of :mod:`solver.circuits.spice` (see there for how far
its answer may lie from the ideal one).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from .netlist import _netlist_lines, format_value
from .spice import NGSPICE_DIODE_MODEL, NGSPICE_OPTIONS, NgspiceError

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


def _read_raw_vectors(path):
    """Every variable of an ngspice raw file (binary or ASCII, real data) as an array over its points."""
    with open(path, "rb") as fh:
        data = fh.read()
    names, n_vars, n_points, pos = [], None, None, 0
    while True:
        end = data.index(b"\n", pos)
        line = data[pos:end].decode("latin-1")
        pos = end + 1
        key = line.split(":", 1)[0].strip().lower()
        if key == "no. variables":
            n_vars = int(line.split(":", 1)[1])
        elif key == "no. points":
            n_points = int(line.split(":", 1)[1])
        elif key == "variables":
            for _ in range(n_vars):
                end = data.index(b"\n", pos)
                names.append(data[pos:end].decode("latin-1").split()[1].lower())
                pos = end + 1
        elif key == "binary":
            values = np.frombuffer(data, dtype="<f8", count=n_vars * n_points, offset=pos)
            break
        elif key == "values":
            numbers = data[pos:].decode("latin-1").split()
            # ASCII: each point is its index followed by one value per variable
            rows = [numbers[k * (n_vars + 1) + 1:(k + 1) * (n_vars + 1)] for k in range(n_points)]
            values = np.array(rows, dtype=float).reshape(-1)
            break
    table = values.reshape(n_points, n_vars)
    return {name: table[:, k].copy() for k, name in enumerate(names)}


def run_ngspice_dc(deck, *, executable="ngspice", timeout=600.0) -> NgspiceSweep:
    """Run ``deck`` (netlist text holding a ``.dc`` line) in ngspice and read its vectors back.

    Raises
    ------
    NgspiceError
        When ngspice is missing, fails, or writes no sweep.
    """
    if shutil.which(executable) is None:
        raise NgspiceError(f"{executable!r} not found; install ngspice (Debian: apt-get install ngspice)")
    with tempfile.TemporaryDirectory(prefix="resistive-explorer-ngspice-dc-") as tmp:
        path = os.path.join(tmp, "deck.cir")
        raw = os.path.join(tmp, "deck.raw")
        with open(path, "w") as fh:
            fh.write(deck)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([executable, "-b", "-r", raw, path], capture_output=True, text=True,
                                  timeout=timeout, cwd=tmp)
        except subprocess.TimeoutExpired as e:
            raise NgspiceError(f"ngspice took more than {timeout:g} s") from e
        wall = time.perf_counter() - t0
        output = proc.stdout + proc.stderr
        failed = re.search(r"(?i)simulation\(s\) aborted|^error", output, re.MULTILINE)
        if proc.returncode != 0 or not os.path.exists(raw) or failed:
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise NgspiceError(f"ngspice failed (exit code {proc.returncode}):\n{tail}")
        vectors = _read_raw_vectors(raw)
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
