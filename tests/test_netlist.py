"""Reading and writing SPICE netlists (solver/netlist.py).

Each parsed netlist is compared with the network built by hand through the
Network API (an independent statement of what the text means); round trips are
checked with ``Network.__eq__``; every unsupported construct must raise a
NetlistError naming file, line and text.
"""

import math
import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import InvalidValueError, Network, NetworkError, solve
from solver.circuits.netlist import (
    NetlistError,
    NetlistWarning,
    format_value,
    parse_value,
    read_netlist,
    write_netlist,
)
from solver.config import MAX_CONDUCTANCE, MIN_CONDUCTANCE


# ------------------------------------------------------------------ values
@pytest.mark.parametrize("text, expected", [
    ("1", 1.0), ("-2.5", -2.5), ("+3", 3.0), (".5", 0.5), ("1e3", 1e3), ("1E-3", 1e-3),
    ("4.7k", 4.7e3), ("4.7K", 4.7e3), ("10kOhm", 1e4), ("10kohms", 1e4), ("1meg", 1e6),
    ("1MEG", 1e6), ("2.2Megohm", 2.2e6), ("1m", 1e-3), ("1M", 1e-3), ("1mA", 1e-3), ("1ms", 1e-3),
    ("3u", 3e-6), ("5n", 5e-9), ("6p", 6e-12), ("7f", 7e-15), ("1g", 1e9), ("1t", 1e12),
    ("1mil", 25.4e-6), ("5V", 5.0), ("5volt", 5.0), ("10Ohm", 10.0), ("1e3k", 1e6),
    ("0.7V", 0.7), ("2A", 2.0),
])
def test_parse_value(text, expected):
    assert parse_value(text) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("text", ["", "k", "abc", "1..2", "--1", "1k2", "nan", "inf",
                                  "1_000", "0x10", "1.2.3", "1e3.5"])
def test_parse_value_rejects(text):
    with pytest.raises(ValueError):
        parse_value(text)


@settings(deadline=None)  # the machine is shared: no per-example time limit
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_value_round_trips(x):
    assert parse_value(format_value(x)) == x


# ------------------------------------------------------------------ reading
def divider():
    """10 V across 1k + 3k: v(mid) = 10 * 3 / (1 + 3) = 7.5 V."""
    net = Network()
    net.add_voltage_source("in", "0", 10.0, name="V1")
    net.add_resistor("in", "mid", resistance=1e3, name="R1")
    net.add_resistor("mid", "0", resistance=3e3, name="R2")
    return net


def test_read_divider_matches_api_and_solves():
    net = read_netlist("voltage divider\nV1 in 0 DC 10\nR1 in mid 1k\nR2 mid 0 3k\n.options reltol=1e-6\n"
                       ".op\n.end\n")
    assert net == divider()
    assert solve(net).voltages["mid"] == pytest.approx(7.5, rel=1e-12)


def test_syntax_comments_continuations_case_and_ground():
    text = """
    A title line that looks like nothing special
    * a comment line
    v1 IN gnd dc 10V      ; inline comment
    R1 in
    * comments may sit inside a continued line
    + MID   $ ngspice inline comment
    + 1KOHM
    r2 Mid GND 3k
    .OP
    .END
    R3 this line is after .end and ignored
    """
    net = read_netlist(text)
    expected = Network()
    expected.add_voltage_source("IN", "0", 10.0, name="v1")  # first spelling of a node is kept
    expected.add_resistor("IN", "MID", resistance=1e3, name="R1")
    expected.add_resistor("MID", "0", resistance=3e3, name="r2")
    assert net == expected


def test_title_line_is_never_an_element():
    # SPICE's first line is the title even when it reads like an element
    net = read_netlist("R1 a 0 1k\nV1 a 0 1\nR2 a 0 2k\n")
    assert [e.name for e in net.elements()] == ["V1", "R2"]


def test_title_directive_and_decimal_nodes_become_ints():
    net = read_netlist("t\n.title another title\nV1 1 0 5\nR1 1 02 1k\nR2 02 0 1k\n")
    assert net.nodes == ["0", 1, "02"]  # "02" is not the decimal spelling of 2: stays a string


@pytest.mark.parametrize("line, value", [
    ("V1 a 0 5", 5.0), ("V1 a 0 DC 5", 5.0), ("V1 a 0 dc -2.5", -2.5), ("V1 a 0", 0.0),
    ("V1 a 0 DC 5V", 5.0),
])
def test_voltage_source_forms(line, value):
    net = read_netlist(f"t\n{line}\nR1 a 0 1\n")
    assert net.element("V1").value == value


@pytest.mark.parametrize("spec", ["PULSE(0 5 1n 1n 1n 1u 2u)", "SIN(0 1 1k)", "AC 1", "AC 1 0 SIN (0 1 1k)"])
def test_transient_spec_after_dc_is_ignored_with_warning(spec):
    with pytest.warns(NetlistWarning, match=r"<string>:2: source I1: ignoring"):
        net = read_netlist(f"t\nI1 a 0 DC 2m {spec}\nR1 a 0 1k\n")
    assert net.element("I1").value == pytest.approx(2e-3)


def test_source_without_dc_value_is_an_error():
    with pytest.raises(NetlistError, match=r"<string>:2: source V1 has no DC value") as info:
        read_netlist("t\nV1 a 0 PULSE(0 5 1n)\nR1 a 0 1k\n")
    assert info.value.line == 2 and "PULSE" in info.value.text


def test_current_source_sign_convention():
    """SPICE: I1 p n 1m drives 1 mA from p through the source to n, i.e. into node n.

    Into a 1 kOhm load from node n to ground: v(n) = +1 V.
    """
    net = read_netlist("t\nI1 0 n 1m\nR1 n 0 1k\n")
    assert solve(net).voltages["n"] == pytest.approx(1.0, rel=1e-12)


def test_diode_with_model_and_threshold_idiom():
    text = """clamp
    V1 in 0 5
    D1 in x DMOD
    VD1_th x out 0.7
    D2 0 out dmod
    R1 out 0 1k
    .model DMOD D(IS=1e-14 N=1.05)
    """
    net = read_netlist(text)
    expected = Network()
    expected.add_voltage_source("in", "0", 5.0, name="V1")
    expected.add_diode("in", "out", threshold=0.7, name="D1")
    expected.add_diode("0", "out", name="D2")
    expected.add_resistor("out", "0", resistance=1e3, name="R1")
    assert net == expected
    # D1 conducts with its 0.7 V drop: v(out) = 5 - 0.7; D2 (out >= 0) blocks
    assert solve(net).voltages["out"] == pytest.approx(4.3, rel=1e-12)


def test_threshold_idiom_needs_a_private_node():
    # the inner node x is also loaded by R2: a real source, kept as such
    net = read_netlist("t\nV1 in 0 5\nD1 in x DM\nVD1_th x out 0.7\nR2 x 0 1k\nR1 out 0 1k\n"
                       ".model DM D\n")
    assert net.element("D1").value == 0.0 and net.element("VD1_th").kind == "vsource"


def test_subcircuits_are_flattened_like_ngspice():
    text = """nested
    V1 in 0 DC 10
    X1 in mid half
    R9 mid 0 1k
    .subckt half a b
    R1 a m 1k
    X2 m b inner
    .ends half
    .SUBCKT inner p q
    R1 p q 1k
    D1 p x dm
    VD1_th x q 0.7
    R2 q gnd 2k
    .ENDS
    .model dm D()
    """
    net = read_netlist(text)
    expected = Network()
    expected.add_voltage_source("in", "0", 10.0, name="V1")
    expected.add_resistor("in", "X1.m", resistance=1e3, name="R.X1.R1")
    expected.add_resistor("X1.m", "mid", resistance=1e3, name="R.X1.X2.R1")
    expected.add_diode("X1.m", "mid", threshold=0.7, name="D.X1.X2.D1")
    expected.add_resistor("mid", "0", resistance=2e3, name="R.X1.X2.R2")
    expected.add_resistor("mid", "0", resistance=1e3, name="R9")
    assert net == expected


def test_two_instances_of_one_subcircuit():
    """Two 1k+1k dividers in cascade, each loading the previous one.

    Nodes: in = 8 V; a = output of X1; b = output of X2. X1: in-1k-a-1k-0,
    X2: a-1k-b-1k-0. KCL at b: b = a/2. At a: (8-a) = a + (a-b) -> 8 = 3a - a/2
    -> a = 3.2 V, b = 1.6 V.
    """
    text = "t\nV1 in 0 8\nX1 in a div\nX2 a b div\n.subckt div top out\nRa top out 1k\nRb out 0 1k\n.ends\n"
    v = solve(read_netlist(text)).voltages
    assert v["a"] == pytest.approx(3.2, rel=1e-12) and v["b"] == pytest.approx(1.6, rel=1e-12)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("line, what", [
    ("C1 a 0 1u", "capacitors"), ("L1 a 0 1m", "inductors"), ("Q1 a b 0 NPN", "bipolar"),
    ("M1 a b 0 0 NMOS", "MOSFETs"), ("E1 a 0 b 0 2", "voltage-controlled voltage"),
    ("F1 a 0 V1 2", "current-controlled current"), ("G1 a 0 b 0 1m", "voltage-controlled current"),
    ("H1 a 0 V1 1k", "current-controlled voltage"), ("B1 a 0 V=1", "behavioural"),
    ("K1 L1 L2 0.9", "coupled"), ("J1 a b 0 JM", "JFET"), ("S1 a 0 b 0 SW", "switches"),
    ("T1 a 0 b 0 Z0=50", "transmission"), ("W1 a 0 V1 SW", "switches"), ("Z1 a b 0 MZ", "MESFET"),
    ("&1 a 0 1", "unknown element type"),
])
def test_unsupported_elements_name_file_line_and_text(tmp_path, line, what):
    path = tmp_path / "bad.cir"
    path.write_text(f"title\nV1 a 0 1\n* comment\nR1 a 0 1k\n{line}\n.end\n")
    with pytest.raises(NetlistError) as info:
        read_netlist(path)
    err = info.value
    assert err.file == str(path) and err.line == 5 and err.text == line
    assert str(err).startswith(f"{path}:5: ") and what in str(err) and line in str(err)
    assert isinstance(err, NetworkError) and isinstance(err, ValueError)


@pytest.mark.parametrize("line, what", [
    (".tran 1n 1u", "analysis .tran"), (".tf v(a) V1", "analysis .tf"), (".ac dec 10 1 1k", "analysis .ac"),
    (".param r=1k", "unsupported dot-command .param"), (".include models.lib", ".include"),
    (".lib foo.lib tt", ".lib"), (".save all", "unsupported dot-command .save"),
    (".control", "never closed with .endc"), (".frobnicate", "unsupported dot-command .frobnicate"),
    (".global vdd", "unsupported dot-command"), (".ic v(a)=1", "unsupported"),
])
def test_unsupported_dot_commands(line, what):
    with pytest.raises(NetlistError, match=r"^<string>:3: ") as info:
        read_netlist(f"title\nR1 a 0 1k\n{line}\n")
    assert what in str(info.value) and info.value.text == line


@pytest.mark.parametrize("lines, line_no, what", [
    (["R1 a 0 1..2"], 2, "malformed resistance '1..2'"),
    (["R1 a 0 abc"], 2, "malformed resistance"),
    (["R1 a 0 0"], 2, "must be positive"),
    (["R1 a 0 -5"], 2, "must be positive"),
    (["R1 a 0 1e-400"], 2, "must be positive"),
    (["R1 a 0"], 2, "exactly one value"),
    (["R1 a 0 1k TC1=0.1"], 2, "exactly one value"),
    (["R1 a"], 2, "needs two nodes"),
    (["R1 a a 1k"], 2, "to itself"),
    (["V1 a 0 DC"], 2, "DC needs a value"),
    (["V1 a 0 DC 1x2"], 2, "malformed source value"),
    (["R1 a 0 1k", "r1 a 0 2k"], 3, "duplicate element name 'r1' (first defined at line 2"),
    (["R1 a 0 1k", "D1 a 0 DX"], 3, "no .model DX"),
    (["R1 a 0 1k", "D1 a 0 QX", ".model QX NPN"], 3, "is a NPN model, not a D model"),
    (["R1 a 0 1k", "D1 a 0 DX 2.0", ".model DX D"], 3, "area, OFF"),
    (["R1 a 0 1k", ".model DX D", ".model dx D"], 4, "defined twice"),
    (["R1 a 0 1k", "VD1_th a 0 -1", "D1 a 0 DX", ".model DX D"], 3, None),  # fine: not merged
    (["+ 1k"], 2, "continuation line follows no element"),
    (["R1 a 0 1k", "X1 a 0 nothere"], 3, "unknown subcircuit 'nothere'"),
    ([".subckt s a b", "R1 a b 1k", ".ends", "X1 a s"], 5, "gives 1 nodes but subcircuit s (line 2) has 2"),
    ([".subckt s a b", "X1 a b s", ".ends", "R1 a 0 1k", "X1 a 0 s"], 3, "instantiates itself (s -> s)"),
    ([".subckt s a b", ".subckt t c", ".ends", ".ends"], 3, "nested .subckt"),
    ([".subckt s a b", "R1 a b 1k"], 2, "never closed"),
    ([".subckt s a b", "R1 a b 1k", ".ends t"], 4, ".ends t closes .subckt s"),
    ([".ends"], 2, ".ends without .subckt"),
    ([".subckt s a a", ".ends"], 2, "a port is listed twice"),
    ([".subckt s a 0", ".ends"], 2, "ground cannot be a subcircuit port"),
    ([".subckt s a b params: r=1", ".ends"], 2, "parameters are not supported"),
    (["X1 a b s r=1"], 2, "parameters are not supported"),
    ([".subckt s a b", "R1 a b 0", ".ends", "X7 n 0 s"], 3, "in instance X7, line 5"),
    ([".subckt s a b", "R1 a b 1k", ".ends", ".subckt S c d", ".ends"], 5, "defined twice"),
    ([".subckt s a b", ".end"], 3, "missing .ends"),
])
def test_malformed_lines(lines, line_no, what):
    text = "title\n" + "\n".join(lines) + "\n"
    if what is None:
        read_netlist(text)
        return
    with pytest.raises(NetlistError) as info:
        read_netlist(text)
    assert info.value.line == line_no, str(info.value)
    assert what in str(info.value)
    assert str(info.value).startswith(f"<string>:{line_no}: ")


def test_missing_file_and_wrong_type(tmp_path):
    with pytest.raises(FileNotFoundError, match="no netlist file"):
        read_netlist(str(tmp_path / "absent.cir"))
    with pytest.raises(TypeError):
        read_netlist(42)


def test_reads_a_file_object(tmp_path):
    path = tmp_path / "d.cir"
    write_netlist(divider(), path)
    with open(path) as fh:
        assert read_netlist(fh) == divider()
    assert read_netlist(path) == read_netlist(str(path)) == divider()


# ------------------------------------------------------------------ writing and round trips
def random_network(seed, n_nodes=12, int_nodes=False):
    """Every kind, random conductances over 12 decades, thresholds, negative sources."""
    rng = np.random.default_rng(seed)
    nodes = list(range(1, n_nodes + 1)) if int_nodes else [f"n{i}" for i in range(n_nodes)]
    nodes = ["0"] + nodes
    net = Network()
    for _ in range(3 * n_nodes):
        a, b = rng.choice(len(nodes), 2, replace=False)
        net.add_resistor(nodes[a], nodes[b], conductance=float(10 ** rng.uniform(-6, 6) * rng.uniform(1, 2)))
        kind = rng.integers(4)
        a, b = rng.choice(len(nodes), 2, replace=False)
        if kind == 0:
            net.add_diode(nodes[a], nodes[b], threshold=float(rng.choice([0.0, rng.uniform(0, 2)])))
        elif kind == 1:
            net.add_voltage_source(nodes[a], nodes[b], float(rng.normal() * 10))
        elif kind == 2:
            net.add_current_source(nodes[a], nodes[b], float(rng.normal() * 1e-3))
    return net


@pytest.mark.parametrize("seed", range(8))
def test_round_trip_random_networks(seed):
    net = random_network(seed, int_nodes=bool(seed % 2))
    text = write_netlist(net)
    assert read_netlist(text) == net
    assert write_netlist(read_netlist(text)) == text


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=MIN_CONDUCTANCE, max_value=MAX_CONDUCTANCE))  # the usable range (issue 13)
def test_every_conductance_round_trips_bit_for_bit(g):
    # 1 / (1 / g) != g for about one conductance in seven; the writer must cope
    net = Network()
    net.add_resistor("a", "0", conductance=g, name="R1")
    assert read_netlist(write_netlist(net)).element("R1").value == g


def test_writer_names_and_checks():
    net = Network()
    net.add_resistor("a", "0", resistance=1.0, name="load")
    net.add_voltage_source("a", "0", 1.0, name="supply")
    net.add_diode("a", "b", threshold=0.5, name="clamp")
    net.add_resistor("b", "0", resistance=2.0, name="rb")
    text = write_netlist(net, title="names")
    assert "Rload a 0 1\n" in text and "Vsupply a 0 DC 1\n" in text
    assert "Dclamp a Dclamp_th DIDEAL\nVDclamp_th Dclamp_th b DC 0.5\n" in text
    back = read_netlist(text)
    assert [e.name for e in back.elements()] == ["Rload", "Vsupply", "Dclamp", "rb"]
    assert [(e.kind, e.p, e.n, e.value) for e in back.elements()] == \
        [(e.kind, e.p, e.n, e.value) for e in net.elements()]


def test_threshold_inner_node_avoids_existing_names():
    net = Network()
    net.add_voltage_source("D1_th", "0", 2.0, name="V1")
    net.add_diode("D1_th", "k", threshold=0.5, name="D1")
    net.add_resistor("k", "0", resistance=1.0, name="R1")
    text = write_netlist(net)
    assert "D1 D1_th D1_th_ DIDEAL" in text
    assert read_netlist(text) == net


@pytest.mark.parametrize("build, what", [
    (lambda n: (n.add_resistor("A", "0", 1.0), n.add_resistor("a", "0", 1.0)), "differ only in case"),
    (lambda n: (n.add_resistor("a b", "0", 1.0),), "cannot be written"),
    (lambda n: (n.add_resistor("a", "0", 1.0, name="R1"), n.add_resistor("a", "0", 1.0, name="r1")),
     "case-insensitive"),
    (lambda n: (n.add_resistor("a", "0", 1.0, name="x"), n.add_resistor("a", "0", 1.0, name="Rx")),
     "would be written as 'Rx'"),
    (lambda n: (n.add_resistor("a;", "0", 1.0),), "cannot be written"),
])
def test_writer_rejects_what_spice_cannot_say(build, what):
    net = Network()
    build(net)
    with pytest.raises(NetlistError, match=what):
        write_netlist(net)


def test_writer_diode_model_is_checked_and_used():
    net = Network()
    net.add_diode("a", "0", name="D1")
    net.add_resistor("a", "0", 1.0, name="R1")
    text = write_netlist(net, diode_model="DX D(IS=1e-9)")
    assert "D1 a 0 DX\n" in text and ".model DX D(IS=1e-9)\n" in text
    with pytest.raises(NetlistError, match="NAME D"):
        write_netlist(net, diode_model="QX NPN")


def test_large_netlist_parses_fast():
    """10^5 resistors among 2*10^4 nodes: the issue asks for well under a second.

    The bound asserted is looser (CPU seconds, best of two) because four
    engineers share two cores; it still catches any quadratic behaviour,
    which would take minutes. benchmarks/bench_spice.py records the timing.
    """
    rng = np.random.default_rng(0)
    n, nodes = 100_000, 20_000
    a = rng.integers(0, nodes, n)
    b = (a + rng.integers(1, nodes, n)) % nodes
    r = rng.uniform(1.0, 1e4, n)
    lines = ["big"] + [f"R{i} n{a[i]} n{b[i]} {r[i]:.6g}" for i in range(n)] + ["V1 n0 0 DC 1", ".end"]
    text = "\n".join(lines)
    best = math.inf
    for _ in range(2):
        t0 = time.process_time()
        net = read_netlist(text)
        best = min(best, time.process_time() - t0)
    assert len(net) == n + 1
    assert net.element("R777").value == pytest.approx(1.0 / float(f"{r[777]:.6g}"), rel=1e-15)
    assert best < 2.0, f"reading 10^5 elements took {best:.2f} CPU s"


def test_no_warning_leaks_on_clean_netlists():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_netlist(write_netlist(random_network(3)))


def test_a_read_network_is_editable_like_a_built_one():
    net = read_netlist("t\nV1 a 0 1\nR1 a b 1k\nR2 b 0 1k\n.end\n")
    net.remove_element("R2")
    net.remove_element("R1")
    net.remove_node("b")
    assert net.nodes == ["0", "a"]
    net.add_node(1)
    with pytest.raises(NetworkError, match="clashes"):  # int 1 then str "1": one spelling only
        net.add_node("1")


# ------------------------------------------- issue 13: hostile netlists
def doubling_bomb(depth):
    """Subcircuit s1 instantiates s2 twice, s2 instantiates s3 twice...: 2^(depth-1) resistors."""
    lines = ["bomb", "V1 in 0 1", "X1 in 0 s1"]
    for k in range(1, depth):
        lines += [f".subckt s{k} a b", f"X1 a b s{k + 1}", f"X2 a b s{k + 1}", ".ends"]
    lines += [f".subckt s{depth} a b", "R1 a b 1k", ".ends", ".end"]
    return "\n".join(lines) + "\n"


def test_issue13_subcircuit_bomb_is_refused_before_expanding():
    # 2^99 elements: any expansion would never finish, so refusing it proves the count comes first
    text = doubling_bomb(100)
    with pytest.raises(NetlistError, match=r"passes the limit of 1,000,000 elements") as info:
        read_netlist(text)
    message = str(info.value)
    assert "expanding subcircuit instance X1.X1.X1" in message and "more than 10^29 elements" in message
    assert info.value.line is not None and info.value.text.startswith("X")


def test_issue13_small_bomb_with_a_tighter_budget_names_the_instance_path():
    # 860 bytes, 2^19 = 524,288 resistors: the size that stalled the app (it reads with 100,000)
    text = doubling_bomb(20)
    assert len(text) < 900
    with pytest.raises(NetlistError) as info:
        read_netlist(text, max_elements=100_000)
    # counted in expansion order: X1 (2^18) fits nowhere, so the path descends until one
    # instance's share crosses 100,000 = 65,536 + 32,768 + 1,024 + 512 + 128 + 32 (+1 source)
    assert "expanding subcircuit instance X1.X1.X1" in str(info.value)
    assert "limit of 100,000 elements" in str(info.value) and "524,289 elements" in str(info.value)
    small = read_netlist(doubling_bomb(5), max_elements=17)  # 16 resistors + V1: just fits
    assert len(small) == 17
    with pytest.raises(NetlistError, match="limit of 16 elements"):
        read_netlist(doubling_bomb(5), max_elements=16)


def test_issue13_node_budget_counts_inner_nodes_of_every_instance():
    text = "t\nV1 a 0 1\nX1 a 0 s\nX2 a 0 s\n.subckt s p q\nR1 p m 1\nR2 m q 1\n.ends\n"
    assert len(read_netlist(text, max_nodes=4).nodes) == 4  # 0, a, X1.m, X2.m
    with pytest.raises(NetlistError, match=r"instance X2 passes the limit of 3 nodes"):
        read_netlist(text, max_nodes=3)
    flat = "t\nV1 a 0 1\nR1 a b 1\nR2 b c 1\n"
    with pytest.raises(NetlistError, match=r"<string>:4: the netlist has more than 3 nodes"):
        read_netlist(flat, max_nodes=3)
    with pytest.raises(NetlistError, match=r"has 3 elements, over the limit of 2 elements"):
        read_netlist(flat, max_elements=2)
    assert len(read_netlist(flat, max_elements=None, max_nodes=None)) == 3
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ValueError, match="max_elements must be a positive int"):
            read_netlist(flat, max_elements=bad)


def test_issue13_deep_nesting_reads_without_recursion_error():
    """2000 nested subcircuits, each a 1-ohm resistor then the next level: a 2000-ohm chain."""
    depth = 2000
    lines = ["deep", "V1 in 0 2000", "X1 in 0 s1"]
    for k in range(1, depth):
        lines += [f".subckt s{k} a b", "R1 a m 1", f"X1 m b s{k + 1}", ".ends"]
    lines += [f".subckt s{depth} a b", "R1 a b 1", ".ends"]
    net = read_netlist("\n".join(lines))
    assert len(net) == depth + 1
    # 2000 V across 2000 ohms in series: 1 A; the last resistor sits 2000 levels down
    innermost = "R." + ".".join(["X1"] * depth) + ".R1"
    assert net.element(innermost).p == ".".join(["X1"] * (depth - 1)) + ".m"
    assert solve(net).currents["V1"] == pytest.approx(-1.0, rel=1e-9)


def test_issue13_self_instantiation_deep_in_a_chain_is_named():
    text = ("t\nX1 a 0 s1\n.subckt s1 a b\nX1 a b s2\n.ends\n.subckt s2 a b\nX9 a b s1\n.ends\n")
    with pytest.raises(NetlistError, match=r"<string>:7: subcircuit s1 instantiates itself "
                                           r"\(s1 -> s2 -> s1\) \(in subcircuit s2\)"):
        read_netlist(text)


def test_issue13_zero_resistance_with_many_digits_names_the_line():
    # 19 characters take the exact-decimal path, which divided by zero before
    for token in ("0.00000000000000000", "1.00000000000000000001e-400", "-1.000000000000000000001"):
        with pytest.raises(NetlistError, match=r"<string>:2: resistor 'R1': resistance must be "
                                               r"positive") as info:
            read_netlist(f"t\nR1 a 0 {token}\nV1 a 0 1\n")
        assert info.value.text == f"R1 a 0 {token}"


@pytest.mark.parametrize("line, what", [
    ("R1 a 0 " + "9" * 400, "resistance '9999"),
    ("R1 a 0 1e400", "resistance '1e400'"),
    ("R1 a 0 1e308meg", "resistance '1e308meg'"),  # the scale made inf, read as g = 0 before
    ("V1 a 0 1e400", "source value '1e400'"),
    ("I1 a 0 DC -" + "1" * 400, "source value '-1111"),
])
def test_issue13_out_of_range_values_name_the_line(line, what):
    with pytest.raises(NetlistError, match=r"<string>:2: ") as info:
        read_netlist(f"t\n{line}\nR9 a 0 1\n")
    message = str(info.value)
    assert what in message and "out of range" in message
    assert len(message) < 600  # a 400-digit token is shortened, not echoed in full twice
    with pytest.raises(ValueError, match="out of range"):
        parse_value(line.split()[-1])


def test_issue13_huge_decimal_node_name_stays_a_string():
    name = "1" * 5000  # Python refuses to print ints this long
    net = read_netlist(f"t\nR1 {name} 0 1\nR2 12 0 1\n")
    assert name in net.nodes and 12 in net.nodes


def test_many_continuation_lines_join_like_one_line():
    # 10^4 continuations, each carrying part of the line: the same element as one line
    n = 10_000
    text = "t\nR1\n" + "+\n" * n + "+ a\n+ 0\n" + "* a comment between\n" + "+ 2k\nV1 a 0 DC 1\n+ \n"
    net = read_netlist(text)
    assert net.element("R1") == read_netlist("t\nR1 a 0 2k\n").element("R1")
    assert net.element("V1").value == 1.0


def test_a_conductance_whose_resistance_no_double_holds_never_reaches_the_writer():
    # found by tests/fuzz: 5e-324 S was written as 2e+323 ohm; such values are now refused when built
    net = Network()
    with pytest.raises(InvalidValueError, match="resistor 'R1': conductance 4.94066e-324 S is outside"):
        net.add_resistor("a", "0", conductance=5e-324)
    net.add_voltage_source("a", "0", 1.0)
    net.add_resistor("a", "0", conductance=MIN_CONDUCTANCE)  # the smallest allowed reads back exactly
    assert read_netlist(write_netlist(net)) == net


def nested_chain(depth):
    lines = ["deep", f"V1 in 0 {depth}", "X1 in 0 s1"]
    for k in range(1, depth):
        lines += [f".subckt s{k} a b", "R1 a m 1", f"X1 m b s{k + 1}", ".ends"]
    return "\n".join(lines + [f".subckt s{depth} a b", "R1 a b 1", ".ends"]) + "\n"


def test_issue13_nesting_whose_names_would_fill_memory_is_refused():
    """10^4 levels, one resistor each: 10^4 elements, but names holding 1.5e8 path characters.

    Level d's resistor is named R.X1.X1...X1.R1: its path X1.X1...X1 (d names)
    has 3d - 1 characters, 150,005,000 in all, over 64 per allowed element.
    """
    depth = 10_000
    path_chars = sum(3 * d - 1 for d in range(1, depth + 1))
    assert path_chars > 64 * 1_000_000
    with pytest.raises(NetlistError, match=rf"{path_chars:,} characters of instance paths, over the "
                                           r"limit of 64,000,000 .*from instance X1"):
        read_netlist(nested_chain(depth))


def test_a_conductance_whose_inverse_is_a_short_decimal_round_trips():
    # 1 / 5**15 = 3.2768e-11 exactly, but 1 / float("3.2768e-11") is 30517578124.999996
    net = Network()
    net.add_voltage_source("a", "0", 1.0)
    net.add_resistor("a", "0", conductance=float(5**15))
    back = read_netlist(write_netlist(net))
    assert back == net


@pytest.mark.parametrize("value, line", [("1e-16", 4), ("2e15", 4), ("1e16meg", 4)])
def test_resistance_outside_the_usable_range_names_its_line(value, line):
    # plain resistances take the reader's fast path; its range error must still name the line
    text = f"range\nV1 a 0 1\nR2 a b 1k\nR1 b 0 {value}\nR3 b 0 2k\n"
    with pytest.raises(NetlistError, match=r"<string>:4: resistor 'R1'.*usable range") as caught:
        read_netlist(text)
    assert caught.value.line == line
