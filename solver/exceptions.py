"""Errors raised while building, validating or solving a network.

Every error subclasses :class:`NetworkError`, itself a :class:`ValueError`, so
callers can catch one family. Messages name the element or nodes at fault and
say how to fix the input. Non-convergence is *not* an error: it is reported in
:attr:`solver.Solution.converged`.
"""

__all__ = [
    "DuplicateElementError",
    "FloatingNodeError",
    "InfeasibleNetworkError",
    "InvalidValueError",
    "NetworkError",
    "UnknownElementError",
    "VoltageLoopError",
]


class NetworkError(ValueError):
    """Base class of every error about a network's description."""


class InvalidValueError(NetworkError):
    """An element value is NaN, infinite, non-positive where it must be positive, ..."""


class DuplicateElementError(NetworkError):
    """Two elements share one name."""


class UnknownElementError(NetworkError, KeyError):
    """An element name that the network does not hold."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class FloatingNodeError(NetworkError):
    """Some node potentials are not determined: no resistor/source path to ground."""

    def __init__(self, message, nodes=()):
        super().__init__(message)
        self.nodes = list(nodes)


class VoltageLoopError(NetworkError):
    """A loop of voltage sources whose voltages do not sum to zero."""

    def __init__(self, message, elements=()):
        super().__init__(message)
        self.elements = list(elements)


class InfeasibleNetworkError(NetworkError):
    """The diode and source constraints cannot all hold at once."""

    def __init__(self, message, elements=()):
        super().__init__(message)
        self.elements = list(elements)
