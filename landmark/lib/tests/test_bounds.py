"""The input bounds: dates and times 1970-2200, periods at most 5 years."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from landmark.lib import bounds


@pytest.mark.parametrize(
    ("day", "accepted"),
    [
        (date(1969, 12, 31), False),
        (date(1970, 1, 1), True),
        (date(2200, 12, 31), True),
        (date(2201, 1, 1), False),
        (date(1, 1, 1), False),
        (date(9999, 12, 31), False),
    ],
)
def test_dates_from_1970_to_2200_are_in_range(day, accepted):
    assert bounds.date_in_range(day) is accepted


def test_a_times_date_is_read_in_its_own_offset():
    east = timezone(timedelta(hours=14))
    west = timezone(timedelta(hours=-14))

    # 1969-12-31T10:00Z, written as 1970 in its own offset: accepted as written.
    assert bounds.time_in_range(datetime(1970, 1, 1, tzinfo=east))
    assert bounds.time_in_range(datetime(2200, 12, 31, 23, 59, tzinfo=west))
    assert not bounds.time_in_range(datetime(1, 1, 1, tzinfo=east))
    assert not bounds.time_in_range(datetime(9999, 12, 31, 23, 59, tzinfo=west))


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)


@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    offsets,
    offsets,
)
def test_a_time_in_range_converts_to_any_offset_without_overflow(naive, mine, other):
    when = naive.replace(tzinfo=mine)
    if bounds.time_in_range(when):
        assert when.astimezone(UTC).astimezone(other).year in range(1969, 2202)
        assert when.timestamp() > -86_400


def test_check_raises_a_validation_error_in_plain_words():
    with pytest.raises(ValidationError) as error:
        bounds.check_date(date(1, 1, 1))
    assert error.value.messages == ["Enter a date from 1970-01-01 to 2200-12-31."]
    assert bounds.check_time(datetime(2026, 5, 1, tzinfo=UTC)).year == 2026


@pytest.mark.parametrize(
    ("start", "latest"),
    [
        (date(2026, 1, 1), date(2030, 12, 31)),
        (date(2026, 4, 1), date(2031, 3, 31)),
        # 29 February: five years later there is none; the day before 1 March.
        (date(2028, 2, 29), date(2033, 2, 28)),
        (date(2024, 3, 1), date(2029, 2, 28)),
    ],
)
def test_a_period_ends_at_the_latest_the_day_before_its_fifth_anniversary(
    start, latest
):
    assert bounds.latest_period_end(start) == latest
    assert bounds.period_problem(start, latest) == ""
    assert bounds.period_problem(start, latest + timedelta(days=1)) == (
        f"A period lasts at most 5 years: end it on {latest} at the latest."
    )


def test_a_period_ends_on_or_after_it_starts():
    assert bounds.period_problem(date(2026, 1, 1), date(2026, 1, 1)) == ""
    assert bounds.period_problem(date(2026, 1, 2), date(2026, 1, 1)) == (
        "The period must end on or after its first day."
    )
