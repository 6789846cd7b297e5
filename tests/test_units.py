"""Typed quantities: one parser for every field, one formatter for every number shown."""

import math

import pytest
from hypothesis import given, strategies as st

from explorer.units import QuantityError, format_quantity, log_slider_range, parse_quantity, si


@pytest.mark.parametrize("text, unit, expected", [
    ("4.7k", "Ω", 4700.0), ("4.7 k", "Ω", 4700.0), ("4.7kΩ", "Ω", 4700.0), ("4.7 kΩ", "Ω", 4700.0),
    ("4.7 kohm", "Ω", 4700.0), ("2 kOhms", "Ω", 2000.0), ("2.2M", "Ω", 2.2e6), ("3meg", "Ω", 3e6),
    ("3 MEG", "Ω", 3e6), ("1G", "Ω", 1e9), ("1T", "Ω", 1e12), ("100", "Ω", 100.0),
    ("700m", "V", 0.7), ("5 V", "V", 5.0), ("-4.8", "V", -4.8), ("+12 volts", "V", 12.0),
    ("10 mA", "A", 0.01), ("1uA", "A", 1e-6), ("1 µA", "A", 1e-6), ("3 nA", "A", 3e-9),
    ("5p", "A", 5e-12), ("2f", "A", 2e-15), ("1e-3", "A", 1e-3), (".5", "V", 0.5), ("10 mS", "S", 0.01),
])
def test_prefixes_and_units_are_read(text, unit, expected):
    # the expected values are the literal decimal meaning of the text, written out by hand
    assert parse_quantity(text, unit) == expected


@pytest.mark.parametrize("text, unit, reason", [
    ("4,7k", "Ω", "decimal point"), ("4,7", "V", "decimal point"), ("", "Ω", "type a value"),
    ("abc", "Ω", "not a number"), ("4.7x", "Ω", "unknown suffix"), ("5 V", "A", "in V"),
    ("1 kΩ", "V", "in Ω"), ("nan", "Ω", "not a number"), ("1e400", "Ω", "not a finite number"),
    ("4.7 k k", "Ω", "unknown suffix"),
])
def test_unreadable_text_says_why(text, unit, reason):
    with pytest.raises(QuantityError, match=reason):
        parse_quantity(text, unit)


def test_the_issue_case_4k7_is_never_4_ohm():
    assert parse_quantity("4.7k", "Ω") == 1000 * parse_quantity("4.7", "Ω")


@pytest.mark.parametrize("value, unit, text", [
    (-4.800000000000001, "V", "-4.8 V"), (4700.0, "Ω", "4.7 kΩ"), (0.0043, "A", "4.3 mA"),
    (123456.0, "Ω", "123.5 kΩ"), (999.96, "V", "1 kV"), (0.0, "V", "0 V"), (1e-6, "A", "1 µA"),
    (float("nan"), "V", "–"),
])
def test_si_uses_prefixes_and_four_significant_digits(value, unit, text):
    assert si(value, unit) == text


@given(st.floats(min_value=1e-14, max_value=1e14) | st.floats(min_value=-1e14, max_value=-1e-14))
def test_formatted_values_read_back_within_four_digits(value):
    back = parse_quantity(format_quantity(value))
    assert back == pytest.approx(value, rel=5e-4)
    mantissa = si(value).split()[0].lstrip("-").replace(".", "").lstrip("0")
    assert len(mantissa) <= 4


def test_log_slider_range_brackets_the_value():
    for r in (1.0, 47.0, 4700.0, 2.2e6):
        lo, hi = log_slider_range(r)
        assert lo < math.log10(r) < hi and hi - lo >= 4
