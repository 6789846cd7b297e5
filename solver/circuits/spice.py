"""Cross-check with ngspice: run a network's DC operating point in ngspice and read it back.

:func:`run_ngspice` writes the network with :func:`solver.write_netlist`
(nodes and elements renamed ``n1, n2 ...``, ``R1, D1 ...`` so that any node
name is safe), replaces each ideal diode by a steep exponential diode,
runs ``ngspice -b`` on it and reads the node voltages from its binary raw
file, along with ngspice's own timings.

How close to ideal is the diode model?
--------------------------------------
SPICE's diode carries ``I = IS (exp(V / (N Vt)) - 1)`` plus ``GMIN * V``
(``Vt`` = 25.85 mV at 27 C, ``GMIN`` = 1e-12 S). With :data:`NGSPICE_DIODE_MODEL`
(``IS=1e-12``, ``N=0.001``):

* a conducting diode with current ``I`` stands ``N Vt ln(1 + I / IS)`` above
  its threshold instead of exactly at it: 0.54 mV at 1 mA, 0.71 mV at 1 A;
* a blocking diode leaks at most ``IS + GMIN |V|``, ~1e-12 A per volt.

The ngspice answer is therefore the exact answer of the ideal network whose
thresholds are raised by those forward drops ``delta_j`` (plus the tiny
leakage). A node voltage is a continuous, piecewise linear function of the
thresholds whose slope in each one is in [-1, 1] (raising one threshold by
``d`` is a voltage source ``d`` in series with that diode; in a resistive
network a lone source moves no node by more than its own value), so
``|v_ngspice - v_ideal| <= sum_j delta_j``. :attr:`SpiceResult.forward_drop_sum`
reports that bound for each run, from ngspice's own junction voltages.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from ..core.network import GROUND, Network
from .netlist import DEFAULT_DIODE_MODEL, SPICE_OPTIONS, _netlist_lines

__all__ = [
    "GMIN",
    "NGSPICE_DIODE_MODEL",
    "NGSPICE_OPTIONS",
    "NgspiceError",
    "SpiceResult",
    "THERMAL_VOLTAGE",
    "diode_model_drop",
    "ngspice_available",
    "run_ngspice",
]

#: The near-ideal diode given to ngspice: steep (N=0.001: 25.9 uV per e-fold
#: of current) yet within what ngspice's Newton iteration converges on.
NGSPICE_DIODE_MODEL = DEFAULT_DIODE_MODEL  # "DIDEAL D(IS=1e-12 N=0.001)"

#: Thermal voltage kT/q at ngspice's default 27 C (V).
THERMAL_VOLTAGE = 0.025851991

#: ngspice's default conductance across every junction (S).
GMIN = 1e-12

#: Convergence settings given to ngspice: SPICE's defaults accept wrong
#: operating points of networks of steep diodes (see
#: :data:`solver.circuits.netlist.SPICE_OPTIONS`; a steeper N=1e-4 model still converged
#: falsely on 1 in 30 random networks even with these).
NGSPICE_OPTIONS = SPICE_OPTIONS

_TIMES = {
    "load": r"Netlist loading time\s*=\s*([0-9.eE+-]+)",
    "parse": r"Netlist parsing time\s*=\s*([0-9.eE+-]+)",
    "expand": r"Subckt and Param expansion time\s*=\s*([0-9.eE+-]+)",
    "analysis": r"Total analysis time \(seconds\)\s*=\s*([0-9.eE+-]+)",
    "elapsed": r"Total elapsed time \(seconds\)\s*=\s*([0-9.eE+-]+)",
}


class NgspiceError(RuntimeError):
    """ngspice is missing, failed, or gave no operating point."""


def ngspice_available(executable="ngspice") -> bool:
    """True when the ngspice executable is on the PATH."""
    return shutil.which(executable) is not None


def diode_model_drop(current, is_=1e-12, n=0.001, vt=THERMAL_VOLTAGE) -> float:
    """Forward voltage of the SPICE diode model at ``current`` (A): ``N Vt ln(1 + I / IS)``."""
    return n * vt * math.log1p(max(current, 0.0) / is_)


@dataclass
class SpiceResult:
    """What ngspice computed for a network.

    Attributes
    ----------
    voltages : dict
        Node (as named in the network) -> potential (V).
    source_currents : dict
        Voltage-source name -> current from its p terminal through it to n (A),
        SPICE's (and :class:`solver.Solution`'s) convention.
    junction_voltages : dict
        Diode name -> voltage across the exponential junction: the diode's
        drop minus its threshold. Positive (a fraction of a mV) when it conducts.
    forward_drop_sum : float
        Sum of the positive junction voltages: a bound on how far any node
        voltage may differ from the ideal-diode answer (see the module notes).
    times : dict
        Seconds: ``wall`` (the whole ngspice process, as seen from Python),
        and as ngspice reports them ``load``, ``parse``, ``expand`` (reading
        the netlist), ``analysis`` (the operating point) and ``elapsed``.
    netlist : str
        The netlist ngspice ran.
    output : str
        ngspice's standard output and error.
    """

    voltages: dict
    source_currents: dict
    junction_voltages: dict
    forward_drop_sum: float
    times: dict = field(default_factory=dict)
    netlist: str = field(default="", repr=False)
    output: str = field(default="", repr=False)


def _read_raw_vectors(path):
    """Every variable of an ngspice raw file (binary or ASCII, real data) as an array over its points."""
    with open(path, "rb") as fh:
        data = fh.read()
    names = []
    n_vars = n_points = None
    pos = 0
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
                fields = data[pos:end].decode("latin-1").split()
                pos = end + 1
                names.append(fields[1].lower())
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


def _run_batch(netlist, executable, timeout):
    """Run ``ngspice -b`` on netlist text; return (every raw-file vector, wall seconds, its output)."""
    if shutil.which(executable) is None:
        raise NgspiceError(f"{executable!r} not found; install ngspice (Debian: apt-get install ngspice)")
    with tempfile.TemporaryDirectory(prefix="resistive-explorer-ngspice-") as tmp:
        deck = os.path.join(tmp, "circuit.cir")
        raw = os.path.join(tmp, "circuit.raw")
        with open(deck, "w") as fh:
            fh.write(netlist)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([executable, "-b", "-r", raw, deck], capture_output=True,
                                  text=True, timeout=timeout, cwd=tmp)
        except subprocess.TimeoutExpired as e:
            raise NgspiceError(f"ngspice took more than {timeout:g} s") from e
        wall = time.perf_counter() - t0
        output = proc.stdout + proc.stderr
        # ngspice notes failed gmin or source stepping on its way and still
        # succeeds; only an aborted analysis or a missing raw file is a failure
        failed = re.search(r"(?i)simulation\(s\) aborted|^error", output, re.MULTILINE)
        if proc.returncode != 0 or not os.path.exists(raw) or failed:
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise NgspiceError(f"ngspice failed (exit code {proc.returncode}):\n{tail}")
        return _read_raw_vectors(raw), wall, output


def run_ngspice(net: Network, *, diode_model=NGSPICE_DIODE_MODEL, executable="ngspice",
                timeout=600.0, options=NGSPICE_OPTIONS) -> SpiceResult:
    """Run the DC operating point of ``net`` in ngspice (batch mode) and read it back.

    Parameters
    ----------
    net : Network
    diode_model : str
        ``.model`` card for every diode, ``"NAME D(parameters)"``.
    executable : str
        The ngspice command.
    timeout : float
        Seconds before ngspice is stopped.
    options : str
        ``.options`` settings (``acct`` is always added for the timings);
        the default tightens the convergence tolerances, see
        :data:`NGSPICE_OPTIONS`.

    Returns
    -------
    SpiceResult

    Raises
    ------
    NgspiceError
        When ngspice is not installed, fails, or does not converge.
    """
    index = {node: (GROUND if node == GROUND else f"n{i}") for i, node in enumerate(net.nodes)}
    letter = {"resistor": "R", "diode": "D", "vsource": "V", "isource": "I"}
    spice_name = {}
    for i, e in enumerate(net.elements(), start=1):
        spice_name[e.name] = f"{letter[e.kind]}{i}"
    lines = _netlist_lines(net, "resistive-explorer ngspice cross-check", diode_model,
                           node_text=index, element_text=lambda e: spice_name[e.name])
    # later .options lines override earlier ones: the caller's settings win
    lines += [f".options acct {options}".rstrip(), ".op", ".end"]
    netlist = "\n".join(lines) + "\n"

    vectors, wall, output = _run_batch(netlist, executable, timeout)
    if len(next(iter(vectors.values()), [])) != 1:
        raise NgspiceError(f"expected one operating point from ngspice, found {len(next(iter(vectors.values()), []))}")
    values = {name: float(v[0]) for name, v in vectors.items()}

    voltages = {}
    for node, text in index.items():
        voltages[node] = 0.0 if text == GROUND else values[f"v({text})"]
    currents = {e.name: values[f"i({spice_name[e.name].lower()})"] for e in net.elements("vsource")}
    junction = {}
    for e in net.elements("diode"):
        inner = spice_name[e.name] + "_th" if e.value != 0.0 else None
        v_inner = values[f"v({inner.lower()})"] if inner else voltages[e.n]
        junction[e.name] = voltages[e.p] - v_inner
    forward = float(sum(max(v, 0.0) for v in junction.values()))
    times = {"wall": wall}
    for key, pattern in _TIMES.items():
        found = re.findall(pattern, output)
        if found:
            times[key] = float(found[-1])
    return SpiceResult(voltages, currents, junction, forward, times, netlist, output)
