"""Small teaching circuits as SPICE netlists: dividers, bridges, diode clippers, gates, a DRN.

Each ``<name>.cir`` file in this folder describes its circuit in comments;
``tests/test_examples.py`` derives every expected node voltage by hand.

>>> from solver import solve
>>> from solver.circuits.examples import list_examples, load_example
>>> "divider" in list_examples()
True
>>> round(solve(load_example("divider")).voltages["mid"], 6)
7.5
"""

from __future__ import annotations

from importlib import resources

from ..netlist import read_netlist

__all__ = ["example_text", "list_examples", "load_example"]

_SUFFIX = ".cir"


def list_examples() -> list[str]:
    """Names of the bundled example netlists, sorted."""
    return sorted(entry.name[: -len(_SUFFIX)] for entry in resources.files(__name__).iterdir()
                  if entry.name.endswith(_SUFFIX))


def _resource(name):
    if name not in list_examples():
        raise ValueError(f"no example named {name!r}; choose one of {', '.join(list_examples())}")
    return resources.files(__name__) / f"{name}{_SUFFIX}"


def example_text(name) -> str:
    """The netlist text of an example (with its explanatory comments)."""
    return _resource(name).read_text(encoding="utf-8")


def load_example(name):
    """Read an example into a :class:`solver.Network` (errors would name the file and line)."""
    with resources.as_file(_resource(name)) as path:
        return read_netlist(path)
