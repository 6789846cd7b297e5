"""Quantities as people type and read them: ``4.7k``, ``10 mA``, ``2.2 MΩ``.

One parser (:func:`parse_quantity`) for every text field of the explorer and
one formatter (:func:`si`) for every number it shows, so that ``4.7k`` can
never become 4.7 Ω somewhere and 4700 Ω elsewhere.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

__all__ = ["UNITS", "QuantityError", "format_quantity", "from_user_value", "log_slider_range",
           "parse_quantity", "si", "user_value"]

_PREFIXES = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"),
             (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")]

#: What the user edits for each kind of element: (label, unit).
UNITS = {
    "resistor": ("resistance", "Ω"),
    "diode": ("threshold", "V"),
    "vsource": ("voltage", "V"),
    "isource": ("current", "A"),
}

#: Multipliers a typed number may carry. SPICE reads ``M`` as milli and ``meg`` as mega; people
#: typing ``2.2M`` for a resistor mean mega, so ``M`` is mega here and ``m`` milli (SI), and the
#: SPICE spellings ``meg``/``MEG``/``Meg`` are accepted too.
PREFIX_EXPONENT = {"f": -15, "p": -12, "n": -9, "u": -6, "µ": -6, "μ": -6, "m": -3,
                   "k": 3, "K": 3, "meg": 6, "M": 6, "G": 9, "T": 12}

#: Spellings of each unit a typed value may end with (case-insensitive words, exact symbols).
UNIT_SPELLINGS = {
    "Ω": ("Ω", "Ω", "ohm", "ohms"),
    "V": ("V", "volt", "volts"),
    "A": ("A", "amp", "amps", "ampere", "amperes"),
    "S": ("S", "siemens"),
    "W": ("W", "watt", "watts"),
}

_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*)$")


class QuantityError(ValueError):
    """Text that is not a quantity in the expected unit; the message says why and what to type."""


def _split_unit(text, rest, unit):
    """``rest`` without a trailing spelling of ``unit`` (or of another unit: an error)."""
    lowered = rest.lower()
    for name, spellings in UNIT_SPELLINGS.items():
        for spelling in sorted(spellings, key=len, reverse=True):
            if lowered.endswith(spelling.lower()) if len(spelling) > 1 else rest.endswith(spelling):
                if name != unit:
                    wanted = f"in {unit}" if unit else "a plain number"
                    raise QuantityError(f"{text!r} is in {name}; this field is {wanted}")
                return rest[: len(rest) - len(spelling)].rstrip()
    return rest


def parse_quantity(text, unit="") -> float:
    """Read a typed quantity in ``unit`` (``"Ω"``, ``"V"``, ``"A"``, ``"S"`` or ``""``) as a float.

    Accepts a decimal number with an optional SPICE/SI prefix (f p n u µ m k
    meg M G T) and an optional unit word or symbol, with or without spaces:
    ``4.7k``, ``4.7 kΩ``, ``4.7kohm``, ``10 mA``,
    ``1e-3``, ``2.2M`` (mega), ``3 meg``. ``M`` is mega and ``m`` milli.

    Raises
    ------
    QuantityError
        For empty text, a comma decimal (``4,7k``), an unknown suffix, a unit
        other than ``unit``, or a value that is not finite. The message says
        what to type instead.

    Examples
    --------
    >>> parse_quantity("4.7k", "Ω")
    4700.0
    >>> parse_quantity("10 mA", "A")
    0.01
    >>> parse_quantity("2.2 MΩ", "Ω")
    2200000.0
    """
    if not isinstance(text, str):
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            value = float(text)
            if not math.isfinite(value):
                raise QuantityError(f"{text!r} is not a finite number")
            return value
        raise QuantityError(f"expected text such as '4.7k', not {type(text).__name__}")
    raw = text.strip()
    if not raw:
        raise QuantityError(f"type a value, e.g. {_example(unit)}")
    if re.fullmatch(r"[+-]?\d*,\d+.*", raw):
        raise QuantityError(f"{text!r}: use a decimal point, not a comma (e.g. {raw.replace(',', '.', 1)})")
    match = _NUMBER.match(raw)
    if not match:
        raise QuantityError(f"{text!r} is not a number; type e.g. {_example(unit)}")
    number, rest = match.group(1), match.group(2).strip()
    rest = _split_unit(text, rest, unit) if rest else rest
    exponent = 0
    if rest:
        if rest.lower() == "meg":
            exponent = 6
        elif rest in PREFIX_EXPONENT:
            exponent = PREFIX_EXPONENT[rest]
        else:
            raise QuantityError(f"{text!r}: unknown suffix {rest!r}; use one of f p n u µ m k meg M G T"
                                + (f" and optionally {unit}" if unit else ""))
    # scaled in decimal, so that "700m" is the float nearest 0.7 (0.7 * 1e-3 * 1e3 is not)
    value = float(Decimal(number).scaleb(exponent))
    if not math.isfinite(value):
        raise QuantityError(f"{text!r} is not a finite number")
    return value


def _example(unit):
    return {"Ω": "4.7k or 4.7 kΩ", "V": "5 or 700m", "A": "1m or 10 mA", "S": "1m"}.get(unit, "4.7k")


def si(value, unit="", digits=4) -> str:
    """Format ``value`` with an SI prefix and at most ``digits`` significant digits.

    ``si(0.0043, "A") == "4.3 mA"``; ``si(-4.800000000000001, "V") == "-4.8 V"``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}".strip() if value else f"0 {unit}".strip()
    magnitude = abs(value)
    scale, prefix = _PREFIXES[-1]
    for s, p in _PREFIXES:
        if magnitude >= s * (1 - 0.5 * 10.0 ** (1 - digits)):
            scale, prefix = s, p
            break
    text = f"{value / scale:.{digits}g}"
    if "e" in text:  # beyond the prefixes (below 1 fA, above 1000 T)
        return f"{value:.{digits}g} {unit}".strip()
    return f"{text} {prefix}{unit}".strip()


def format_quantity(value, unit="") -> str:
    """Text for a field that :func:`parse_quantity` reads back to (almost) ``value``: ``"4.7k"``."""
    text = si(value, "", 4).replace(" ", "")
    return text.replace("µ", "u")


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


def log_slider_range(resistance, decades=2.0):
    """``(start, end)`` in log10(Ω) for a logarithmic resistance slider around ``resistance``."""
    centre = math.log10(resistance)
    return math.floor(centre - decades), math.ceil(centre + decades)
