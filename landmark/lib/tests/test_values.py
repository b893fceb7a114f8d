"""The one parser of measured values (landmark.lib.values): its pattern, its bounds
and its reasons. Every way in is tested with the same texts in
landmark/kpis/tests/test_values.py."""

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from landmark.lib import values

D = Decimal


@given(st.text(alphabet="0123456789+-.,eE _", max_size=24))
def test_the_pattern_and_the_parser_agree_on_every_text(text):
    # The API publishes PATTERN in its schema: what it matches is exactly what the
    # parser accepts, and the parser never raises anything but ValueProblem.
    accepted = values.is_value(text)
    assert accepted == bool(re.fullmatch(values.PATTERN, text))
    if accepted:
        value = values.parse_value(text)
        assert value == value.quantize(values.QUANTUM)
        assert abs(value) < 10**15


@given(
    st.decimals(
        min_value=D("-999999999999999.9999"),
        max_value=D("999999999999999.9999"),
        places=4,
    )
)
def test_every_value_in_range_reads_back_as_itself(value):
    assert values.parse_value(f"{value:f}") == value
    assert values.parse_value(value) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (12, D("12")),
        (D("1.50000"), D("1.5")),
        (D("1E+3"), D("1000")),
        (D("-0.0"), D("0")),
    ],
)
def test_a_number_that_is_already_one_is_held_to_the_same_bounds(raw, value):
    # JSON numbers in a batch, and Decimals an API body hands to a form.
    assert values.parse_value(raw) == value
    assert str(values.parse_value(raw)) == str(value)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "the value is missing"),
        ("", "the value is missing"),
        (True, "must be a number or a string holding one"),
        (1.5, "must be a number or a string holding one"),
        ([1], "must be a number or a string holding one"),
        (
            10**40,
            f"'{str(10**40)[:40]}' is too large (at most 15 digits before the point)",
        ),
        (D("0.00001"), "'0.00001' has more than 4 decimal places"),
        (D("NaN"), "'NaN' is not a number"),
        ("x" * 100, f"'{'x' * 40}' is not a number"),
    ],
)
def test_what_is_not_a_value_is_refused_with_its_reason(raw, reason):
    with pytest.raises(values.ValueProblem) as problem:
        values.parse_value(raw)
    assert problem.value.reason == reason


def test_a_reason_reads_as_a_sentence_in_a_form():
    with pytest.raises(values.ValueProblem) as problem:
        values.parse_value("3.14159")
    assert problem.value.sentence == "'3.14159' has more than 4 decimal places."
    assert problem.value.code == "max_decimal_places"
