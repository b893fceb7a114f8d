"""The sliding window of landmark/lib/throttle.py, directly and as properties."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from landmark.lib.throttle import locked_until, seconds_until

NOW = datetime(2026, 5, 13, 9, 30, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def test_it_lets_fewer_failures_than_the_limit_through():
    assert (
        locked_until(
            [ago(seconds=s) for s in range(4)], limit=5, window=WINDOW, now=NOW
        )
        is None
    )


def test_it_locks_until_the_oldest_of_the_last_limit_failures_is_a_window_old():
    failures = [ago(minutes=m) for m in (1, 2, 3, 4, 5)]

    assert (
        locked_until(failures, limit=5, window=WINDOW, now=NOW)
        == ago(minutes=5) + WINDOW
    )


def test_it_ignores_failures_older_than_the_window():
    failures = [ago(minutes=m) for m in (1, 2, 3, 4, 15, 20)]

    assert locked_until(failures, limit=5, window=WINDOW, now=NOW) is None


def test_more_failures_than_the_limit_lock_until_the_limit_th_most_recent_ages_out():
    failures = [ago(minutes=m) for m in (1, 2, 3, 4, 5, 6, 7)]

    assert (
        locked_until(failures, limit=5, window=WINDOW, now=NOW)
        == ago(minutes=5) + WINDOW
    )


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        locked_until([], limit=0, window=WINDOW, now=NOW)


def test_retry_after_is_rounded_up_and_at_least_one_second():
    assert seconds_until(NOW + timedelta(seconds=1.2), now=NOW) == 2
    assert seconds_until(NOW - timedelta(seconds=5), now=NOW) == 1


@given(
    st.lists(st.integers(min_value=0, max_value=3600), max_size=30),
    st.integers(min_value=1, max_value=8),
)
def test_the_lock_ends_exactly_when_the_window_holds_fewer_than_the_limit(
    seconds_ago, limit
):
    failures = [ago(seconds=s) for s in seconds_ago]
    until = locked_until(failures, limit=limit, window=WINDOW, now=NOW)
    in_window = [f for f in failures if f > NOW - WINDOW]

    if until is None:
        assert len(in_window) < limit
        return
    assert len(in_window) >= limit
    assert NOW < until <= NOW + WINDOW
    # At the moment it ends, no new failure in between, the window holds fewer.
    assert locked_until(failures, limit=limit, window=WINDOW, now=until) is None
    just_before = until - timedelta(microseconds=1)
    assert (
        locked_until(failures, limit=limit, window=WINDOW, now=just_before) is not None
    )
