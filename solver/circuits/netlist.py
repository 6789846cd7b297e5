"""SPICE netlists in and out: :func:`read_netlist` and :func:`write_netlist`.

The subset of SPICE that describes a resistive network is read exactly:

=====================  =====================================================
netlist                network
=====================  =====================================================
``Rname a b value``    resistor, conductance ``1/value``
``Dname a k model``    ideal diode (the ``.model NAME D(...)`` card must
                       exist; its parameters are ignored: the diode is ideal)
``Vname p n [DC] v``   voltage source ``v(p) - v(n) = v``; no value means 0 V
``Iname p n [DC] i``   current source, ``i`` flows from p through it to n
``Xname n1 .. sub``    instance of ``.subckt sub p1 ..`` flattened in place,
                       nested instances too; as in ngspice, element ``R1`` of
                       instance ``X1`` becomes ``R.X1.R1`` and its inner node
                       ``m`` becomes ``X1.m``
``0``, ``gnd``         ground
=====================  =====================================================

plus the title line (the first non-blank line), ``*`` comment lines, ``;``
and `` $`` inline comments, ``+`` continuation lines, ``.title``, ``.op``,
``.model``, ``.subckt``/``.ends``, ``.end`` and ``.options`` (ignored: it
only tunes a simulator). ``.dc`` sweeps are skipped here and run by
:func:`solver.run_netlist`; a ``.control ... .endc`` block (ngspice
commands) is skipped with a :class:`NetlistWarning`. Names and keywords are
case-insensitive (the first spelling of a node or element is kept), values
take SPICE's scale suffixes (``f p n u m k meg g t``, and ``mil``) followed by
any unit letters: ``10kOhm``, ``5V``, ``2.5mA``. Beware that, as in SPICE,
``1F`` means one femto-unit. Node names that are decimal integers (``1``,
``42``) become ``int`` nodes, all others stay strings.

A diode threshold ``theta`` has no SPICE parameter, so it is written the usual
way, as an ideal diode in series with a voltage source of ``theta`` volts::

    D1 a D1_th DIDEAL
    VD1_th D1_th k DC 0.7

and when :func:`read_netlist` finds that idiom (a source named ``V<diode>_th``
from the diode's cathode, a node that nothing else touches) it reads it back as
one diode with ``threshold=0.7``, so ``read_netlist(write_netlist(net)) == net``.

Everything else (capacitors, inductors, transistors, controlled sources,
analyses other than ``.op`` and ``.dc``, ``.param``, ``.include``, unknown dot-commands ...)
is rejected with a :class:`NetlistError` naming the file, the line and its
text, as are malformed values, values beyond a double's range (``1e400``, a
400-digit integer) and duplicate names. A transient or AC
specification after a source's DC value is ignored with a
:class:`NetlistWarning`.

Reading costs time linear in the text plus the size of the flattened network,
and that size is bounded before any work: the elements and nodes that the
subcircuits expand to are counted from their definitions, and a netlist over
``max_elements`` or ``max_nodes`` (:data:`MAX_ELEMENTS`, :data:`MAX_NODES` by
default) is refused with the instance path at which the limit is passed. So a
few hundred bytes of subcircuits that each instantiate the next twice are
refused at once, not expanded to millions of elements; so is nesting so deep
that the expanded names (``R.X1.X1...X1.R1``) would hold more than
:data:`PATH_CHARACTERS_PER_ELEMENT` characters of instance path per allowed
element. Expansion uses an explicit stack (no ``RecursionError`` at any
depth) and continuation lines are joined once (no quadratic copying).
"""

from __future__ import annotations

import gc
import math
import os
import re
import warnings
from decimal import Context, Decimal, localcontext

from ..exceptions import NetworkError
from ..core.network import GROUND, Element, Network, _check_ranges, _check_value, _conductance

__all__ = [
    "DEFAULT_DIODE_MODEL",
    "MAX_ELEMENTS",
    "MAX_NODES",
    "NetlistError",
    "NetlistWarning",
    "SPICE_OPTIONS",
    "format_value",
    "parse_value",
    "read_netlist",
    "write_netlist",
]

#: ``.model`` card written for the ideal diodes. Its steepness only matters to
#: a SPICE simulator reading the file; resistive-explorer reads any D model as
#: an ideal diode. ``N=0.001`` makes the forward drop about 25.9 uV per e-fold
#: of current: 0.54 mV at 1 mA, 0.71 mV at 1 A. Such steep diodes need tight
#: convergence tolerances in SPICE, see :data:`SPICE_OPTIONS`.
DEFAULT_DIODE_MODEL = "DIDEAL D(IS=1e-12 N=0.001)"

#: Convergence settings written with the diodes. With SPICE's defaults
#: (reltol=1e-3, vntol=1e-6 V, abstol=1e-12 A) Newton's iteration can stop on a
#: wrong operating point of a network of such steep diodes (seen: a 1.1 V error
#: on a random 30-node network): a 1 mV change of a junction voltage changes its
#: current e^40-fold, so loose tolerances accept points where diodes are wrongly
#: on. With these, ngspice agrees with the ideal answer within the forward drops.
SPICE_OPTIONS = "reltol=1e-6 vntol=1e-9 abstol=1e-15"

#: Suffix of the voltage source (and its inner node) that carries a diode threshold.
THRESHOLD_SUFFIX = "_th"


class NetlistError(NetworkError):
    """A netlist that cannot be read or written; names the file, the line and its text.

    Attributes ``file``, ``line`` (1-based, or None) and ``text`` (the offending
    line) locate the problem; ``problem`` is the message without them.
    """

    def __init__(self, problem, file=None, line=None, text=None):
        self.problem = problem
        self.file = file
        self.line = line
        self.text = text
        where = ""
        if file is not None and line is not None:
            where = f"{file}:{line}: "
        elif file is not None:
            where = f"{file}: "
        message = where + problem
        if text:
            message += f"\n    {_short(text.strip(), 200)}"
        super().__init__(message)


class NetlistWarning(UserWarning):
    """Part of a netlist line was ignored (e.g. a transient source specification)."""


# --------------------------------------------------------------------- values
#: SPICE scale factors. Longer ones first: ``meg`` and ``mil`` before ``m``.
_SCALE = (("meg", "1e6"), ("mil", "25.4e-6"), ("t", "1e12"), ("g", "1e9"), ("k", "1e3"),
          ("m", "1e-3"), ("u", "1e-6"), ("n", "1e-9"), ("p", "1e-12"), ("f", "1e-15"))
_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)([A-Za-z]*)\Z")

#: Resistances written with more significant digits than a double holds are
#: inverted exactly (see :func:`_resistance_text`).
_EXACT_DIGITS = 17
_DECIMAL = Context(prec=50)
_INF = math.inf


def _split_number(text):
    """(mantissa text, scale text or None) of a SPICE number, or raise ValueError."""
    match = _NUMBER.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a SPICE number")
    letters = match.group(2).lower()
    for suffix, scale in _SCALE:
        if letters.startswith(suffix):
            return match.group(1), scale
    return match.group(1), None


def parse_value(text) -> float:
    """Read a SPICE number: ``"4.7k"`` -> 4700.0, ``"10kOhm"`` -> 1e4, ``"1meg"`` -> 1e6.

    A scale suffix (``f p n u m k meg g t mil``, any case) may follow the
    number, then any unit letters, which are ignored. Raises ``ValueError``
    on anything else.
    """
    try:
        value = float(text)  # the fast path: plain numbers are most of a big netlist
    except ValueError:
        number, scale = _split_number(text)
        value = float(number) if scale is None else float(number) * float(scale)
    else:
        # float() also takes 'nan', 'inf', '1_000' and blanks: not SPICE numbers
        if "_" in text or text != text.strip() or (not math.isfinite(value)
                                                   and _NUMBER.match(text) is None):
            raise ValueError(f"{_short(text)!r} is not a finite SPICE number")
    if not math.isfinite(value):  # 1e400, a 400-digit integer, 1e308meg
        raise _OutOfRange(f"{_short(text)!r} is out of range: magnitudes must stay below "
                          f"{_FLOAT_MAX:.3g}")
    return value


class _OutOfRange(ValueError):
    """A well-formed SPICE number too large for a double."""


_FLOAT_MAX = 1.7976931348623157e308


def _short(token, limit=40):
    """``token``, cut to ``limit`` characters for an error message (a 400-digit number...)."""
    token = str(token)
    return token if len(token) <= limit else f"{token[:limit]}... ({len(token)} characters)"


def format_value(x) -> str:
    """The shortest text that :func:`parse_value` reads back as exactly ``x``."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _conductance_of(token, r):
    """Conductance of a resistance token whose float value is ``r``.

    ``1 / r`` in floating point, except for tokens with more significant
    digits than a double holds: those are inverted in 50-digit decimal
    arithmetic, then rounded once to a double. That is how
    :func:`_resistance_text` makes every conductance round-trip: its tokens'
    exact inverses lie within 1e-25 (relative) of a double, so far from any
    rounding tie that the 50-digit quotient rounds to that very double.
    """
    if not r > 0.0:
        return 0.0  # zero (or an underflow to zero) or negative: _build names the resistor
    if len(token) > _EXACT_DIGITS + 1:
        number, scale = _split_number(token)
        mantissa = number.lstrip("+-").split("e")[0].split("E")[0].replace(".", "").lstrip("0")
        if len(mantissa) > _EXACT_DIGITS:
            resistance = Decimal(number) if scale is None else _DECIMAL.multiply(Decimal(number),
                                                                                 Decimal(scale))
            return float(_DECIMAL.divide(1, resistance))
    return 1.0 / r


def _resistance_text(g) -> str:
    """A resistance text from which :func:`_conductance_of` gives back exactly ``g``.

    ``1 / (1 / g)`` is ``g`` for most conductances, and then the short text
    of ``1 / g`` is written. For the others (about one in seven: near the top
    of a binade, ``1 / x`` skips doubles) no double resistance gives ``g``, so
    ``1 / g`` is written with 25 significant digits, whose exact inverse rounds
    to ``g``. SPICE simulators read either as the same resistance to 1e-16.
    """
    r = 1.0 / g
    if 1.0 / r == g:
        return format_value(r)
    with localcontext() as ctx:
        ctx.prec = 25
        # all 25 digits, trailing zeros too: a short exact inverse (g = 5**15 gives 3.2768e-11)
        # would otherwise be read back through the float path and miss g
        return f"{Decimal(1) / Decimal(g):.24e}"


# -------------------------------------------------------------------- reading
# A parsed element before flattening is a tuple (kind letter in lower case,
# name, node tokens, value or model or subcircuit name, line number, line text):
# tuples keep a 10^5-line netlist fast to read.
KIND, NAME, NODES, VALUE, LINE, TEXT = range(6)


class _Subckt:
    """A ``.subckt`` definition: its ports and body of raw element tuples."""

    __slots__ = ("name", "ports", "body", "line", "text", "merged")

    def __init__(self, name, ports, line, text):
        self.name, self.ports, self.line, self.text = name, ports, line, text
        self.body = []
        self.merged = None


_KIND = {"r": "resistor", "d": "diode", "v": "vsource", "i": "isource"}

_UNSUPPORTED_ELEMENTS = {
    "a": "XSPICE code models", "b": "behavioural sources", "c": "capacitors",
    "e": "voltage-controlled voltage sources", "f": "current-controlled current sources",
    "g": "voltage-controlled current sources", "h": "current-controlled voltage sources",
    "j": "JFETs", "k": "coupled inductors", "l": "inductors", "m": "MOSFETs",
    "n": "numerical devices", "o": "lossy transmission lines", "p": "coupled lines",
    "q": "bipolar transistors", "s": "voltage-controlled switches",
    "t": "transmission lines", "u": "RC lines", "w": "current-controlled switches",
    "y": "transmission lines", "z": "MESFETs",
}

_ANALYSES = {".ac", ".tran", ".noise", ".tf", ".sens", ".pz", ".disto", ".four",
             ".meas", ".measure", ".pss", ".sp"}


class _LineError(Exception):
    """Internal: a problem at a line, turned into a NetlistError once the file name is known."""

    def __init__(self, problem, line, text):
        super().__init__(problem)
        self.problem, self.line, self.text = problem, line, text


def _strip_comment(line):
    """Drop a ``;`` inline comment, or a ``$`` one preceded by blank space (ngspice)."""
    cut = line.find(";")
    if cut >= 0:
        line = line[:cut]
    if "$" in line:
        for i, ch in enumerate(line):
            if ch == "$" and (i == 0 or line[i - 1] in " \t"):
                return line[:i]
    return line


def _logical_lines(text):
    """The title, and [line number, text] of each logical line with its continuations joined.

    The title is the first non-blank line, whatever it holds (as in SPICE; blank
    lines before it are skipped so that a triple-quoted string works).
    """
    title = None
    logical = []
    # Continuations are collected as pieces and joined once: appending to the
    # line's string each time would copy it again and again (quadratic time).
    pieces = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if title is None:
            if line:
                title = line
            continue
        if not line or line[0] == "*":
            continue  # comments may also sit between a line and its continuation
        if ";" in line or "$" in line:
            line = _strip_comment(line).strip()
            if not line:
                continue
        if line[0] == "+":
            if not logical:
                raise _LineError("a '+' continuation line follows no element line", number, raw)
            if pieces is None:
                pieces = [logical[-1][1]]
            pieces.append(line[1:])
            continue
        if pieces is not None:
            logical[-1][1] = " ".join(pieces)
            pieces = None
        logical.append([number, line])
    if pieces is not None:
        logical[-1][1] = " ".join(pieces)
    return title or "", logical


def _value(token, what, number, text):
    try:
        return parse_value(token)
    except _OutOfRange:
        raise _LineError(f"{what} {_short(token)!r} is out of range (magnitudes must stay below "
                         f"{_FLOAT_MAX:.3g})", number, text) from None
    except ValueError:
        raise _LineError(f"malformed {what} {_short(token)!r} (expected a number such as 4.7k, "
                         "1e-3 or 10kOhm)", number, text) from None


def _parse(text):
    """Parse netlist text into (title, top-level raw elements, subcircuits, models)."""
    title, logical = _logical_lines(text)
    top = []
    subckts = {}
    models = {}
    current = None  # the .subckt being defined
    body = top
    append = body.append
    control = None  # line number of an open .control block: ngspice commands, skipped
    for number, line in logical:
        tokens = line.split()
        name = tokens[0]
        if control is not None:
            if name.lower() == ".endc":
                control = None
            continue
        c = name[0].lower()
        if c == "r" and len(tokens) == 4:  # the common case, kept short
            token = tokens[3]
            try:
                r = float(token)
                if r != r or r in (_INF, -_INF) or "_" in token:
                    raise ValueError  # float() reads 'nan', 'inf' and '1_0': SPICE does not
            except ValueError:
                r = _value(token, "resistance", number, line)
            if len(token) > _EXACT_DIGITS + 1:
                r = (r, _conductance_of(token, r))
            append((c, name, (tokens[1], tokens[2]), r, number, line))
            continue
        if c in _KIND:
            body.append(_element(c, name, tokens, number, line))
            continue
        if c == "x":
            if len(tokens) < 3:
                raise _LineError("a subcircuit instance needs its nodes and the subcircuit name",
                                 number, line)
            if any("=" in t or t.lower() == "params:" for t in tokens):
                raise _LineError("subcircuit parameters are not supported", number, line)
            body.append((c, name, tokens[1:-1], tokens[-1], number, line))
            continue
        if c != ".":
            if c in _UNSUPPORTED_ELEMENTS:
                raise _LineError(f"element {name}: {_UNSUPPORTED_ELEMENTS[c]} are not supported "
                                 "(resistive-explorer reads R, D, V, I and X lines)", number, line)
            raise _LineError(f"unknown element type {name[0]!r} in {name!r} (resistive-explorer "
                             "reads R, D, V, I and X lines)", number, line)
        head = name.lower()
        if head == ".end":
            if current is not None:
                raise _LineError(f".end inside .subckt {current.name} (missing .ends)", number, line)
            break
        if head in (".op", ".options", ".option", ".opt", ".dc"):
            continue  # simulator settings and analyses (run_netlist runs .dc): not the circuit
        if head == ".control":
            control = number
            warnings.warn(f"line {number}: skipping the .control ... .endc block (ngspice commands; "
                          "run the analyses with solver.run_netlist)", NetlistWarning, stacklevel=2)
            continue
        if head == ".title":
            title = line[len(name):].strip()
            continue
        if head == ".model":
            if len(tokens) < 3:
                raise _LineError(".model needs a name and a type, e.g. .model DX D(IS=1e-14)",
                                 number, line)
            key = tokens[1].lower()
            if key in models:
                raise _LineError(f"model {tokens[1]!r} is defined twice (first at line "
                                 f"{models[key][1]})", number, line)
            models[key] = (tokens[2].split("(")[0].lower(), number)
            continue
        if head == ".subckt":
            if current is not None:
                raise _LineError(f"nested .subckt definition inside {current.name}; define each "
                                 "subcircuit at top level (instances may nest)", number, line)
            if len(tokens) < 2:
                raise _LineError(".subckt needs a name and its ports", number, line)
            ports = tokens[2:]
            if any("=" in p or p.lower() == "params:" for p in ports):
                raise _LineError("subcircuit parameters are not supported", number, line)
            key = tokens[1].lower()
            if key in subckts:
                raise _LineError(f"subcircuit {tokens[1]!r} is defined twice (first at line "
                                 f"{subckts[key].line})", number, line)
            if len({p.lower() for p in ports}) != len(ports):
                raise _LineError("a port is listed twice", number, line)
            if any(_is_ground(p) for p in ports):
                raise _LineError("ground cannot be a subcircuit port", number, line)
            current = _Subckt(tokens[1], ports, number, line)
            subckts[key] = current
            body = current.body
            append = body.append
            continue
        if head == ".ends":
            if current is None:
                raise _LineError(".ends without .subckt", number, line)
            if len(tokens) > 1 and tokens[1].lower() != current.name.lower():
                raise _LineError(f".ends {tokens[1]} closes .subckt {current.name}", number, line)
            current, body = None, top
            append = body.append
            continue
        if head in _ANALYSES:
            raise _LineError(f"analysis {head} is not supported: resistive-explorer computes the DC "
                             "operating point only (remove the line, or use .op)", number, line)
        if head in (".include", ".inc", ".lib"):
            raise _LineError(f"{head} is not supported; paste the included netlist in place",
                             number, line)
        raise _LineError(f"unsupported dot-command {name} (supported: .title .model .subckt "
                         ".ends .op .dc .control .options .end)", number, line)
    if current is not None:
        raise _LineError(f".subckt {current.name} is never closed with .ends", current.line,
                         current.text)
    if control is not None:
        raise _LineError(".control block is never closed with .endc", control, ".control")
    return title, top, subckts, models


def _element(c, name, tokens, number, line):
    """The raw tuple of an R, D, V or I line."""
    if len(tokens) < 3:
        raise _LineError(f"element {name} needs two nodes", number, line)
    nodes = (tokens[1], tokens[2])
    rest = tokens[3:]
    if c == "r":
        raise _LineError(f"resistor {name} takes exactly one value after its nodes (got "
                         f"{len(rest)} fields); parameters such as TC= are not supported", number, line)
    if c == "d":
        if len(rest) != 1:
            raise _LineError(f"diode {name} takes exactly a model name after its nodes (area, OFF "
                             "and IC= are not supported)", number, line)
        return (c, name, nodes, rest[0], number, line)
    # voltage or current source: [DC] value, then an ignored AC/transient specification
    if not rest:
        return (c, name, nodes, 0.0, number, line)  # SPICE: no value means 0
    if rest[0].lower() == "dc":
        if len(rest) < 2:
            raise _LineError(f"source {name}: DC needs a value", number, line)
        value_token, extra = rest[1], rest[2:]
    else:
        value_token, extra = rest[0], rest[1:]
        try:
            parse_value(value_token)
        except _OutOfRange:
            pass  # a number, just too large: _value below says so
        except ValueError:
            raise _LineError(f"source {name} has no DC value before {value_token!r}; give one, e.g. "
                             f"'{name} {nodes[0]} {nodes[1]} DC 0 ...'", number, line) from None
    value = _value(value_token, "source value", number, line)
    if extra:
        warnings.warn(f"line {number}: source {name}: ignoring {' '.join(extra)!r} after the DC "
                      "value (only the operating point is computed)", NetlistWarning, stacklevel=2)
    return (c, name, nodes, value, number, line)


def _is_ground(token):
    return token == "0" or token.lower() == "gnd"


def _merge_thresholds(elements, ports=()):
    """Read ``D a x; V<D>_th x k theta`` (x touched by nothing else) back as one diode.

    The merged diode's value is ``(model, theta)``; the source disappears.
    """
    candidates = {}
    for e in elements:
        if e[KIND] == "v" and e[NAME].lower().endswith(THRESHOLD_SUFFIX):
            candidates[e[NAME][1:-len(THRESHOLD_SUFFIX)].lower()] = e
    if not candidates:
        return elements
    uses = {}
    for e in elements:
        for node in e[NODES]:
            key = node.lower()
            uses[key] = uses.get(key, 0) + 1
    port_keys = {p.lower() for p in ports}
    merged, dropped = [], set()
    for e in elements:
        v = candidates.get(e[NAME].lower()) if e[KIND] == "d" else None
        if v is not None:
            inner = e[NODES][1].lower()
            if (v[NODES][0].lower() == inner and uses[inner] == 2 and inner not in port_keys
                    and not _is_ground(inner) and v[VALUE] >= 0.0):
                e = ("d", e[NAME], (e[NODES][0], v[NODES][1]), (e[VALUE], v[VALUE]), e[LINE], e[TEXT])
                dropped.add(id(v))
        merged.append(e)
    return [e for e in merged if id(e) not in dropped]


def _flatten(top, subckts, max_elements, max_nodes):
    """Expand subcircuit instances into a flat list of raw tuples.

    As in ngspice, element ``R1`` of instance ``X2`` inside instance ``X1``
    becomes ``R.X1.X2.R1`` and its inner node ``m`` becomes ``X1.X2.m``. An
    expanded tuple carries a seventh field saying which instance it came from.

    The size of the expansion is counted from the definitions first (linear
    in the text), so a netlist whose subcircuits each instantiate the next
    twice is refused before any of its 2^depth elements is made. Expansion
    uses an explicit stack: nesting depth is bounded by memory, not by
    Python's recursion limit.
    """
    top = _merge_thresholds(top)
    if not subckts:
        _unknown_x(top)
        if max_elements is not None and len(top) > max_elements:
            raise _LineError(f"the netlist has {len(top):,} elements, over the limit of "
                             f"{max_elements:,} elements (max_elements=)", None, None)
        return top  # its nodes are counted as they are made, in _build
    for sub in subckts.values():
        sub.merged = _merge_thresholds(sub.body, sub.ports)
    sizes = _instance_sizes(top, subckts)
    _check_budget(top, subckts, sizes, max_elements, max_nodes)
    out = []
    append = out.append
    # each frame: (iterator over a body, instance path, port map, "(in instance ...)")
    stack = [(iter(top), "", {}, "")]
    while stack:
        elements, path, port_map, where = stack[-1]
        for e in elements:
            if path:
                nodes = [port_map.get(t.lower()) or (t if _is_ground(t) else f"{path}.{t}")
                         for t in e[NODES]]
                name = f"{e[NAME][0]}.{path}.{e[NAME]}"
            else:
                nodes, name = e[NODES], e[NAME]
            if e[KIND] != "x":
                append((e[KIND], name, nodes, e[VALUE], e[LINE], e[TEXT], where) if path else e)
                continue
            sub = subckts[e[VALUE].lower()]  # exists: _instance_sizes checked every instance
            inner = dict(zip((p.lower() for p in sub.ports), nodes))
            stack.append((iter(sub.merged), f"{path}.{e[NAME]}" if path else e[NAME], inner,
                          f" (in instance {name}, line {e[LINE]})"))
            break
        else:
            stack.pop()
    return out


def _subckt_key(e, subckts, chain, open_keys=frozenset()):
    """The subcircuit an X element instantiates, checked: it exists, ports match, no cycle."""
    inside = f" (in subcircuit {chain[-1]})" if chain else ""
    key = e[VALUE].lower()
    sub = subckts.get(key)
    if sub is None:
        raise _LineError(f"instance {e[NAME]} of unknown subcircuit {e[VALUE]!r}" + inside,
                         e[LINE], e[TEXT])
    if len(e[NODES]) != len(sub.ports):
        raise _LineError(f"instance {e[NAME]} gives {len(e[NODES])} nodes but subcircuit {sub.name} "
                         f"(line {sub.line}) has {len(sub.ports)} ports" + inside, e[LINE], e[TEXT])
    if key in open_keys:  # a set: nesting 10^4 deep must not cost 10^8 list scans
        raise _LineError(f"subcircuit {sub.name} instantiates itself ("
                         f"{' -> '.join(chain + [key])})" + inside, e[LINE], e[TEXT])
    return key


def _instance_sizes(top, subckts):
    """Elements and nodes one instance of each used subcircuit adds, counted without expanding.

    Returns ``{key: sizes}`` as :func:`_body_size` gives them. Nodes are the
    body's inner nodes (not ports, not ground), each instance making its own.
    A depth-first walk with an explicit stack checks every reachable instance
    (unknown subcircuit, port count, self-instantiation) on the way.
    """
    sizes = {}
    for root in top:
        if root[KIND] != "x":
            continue
        key = _subckt_key(root, subckts, [])
        chain, open_keys = [key], {key}
        stack = [iter(subckts[key].merged)]
        while stack:
            for e in stack[-1]:
                if e[KIND] == "x":
                    child = _subckt_key(e, subckts, chain, open_keys)
                    if child not in sizes:
                        chain.append(child)
                        open_keys.add(child)
                        stack.append(iter(subckts[child].merged))
                        break
            else:
                stack.pop()
                done = chain.pop()
                open_keys.discard(done)
                sizes[done] = _body_size(subckts[done], sizes)
    return sizes


def _touched_nodes(body, sizes):
    """Lower-case node tokens of ``body`` that its expansion puts an element on.

    A token given only to an instance port that nothing inside touches makes
    no node (nodes exist where elements are), so it is not counted.
    """
    touched = set()
    for e in body:
        if e[KIND] == "x":
            ports = sizes[e[VALUE].lower()][4]
            touched.update(e[NODES][i].lower() for i in ports)
        else:
            touched.update(t.lower() for t in e[NODES])
    return touched


def _body_size(sub, sizes):
    """Size of one instance of ``sub`` (its children already sized).

    ``(elements, nodes, own elements, own nodes, touched port indices, path
    characters)``: totals with nested instances, the parts of the body itself
    (its inner nodes: not ports, not ground), which ports the expansion
    touches, and the characters that the instance paths inside it add to the
    expanded names (an element ``k`` levels down carries ``k`` instance names).
    """
    ports = [p.lower() for p in sub.ports]
    touched = _touched_nodes(sub.merged, sizes)
    inner = {t for t in touched if not _is_ground(t)} - set(ports)
    own_elements = elements = nodes = chars = 0
    for e in sub.merged:
        if e[KIND] == "x":
            child = sizes[e[VALUE].lower()]
            elements += child[0]
            nodes += child[1]
            chars += child[5] + child[0] * (len(e[NAME]) + 1)
        else:
            own_elements += 1
    touched_ports = frozenset(i for i, p in enumerate(ports) if p in touched)
    return (elements + own_elements, nodes + len(inner), own_elements, len(inner), touched_ports,
            chars)


def _check_budget(top, subckts, sizes, max_elements, max_nodes):
    """Refuse, before expanding, a netlist whose expansion passes either limit.

    The error names the instance path at which the count first passes the
    limit, e.g. ``X1.X1.X2`` (counting each body's own elements or nodes
    first, then its instances in order).
    """
    top_nodes = {t for t in _touched_nodes(top, sizes) if not _is_ground(t)}
    top_elements = sum(1 for e in top if e[KIND] != "x")
    instances = [sizes[e[VALUE].lower()] for e in top if e[KIND] == "x"]
    totals = (top_elements + sum(s[0] for s in instances),
              1 + len(top_nodes) + sum(s[1] for s in instances))  # 1: ground
    for index, (what, limit, own) in enumerate((("elements", max_elements, top_elements),
                                                 ("nodes", max_nodes, 1 + len(top_nodes)))):
        if limit is None or totals[index] <= limit:
            continue
        path, count, body = [], own, top
        while count <= limit:  # descend into the instance whose expansion crosses the limit
            for e in body:
                if e[KIND] != "x":
                    continue
                size = sizes[e[VALUE].lower()]
                if count + size[index] > limit:
                    path.append(e)
                    count += size[index + 2]
                    body = subckts[e[VALUE].lower()].merged
                    break
                count += size[index]
        total = (f"{totals[index]:,}" if totals[index] < 10 ** 15  # 2^2000 has no float, no str
                 else f"more than 10^{int((totals[index].bit_length() - 1) * math.log10(2))}")
        if not path:
            raise _LineError(f"the netlist has {total} {what}, over the limit of {limit:,} {what} "
                             f"(max_{what}=)", None, None)
        last = path[-1]
        where = _short(".".join(e[NAME] for e in path), 120)
        raise _LineError(f"expanding subcircuit instance {where} passes "
                         f"the limit of {limit:,} {what} (max_{what}=); the whole netlist would "
                         f"expand to {total} {what}", last[LINE], last[TEXT])
    _check_name_lengths(top, sizes, max_elements)


def _check_name_lengths(top, sizes, max_elements):
    """Refuse nesting so deep that the expanded names alone would fill memory.

    Names grow with depth (``R.X1.X1...X1.R1``), so n levels of one element
    each make n^2/2 instance names: 60,000 levels fit in 2 MB of text and
    would take gigabytes. The budget is :data:`PATH_CHARACTERS_PER_ELEMENT`
    characters of instance path per element allowed by ``max_elements``.
    """
    if max_elements is None:
        return
    limit = PATH_CHARACTERS_PER_ELEMENT * max_elements
    chars = [(sizes[e[VALUE].lower()][5] + sizes[e[VALUE].lower()][0] * len(e[NAME]), e)
             for e in top if e[KIND] == "x"]
    total = sum(c for c, _ in chars)
    if total > limit:
        worst = max(chars, key=lambda c: c[0])[1]
        raise _LineError(f"subcircuits nest so deeply that the expanded element names would hold "
                         f"{total:,} characters of instance paths, over the limit of {limit:,} "
                         f"({PATH_CHARACTERS_PER_ELEMENT} per element of max_elements=); the most "
                         f"from instance {worst[NAME]}", worst[LINE], worst[TEXT])


def _unknown_x(top):
    for e in top:
        if e[KIND] == "x":
            raise _LineError(f"instance {e[NAME]} of unknown subcircuit {e[VALUE]!r}", e[LINE], e[TEXT])


def _where(e):
    return e[6] if len(e) > 6 else ""


def _build(flat, models, file, max_nodes=None):
    """Validate the flat element list and assemble the Network."""
    spelling = {}  # lower-case node name -> canonical node (first spelling kept)

    def node(token):
        got = spelling.get(token)
        if got is None:
            key = token.lower()
            got = spelling.get(key)
            if got is None:
                if _is_ground(token):
                    got = GROUND
                elif (token.isdigit() and token.isascii() and len(token) <= _MAX_INT_NODE_DIGITS
                      and str(int(token)) == token):
                    got = int(token)
                else:
                    got = token
                spelling[key] = got
            spelling[token] = got
        return got

    nodes = {GROUND: {}}
    elements = {}
    seen = {}  # lower-case element name -> line
    spelled = spelling.get
    new_element = Element
    inf = math.inf
    for raw in flat:
        kind = _KIND[raw[0]]
        name, (a, b), value = raw[1], raw[2], raw[3]
        key = name.lower()
        if key in seen:
            raise NetlistError(f"duplicate element name {name!r} (first defined at line {seen[key]}; "
                               "SPICE names are case-insensitive)" + _where(raw), file, raw[LINE],
                               raw[TEXT])
        seen[key] = raw[LINE]
        p = spelled(a) or node(a)  # canonical nodes are never falsy: int 0 is "0"
        n = spelled(b) or node(b)
        if p not in nodes or n not in nodes:
            nodes.setdefault(p, {})
            nodes.setdefault(n, {})
            if max_nodes is not None and len(nodes) > max_nodes:
                raise NetlistError(f"the netlist has more than {max_nodes:,} nodes, the limit of "
                                   f"{max_nodes:,} nodes (max_nodes=)" + _where(raw), file, raw[LINE],
                                   raw[TEXT])
        if kind == "resistor" and type(value) is float and value > 0.0 and p != n:
            g = 1.0 / value  # the bulk of a big netlist: a plain positive resistance
            if g != inf:
                elements[name] = new_element(kind, name, p, n, g)
                continue
        try:
            if kind == "resistor":
                r, g = value if type(value) is tuple else (value, None)
                if g is None:
                    g = 1.0 / r if r > 0.0 else 0.0
                if g > 0.0 and g != math.inf:
                    value = g
                else:
                    value = _conductance(name, r, None)  # raises with the reason
            elif kind == "diode":
                model, threshold = (value, 0.0) if isinstance(value, str) else value
                found = models.get(model.lower())
                if found is None:
                    raise NetworkError(f"diode {name}: no .model {model} in the netlist")
                if found[0] != "d":
                    raise NetworkError(f"diode {name}: model {model} (line {found[1]}) is a "
                                       f"{found[0].upper()} model, not a D model")
                value = _check_value(kind, name, threshold)
            else:
                value = _check_value(kind, name, value)
            if p == n:
                raise NetworkError(f"{kind} {name!r} connects node {a!r} to itself")
        except NetworkError as e:
            raise NetlistError(str(e) + _where(raw), file, raw[LINE], raw[TEXT]) from e
        elements[name] = Element(kind, name, p, n, value)
    # The checks above are those of Network._add, done in one pass; the
    # validated dicts go in through the network's bulk constructor.
    try:
        return Network._from_checked(nodes, elements)
    except NetworkError as e:
        # The fast path above leaves the range check to the bulk constructor, which
        # cannot know lines; find the first element at fault to name its line.
        for raw in flat:
            try:
                _check_ranges([elements[raw[1]]])
            except NetworkError as at_fault:
                raise NetlistError(str(at_fault) + _where(raw), file, raw[LINE], raw[TEXT]) from e
        raise


#: Default limits of :func:`read_netlist`: subcircuits can make a few hundred
#: bytes expand to millions of elements; the count is checked before expanding.
MAX_ELEMENTS = 1_000_000
MAX_NODES = 1_000_000

#: Characters of instance path (``X1.X2.``) per element that deep nesting may
#: add to the expanded names, times ``max_elements`` (see ``_check_name_lengths``).
PATH_CHARACTERS_PER_ELEMENT = 64

#: Decimal node names up to this many digits become ints; longer ones (which
#: Python will not even print as ints) stay strings.
_MAX_INT_NODE_DIGITS = 4000


def _check_limit(name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int or None (no limit), got {value!r}")
    return value


def read_netlist(source, *, max_elements=MAX_ELEMENTS, max_nodes=MAX_NODES) -> Network:
    """Read a SPICE netlist (a path, a file object, or the text itself) into a :class:`Network`.

    Parameters
    ----------
    source : str, os.PathLike or file object
        A path, an open file, or netlist text. A string holding a line break
        is text; a one-line string is a path.
    max_elements, max_nodes : int or None
        Work budget: a netlist that has, or whose subcircuits expand to, more
        elements or nodes (ground included) is refused with a
        :class:`NetlistError` naming the instance at which the limit is passed,
        before anything is expanded. None lifts a limit. Defaults
        :data:`MAX_ELEMENTS` and :data:`MAX_NODES`.

    Returns
    -------
    Network
        Element names keep their spelling; nodes named by decimal integers
        are ints. Subcircuits are flattened (``R.X1.R1``, node ``X1.m``).

    Raises
    ------
    NetlistError
        With ``file:line:`` and the offending text, for unsupported elements or
        dot-commands, malformed values, duplicate names, unknown models or
        subcircuits, invalid values (zero resistance, negative threshold, out of
        range...), and netlists over ``max_elements`` or ``max_nodes``.

    Examples
    --------
    >>> from solver import solve
    >>> net = read_netlist('''divider
    ... V1 in 0 DC 10
    ... R1 in mid 1k
    ... R2 mid 0 3kOhm   ; 7.5 V at mid
    ... .end''')
    >>> round(solve(net).voltages["mid"], 6)
    7.5
    """
    max_elements = _check_limit("max_elements", max_elements)
    max_nodes = _check_limit("max_nodes", max_nodes)
    if hasattr(source, "read"):
        text = source.read()
        file = getattr(source, "name", "<stream>")
    elif isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source
                                             and "\r" not in source):
        file = os.fspath(source)
        if not os.path.isfile(file):
            raise FileNotFoundError(f"no netlist file {file!r} (netlist text needs a title line "
                                    "and element lines)")
        with open(file, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    elif isinstance(source, str):
        text, file = source, "<string>"
    else:
        raise TypeError(f"read_netlist takes a path, a file object or netlist text, "
                        f"not {type(source).__name__}")
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    # A big netlist allocates ~10^6 small objects, none of them cyclic: the
    # cyclic garbage collector would rescan them over and over for nothing.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NetlistWarning)
            title, top, subckts, models = _parse(text)
            flat = _flatten(top, subckts, max_elements, max_nodes)
        net = _build(flat, models, file, max_nodes)
    except _LineError as e:
        raise NetlistError(e.problem, file, e.line, e.text) from None
    finally:
        if gc_was_enabled:
            gc.enable()
    for w in caught:  # re-issue ours with the file name in front, others as they were
        if issubclass(w.category, NetlistWarning):
            warnings.warn(f"{file}:{str(w.message)[len('line '):]}", NetlistWarning, stacklevel=2)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return net


# -------------------------------------------------------------------- writing
_BAD_NAME = re.compile(r"[\s;=(),$]")


def _checked_text(kind_of_name, name):
    text = str(name)
    if not text or _BAD_NAME.search(text) or text[0] in "+*.":
        raise NetlistError(f"{kind_of_name} {name!r} cannot be written to SPICE: names must not "
                           "contain blanks or ; = ( ) , $ nor start with + * .")
    return text


def _model_name(diode_model):
    fields = diode_model.replace("(", " ").split()
    if len(fields) < 2 or fields[1].lower() != "d":
        raise NetlistError(f"diode_model must read 'NAME D(...)', got {diode_model!r}")
    return fields[0]


def _netlist_lines(net, title, diode_model, node_text=None, element_text=None):
    """The lines of a netlist for ``net``; node and element names may be remapped."""
    model = _model_name(diode_model)
    if node_text is None:
        node_text = {}
        taken = {}
        for node in net.nodes:
            text = "0" if node == GROUND else _checked_text("node", node)
            other = taken.setdefault(text.lower(), node)
            if other != node:
                raise NetlistError(f"nodes {other!r} and {node!r} differ only in case; SPICE names are "
                                   "case-insensitive, rename one")
            node_text[node] = text
    taken_nodes = {t.lower() for t in node_text.values()}
    lines = [str(title).replace("\n", " ").replace("\r", " ") or "resistive-explorer network"]
    used_names = {}
    letter = {"resistor": "R", "diode": "D", "vsource": "V", "isource": "I"}

    def new_name(e, text):
        key = text.lower()
        if key in used_names:
            raise NetlistError(f"element {e.name!r} would be written as {text!r}, which SPICE does not "
                               f"tell from {used_names[key]!r} (names are case-insensitive); rename one")
        used_names[key] = e.name
        return text

    for e in net.elements():
        if element_text is not None:
            name = element_text(e)
        else:
            name = _checked_text("element", e.name)
            if name[0].upper() != letter[e.kind]:
                name = letter[e.kind] + name  # SPICE reads the kind from the first letter
        name = new_name(e, name)
        p, n = node_text[e.p], node_text[e.n]
        if e.kind == "resistor":
            if 1.0 / e.value == math.inf:  # a subnormal conductance: no double resistance holds it
                raise NetlistError(f"resistor {e.name!r}: conductance {e.value:g} S is below "
                                   f"{1.0 / _FLOAT_MAX:.3g} S, so its resistance exceeds the largest "
                                   "number SPICE reads")
            lines.append(f"{name} {p} {n} {_resistance_text(e.value)}")
        elif e.kind == "diode":
            if e.value == 0.0:
                lines.append(f"{name} {p} {n} {model}")
            else:
                inner = name + THRESHOLD_SUFFIX
                while inner.lower() in taken_nodes:
                    inner += "_"
                taken_nodes.add(inner.lower())
                source = new_name(e, "V" + name + THRESHOLD_SUFFIX)
                lines.append(f"{name} {p} {inner} {model}")
                lines.append(f"{source} {inner} {n} DC {format_value(e.value)}")
        else:
            lines.append(f"{name} {p} {n} DC {format_value(e.value)}")
    if net.elements("diode"):
        lines.append(f".model {diode_model}")
        # steep diodes make SPICE's default tolerances accept wrong operating points
        lines.append(f".options {SPICE_OPTIONS}")
    return lines


def write_netlist(net, path=None, *, diode_model=DEFAULT_DIODE_MODEL, title=None) -> str:
    """Write ``net`` as a SPICE netlist; return the text (and save it to ``path`` if given).

    Parameters
    ----------
    net : Network
    path : str or os.PathLike, optional
    diode_model : str
        The ``.model`` card of the diodes, ``"NAME D(parameters)"``. The
        default is steep (``N=0.001``) so that SPICE simulators see a nearly
        ideal diode; a diode threshold becomes a series voltage source.
    title : str, optional
        The title line.

    Notes
    -----
    Resistances are written with enough digits that reading the file gives
    the very same conductances, so ``read_netlist(write_netlist(net)) == net``
    for every network whose node and element names are SPICE names (no
    blanks, no two differing only in case; element names that do not start
    with their kind's letter get it prepended) and whose string nodes are not
    decimal integers (those read back as ints). Node attributes and nodes
    without elements are not written.

    Examples
    --------
    >>> from solver import Network
    >>> net = Network()
    >>> net.add_voltage_source("in", "0", 5.0)
    'V1'
    >>> net.add_diode("in", "out", threshold=0.7)
    'D1'
    >>> net.add_resistor("out", "0", resistance=1e3)
    'R1'
    >>> print(write_netlist(net, title="clamp"))
    clamp
    V1 in 0 DC 5
    D1 in D1_th DIDEAL
    VD1_th D1_th out DC 0.7
    R1 out 0 1000
    .model DIDEAL D(IS=1e-12 N=0.001)
    .options reltol=1e-6 vntol=1e-9 abstol=1e-15
    .op
    .end
    <BLANKLINE>
    """
    if not isinstance(net, Network):
        raise TypeError(f"write_netlist takes a Network, not {type(net).__name__}")
    lines = _netlist_lines(net, title or "resistive-explorer network", diode_model)
    lines += [".op", ".end"]
    text = "\n".join(lines) + "\n"
    if path is not None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    return text
