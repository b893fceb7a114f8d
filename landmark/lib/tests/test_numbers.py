"""The one formatter of numbers and units (landmark/lib/numbers.py)."""

import itertools
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from landmark.lib import numbers

D = Decimal

UNITS = ["", "%", "USD", "$", "k USD", "$M", "£M", "EUR k", "visitors", "h", "k"]
LOCALES = ["en_US", "de_DE", "fr_FR", "en_GB", "ja_JP", "ar_EG", "hi_IN"]

decimals = st.decimals(allow_nan=False, allow_infinity=False, places=4).filter(
    lambda d: abs(d) < D(10) ** 15
)
anything = st.one_of(
    decimals,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False),  # any size and places
)


# Example tables, one per kind of unit


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        # Currencies, scaled by their unit, compact from 100,000 on.
        (D("8.8"), "$M", "$8.8M"),
        (D("1688.2"), "k USD", "$1.69M"),
        (D("100"), "k USD", "$100K"),
        (D("24.5"), "k USD", "$24,500"),
        (D("45"), "USD", "$45"),
        (D("45.5"), "USD", "$45.50"),
        (D("1.5"), "£M", "£1.5M"),
        (D("12"), "€", "€12"),
        (D("-1688.2"), "k USD", "-$1.69M"),
        (D("999999"), "USD", "$1M"),
        # Percentages.
        (D("95.5"), "%", "95.5%"),
        (D("-25"), "%", "-25%"),
        (D("0.125"), "%", "0.125%"),
        # Counts with a noun.
        (D("30000"), "visitors", "30,000 visitors"),
        (D("150000"), "visitors", "150K visitors"),
        (D("4.5"), "h", "4.5 h"),
        (D("12345.678"), "deals", "12,345.68 deals"),
        # Plain numbers and a bare scale.
        (D("0"), "", "0"),
        (D("0.0004"), "", "0.0004"),
        (D("0.6505"), "", "0.651"),  # three significant digits below 1
        (D("0.0485"), "%", "0.0485%"),
        (D("1234567"), "", "1.23M"),
        (D("8.8"), "M", "8.8M"),
        (None, "USD", "—"),
    ],
)
def test_a_value_reads_with_its_unit(value, unit, shown):
    assert numbers.amount(value, unit, "en_US") == shown


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (D("8.8"), "$M", "8,8\xa0Mio.\xa0$"),
        (D("100"), "k USD", "100.000\xa0$"),  # German has no short word for thousands
        (D("45.5"), "EUR", "45,50\xa0€"),
        (D("95.5"), "%", "95,5\xa0%"),
        (D("30000"), "visitors", "30.000 visitors"),
        (D("12345.678"), "", "12.345,68"),
    ],
)
def test_german_writes_a_decimal_comma_and_its_own_compact_words(value, unit, shown):
    assert numbers.amount(value, unit, "de_DE") == shown


@pytest.mark.parametrize(
    ("unit", "kind", "currency", "scale"),
    [
        ("", "plain", "", 1),
        ("%", "percent", "", 1),
        ("USD", "currency", "USD", 1),
        ("$", "currency", "USD", 1),
        ("k USD", "currency", "USD", 1000),
        ("$M", "currency", "USD", 10**6),
        ("£M", "currency", "GBP", 10**6),
        ("EUR k", "currency", "EUR", 1000),
        ("bn €", "currency", "EUR", 10**9),
        ("k", "plain", "", 1000),
        ("XYZ", "noun", "", 1),  # not a currency Babel knows
        ("k USD M", "noun", "", 1),  # two scales: not guessed
        ("tickets/month", "noun", "", 1),
    ],
)
def test_a_unit_is_read_as_a_percentage_a_currency_or_a_noun(
    unit, kind, currency, scale
):
    meaning = numbers.parse_unit(unit)
    assert (meaning.kind, meaning.currency, meaning.scale) == (kind, currency, scale)


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        (numbers.change(30000, 45000, "visitors", "en_US"), "30,000 → 45,000 visitors"),
        (numbers.change(D("8.8"), 12, "$M", "en_US"), "$8.8M → $12M"),
        (numbers.change(None, 12, "%", "en_US"), "— → 12%"),
        (numbers.bound("≥", 100, "k USD", "en_US"), "≥ $100K"),
        (numbers.bound("≤", 2, "%", "en_US"), "≤ 2%"),
        (numbers.between(90, 110, "visitors", "en_US"), "90–110 visitors"),
        (numbers.between(90, 110, "k USD", "en_US"), "$90K–$110K"),
        (numbers.between(D("95.5"), 98, "%", "de_DE"), "95,5\xa0%–98\xa0%"),
    ],
)
def test_ranges_write_a_noun_once_and_a_symbol_on_each_end(shown, expected):
    assert shown == expected


@pytest.mark.parametrize(
    ("share", "locale", "shown"),
    [
        (0.62, "en_US", "62%"),
        (1.4, "en_US", "140%"),
        (0.0, "en_US", "0%"),
        (-0.25, "en_US", "25% below start"),
        (-0.004, "en_US", "0%"),  # rounds to nothing below the start
        (-0.25, "de_DE", "25\xa0% below start"),
        (None, "en_US", "—"),
    ],
)
def test_progress_below_the_start_says_so(share, locale, shown):
    assert numbers.progress(share, locale) == shown


def test_a_milestone_is_done_or_not_done():
    assert [numbers.milestone(True), numbers.milestone(False)] == ["Done", "Not done"]


@pytest.mark.parametrize(
    ("value", "locale", "shown"),
    [(D("0.7"), "en_US", "0.70"), (D("0.7"), "de_DE", "0,70"), (1, "en_US", "1.00")],
)
def test_a_score_keeps_two_places(value, locale, shown):
    assert numbers.score(value, locale) == shown


def test_known_locales_are_babels():
    assert numbers.is_known_locale("de_DE")
    assert numbers.is_known_locale("en_US")
    assert not numbers.is_known_locale("xx_YY")
    assert not numbers.is_known_locale("")


# Properties


@given(value=anything, unit=st.sampled_from(UNITS), locale=st.sampled_from(LOCALES))
def test_any_value_in_any_unit_and_locale_is_written_without_error(value, unit, locale):
    shown = numbers.amount(value, unit, locale)
    assert shown and shown != numbers.MISSING
    assert numbers.amount(value, unit, locale, compact=False)
    assert numbers.number(value, locale)
    assert numbers.percent(value, locale)
    assert numbers.score(value, locale)


@given(share=st.floats(allow_nan=False, allow_infinity=False))
def test_any_progress_is_written_without_error(share):
    shown = numbers.progress(share, "en_US")
    assert shown.endswith("%") or shown.endswith("% below start")
    whole = D(repr(share)).scaleb(2).to_integral_value(ROUND_HALF_UP)
    assert ("below start" in shown) == (whole < 0)


def significant_digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text).strip("0")


@given(value=st.integers(min_value=100_000, max_value=10**14))
def test_a_compact_form_keeps_at_most_three_significant_digits(value):
    shown = numbers.number(value, "en_US")
    assert shown[-1] in "KMBT"
    # A range, not a count: a compact form drops trailing zeros (1,000,000 is "1M",
    # one digit); the read-back below pins how close the digits it keeps are.
    assert 1 <= len(significant_digits(shown)) <= numbers.SIGNIFICANT
    magnitude = {"K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}[shown[-1]]
    read_back = D(shown[:-1]) * magnitude
    # Three significant digits: within half a unit of the third digit.
    assert abs(read_back - value) <= D(5) * D(10) ** (len(str(value)) - 4)


@given(value=st.integers(min_value=-99_999, max_value=99_999))
def test_below_a_hundred_thousand_every_digit_is_written(value):
    shown = numbers.number(value, "en_US")
    assert int(shown.replace(",", "")) == value


@given(value=decimals.filter(lambda d: d != d.to_integral_value()))
def test_the_locale_chooses_the_decimal_sign(value):
    english = numbers.number(value, "en_US", compact=False)
    german = numbers.number(value, "de_DE", compact=False)
    # Written out, a value with a fraction keeps it: the decimal sign shows.
    assert english.count(".") == 1 and german.count(",") == 1
    assert "." not in german.split(",")[-1]
    assert english.split(".")[-1] == german.split(",")[-1]


@given(value=decimals)
def test_a_value_written_out_reads_back_exactly(value):
    shown = numbers.number(value, "en_US", compact=False)
    assert D(shown.replace(",", "")) == value


@given(value=decimals.filter(lambda d: abs(d) < 100_000))
def test_a_value_reads_back_within_its_rounding(value):
    shown = numbers.number(value, "en_US")
    read_back = D(shown.replace(",", ""))
    if abs(value) >= 1:
        assert abs(read_back - value) <= D("0.005")
    else:  # three significant digits
        assert abs(read_back - value) <= abs(value) * D("0.005") + D("0.00005")


@given(
    low=st.floats(min_value=-1e12, max_value=1e12),
    high=st.floats(min_value=-1e12, max_value=1e12),
)
def test_axis_ticks_cover_the_range_in_even_steps(low, high):
    ticks = numbers.axis_ticks(low, high)
    assert 2 <= len(ticks) <= 20
    assert ticks[0] <= D(repr(min(low, high))) and ticks[-1] >= D(repr(max(low, high)))
    steps = {b - a for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
