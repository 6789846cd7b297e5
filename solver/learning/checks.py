"""Argument checks and the shared vocabulary of the learning stack.

The DRN :class:`~solver.learning.ep.Trainer` and the general-network
:class:`~solver.learning.circuit_learner.Learner` speak the same language:

* ``algorithm``: how the gradient is estimated (``"ep"`` equilibrium
  propagation; ``"bp"`` truncated backpropagation, DRN only; ``"cl"`` coupled
  learning, general networks only);
* ``beta``, ``nudge``, ``centered``: EP's nudging strength, how the outputs are
  nudged (``"resistor"``: a conductance ``beta`` to a source at the target;
  ``"current"``: the linearised current ``beta (y - v)``), and whether the
  two-sided ``+-beta`` estimate is used;
* ``lr_weights`` (and, for a DRN's biases, ``lr_biases``): learning rates.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from ..exceptions import InvalidValueError

__all__ = ["ALGORITHMS", "NUDGES", "check_choice", "check_int", "check_real"]

#: Every gradient estimator of the learning stack, with what it is.
ALGORITHMS = {
    "ep": "equilibrium propagation",
    "bp": "truncated backpropagation through the relaxation (DRN)",
    "cl": "coupled learning (general networks)",
}

#: Ways EP nudges the outputs.
NUDGES = ("resistor", "current")


def check_int(name, value, minimum):
    """``value`` as an int ``>= minimum``, else :class:`InvalidValueError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise InvalidValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_real(name, value, positive=False):
    """``value`` as a finite float (``> 0`` if ``positive``), else :class:`InvalidValueError`."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise InvalidValueError(f"{name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise InvalidValueError(f"{name} must be positive, got {value!r}")
    return float(value)


def check_choice(name, value, choices):
    """``value`` if it is one of ``choices``, else :class:`InvalidValueError` listing them."""
    if value not in choices:
        raise InvalidValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value
