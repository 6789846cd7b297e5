"""Fuzzing the SPICE reader: every text gives a Network or a NetlistError, round trips are exact."""

import io

import pytest
from hypothesis import assume, given

from solver import NetworkError
from solver.circuits.netlist import NetlistError, read_netlist, write_netlist

from .inputs import (
    damaged,
    fuzz_settings,
    hierarchical_netlists,
    netlist_texts,
    networks,
    read_or_refuse,
    recording,
)

pytestmark = pytest.mark.filterwarnings("ignore::solver.circuits.netlist.NetlistWarning")
outcomes, _report = recording(__name__)


def assert_round_trips(net):
    """A network read from a netlist is written and read back unchanged (when SPICE can name it)."""
    try:
        text = write_netlist(net)
    except NetlistError:
        return  # e.g. two names differing only in case: refused by name, fine
    assert read_netlist(text) == net


@fuzz_settings(scale=4)
@given(netlist_texts())
def test_grammar_fuzzed_netlists_read_or_are_refused(text):
    net = read_or_refuse(lambda: read_netlist(io.StringIO(text)), outcomes, "grammar")
    if net is not None:
        assert_round_trips(net)


def written(net):
    try:
        return write_netlist(net)
    except NetlistError:
        assume(False)


@fuzz_settings(scale=2)
@given(damaged(networks().map(written)))
def test_damaged_netlists_read_or_are_refused(text):
    net = read_or_refuse(lambda: read_netlist(io.StringIO(text)), outcomes, "damaged")
    if net is not None:
        assert_round_trips(net)


@fuzz_settings(scale=2)
@given(networks())
def test_written_networks_read_back_exactly(net):
    text = written(net)
    assert read_netlist(text) == net
    outcomes("round trip", "accepted")


@fuzz_settings()
@given(hierarchical_netlists())
def test_subcircuit_budget_matches_a_recursive_expansion(case):
    """The counts made before expanding equal those of a plain recursive expansion, to the element."""
    text, elements, nodes = case
    net = read_netlist(text)
    assert (len(net), len(net.nodes)) == (elements, nodes)
    assert read_netlist(text, max_elements=elements, max_nodes=nodes) == net
    with pytest.raises(NetlistError, match=f"limit of {elements - 1:,} elements"):
        read_netlist(text, max_elements=elements - 1)
    with pytest.raises(NetlistError, match=f"{nodes - 1:,} nodes"):
        read_netlist(text, max_nodes=nodes - 1)
    outcomes("budget", "accepted")


def test_refusals_are_netlist_errors():
    """The family the properties accept is the documented one."""
    assert issubclass(NetlistError, NetworkError)
