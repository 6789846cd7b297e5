"""Engineering notation for values shown in the explorer (``4.3 mA``, ``1 kΩ``)."""

from __future__ import annotations

import math

__all__ = ["UNITS", "si", "user_value", "from_user_value"]

_PREFIXES = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"),
             (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")]

#: What the user edits for each kind of element: (label, unit).
UNITS = {
    "resistor": ("resistance", "Ω"),
    "diode": ("threshold", "V"),
    "vsource": ("voltage", "V"),
    "isource": ("current", "A"),
}


def si(value, unit="", digits=3) -> str:
    """Format ``value`` with an SI prefix: ``si(0.0043, "A") == "4.3 mA"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}".strip()
    magnitude = abs(value)
    for scale, prefix in _PREFIXES:
        if magnitude >= scale * 0.9995:
            break
    text = f"{value / scale:.{digits}g}"
    return f"{text} {prefix}{unit}".strip()


def user_value(element) -> float:
    """The value a user edits: resistance (Ω) for resistors, else the element's value."""
    if element.kind == "resistor":
        return 1.0 / element.value
    return element.value


def from_user_value(kind, value) -> dict:
    """Keyword arguments for ``Network.set_value`` from a user-facing value."""
    if kind == "resistor":
        return {"resistance": value}
    return {"value": value}
