"""The maths of docs/okrs.md ("How progress is computed", "Status", "Closing a period"):
worked examples first, then hypothesis properties."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from landmark.okrs import scoring
from landmark.okrs.scoring import Band, Pace, PaceThresholds

D = Decimal
T0 = datetime(2026, 1, 1, tzinfo=UTC)
QUARTER_END = datetime(2026, 4, 1, tzinfo=UTC)  # 90 days after T0

# Values as people type them: bounded, at most 4 decimal places (the model's VALUE).
values = st.decimals(
    min_value=D("-100000"), max_value=D("100000"), places=4, allow_nan=False
)
ratios = st.floats(min_value=0, max_value=1, allow_nan=False)
progresses = st.floats(min_value=-2, max_value=3, allow_nan=False)
weights = st.decimals(min_value=D("0"), max_value=D("100"), places=2)
positive_factors = st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2028, 1, 1),
    timezones=st.just(UTC),
)
paces = st.sampled_from(list(Pace))

FAST = settings(max_examples=200, deadline=None)


def severity(p: Pace) -> int:
    """Higher is better: stale < off track < needs attention < on track."""
    return scoring.PACE_ORDER.index(p)


# clamp


@pytest.mark.parametrize(
    ("x", "expected"), [(-0.5, 0.0), (0.0, 0.0), (0.42, 0.42), (1.0, 1.0), (1.3, 1.0)]
)
def test_it_clamps_to_zero_and_one_by_default(x, expected):
    assert scoring.clamp(x) == expected


def test_it_clamps_to_given_bounds():
    assert scoring.clamp(5, low=-1, high=2) == 2
    assert scoring.clamp(-5, low=-1, high=2) == -1


# Metric key results


def test_it_measures_an_increasing_metric_from_start_to_target():
    assert scoring.metric_progress_raw(0, 5, 2) == pytest.approx(0.4)
    assert scoring.metric_progress_raw(D("100"), D("200"), D("150")) == 0.5


def test_it_measures_a_decreasing_metric_halfway():
    # docs/okrs.md, "How progress is computed": start 1200, target 1000, current 1100
    # is half way.
    assert scoring.metric_progress_raw(1200, 1000, 1100) == 0.5
    assert scoring.metric_progress(1200, 1000, 1100) == 0.5


def test_it_shows_a_decreasing_metric_going_the_wrong_way_as_negative():
    assert scoring.metric_progress_raw(1200, 1000, 1300) == -0.5
    assert scoring.metric_progress(1200, 1000, 1300) == 0.0


def test_it_shows_an_increasing_metric_below_its_start_as_negative():
    assert scoring.metric_progress_raw(10, 20, 5) == -0.5
    assert scoring.metric_progress(10, 20, 5) == 0.0


def test_it_shows_progress_over_100_percent_honestly_and_clamps_it_in_rollups():
    assert scoring.metric_progress_raw(0, 5, 7) == pytest.approx(1.4)
    assert scoring.metric_progress_raw(1200, 1000, 900) == 1.5
    assert scoring.metric_progress(0, 5, 7) == 1.0


def test_it_accepts_decimals_with_fractions():
    assert scoring.metric_progress_raw(D("0.5"), D("1.5"), D("0.75")) == 0.25


def test_it_rejects_a_metric_whose_start_equals_its_target():
    with pytest.raises(scoring.SameStartAndTarget, match="threshold"):
        scoring.metric_progress_raw(5, 5, 7)
    with pytest.raises(ValueError, match="threshold"):
        scoring.metric_progress(D("5.0"), D("5"), D("5"))


three_values = st.lists(values, min_size=3, max_size=3, unique=True).map(sorted)


@FAST
@given(ordered=three_values)
def test_it_never_credits_a_decreasing_metric_moving_the_wrong_way(ordered):
    target, start, current = ordered
    assert scoring.metric_progress_raw(start, target, current) < 0
    assert scoring.metric_progress(start, target, current) == 0.0


@FAST
@given(ordered=three_values)
def test_it_never_credits_an_increasing_metric_moving_the_wrong_way(ordered):
    current, start, target = ordered
    assert scoring.metric_progress_raw(start, target, current) < 0


@FAST
@given(start=values, target=values)
def test_it_gives_zero_at_the_start_and_one_at_the_target(start, target):
    assume(start != target)
    assert scoring.metric_progress_raw(start, target, start) == 0.0
    assert scoring.metric_progress_raw(start, target, target) == 1.0


@FAST
@given(start=values, target=values, a=values, b=values)
def test_it_never_loses_progress_when_the_value_moves_towards_the_target(
    start, target, a, b
):
    assume(start != target)
    # Order the two values so that `closer` is at least as far towards the target.
    behind, closer = sorted((a, b)) if target > start else sorted((a, b), reverse=True)
    raw_behind = scoring.metric_progress_raw(start, target, behind)
    raw_closer = scoring.metric_progress_raw(start, target, closer)
    assert raw_behind <= raw_closer
    assert scoring.metric_progress(start, target, behind) <= scoring.metric_progress(
        start, target, closer
    )


@FAST
@given(start=values, target=values, current=values)
def test_it_keeps_clamped_progress_between_zero_and_one(start, target, current):
    assume(start != target)
    assert 0.0 <= scoring.metric_progress(start, target, current) <= 1.0


# Threshold and milestone key results


@pytest.mark.parametrize(
    ("op", "value", "low", "high", "holds"),
    [
        ("at_least", 95, 95, None, True),
        ("at_least", D("94.99"), 95, None, False),
        ("at_least", 100, 95, None, True),
        ("at_most", 2, None, 2, True),
        ("at_most", D("2.01"), None, 2, False),
        ("between", 10, 10, 20, True),
        ("between", 20, 10, 20, True),
        ("between", 15, 10, 20, True),
        ("between", D("9.9"), 10, 20, False),
        ("between", 21, 10, 20, False),
    ],
)
def test_it_checks_whether_a_threshold_holds(op, value, low, high, holds):
    assert scoring.threshold_holds(op, value, low, high) is holds
    assert scoring.threshold_progress(op, value, low, high) == (1.0 if holds else 0.0)


@pytest.mark.parametrize(
    "op, low, high, missing",
    [
        ("at_least", None, 5, "low"),
        ("at_most", 5, None, "high"),
        ("between", None, 5, "low"),
        ("between", 5, None, "high"),
    ],
)
def test_a_threshold_without_its_bound_is_refused_with_a_message(
    op, low, high, missing
):
    with pytest.raises(ValueError, match=f"'{op}' needs its {missing} bound"):
        scoring.threshold_holds(op, 5, low, high)


def test_it_accepts_the_threshold_enum_as_well_as_its_value():
    assert scoring.threshold_holds(scoring.ThresholdOp.AT_LEAST, 96, 95)


def test_it_gives_no_progress_to_a_threshold_without_a_value():
    assert scoring.threshold_progress("at_least", None, 95, None) == 0.0


def test_it_scores_a_milestone_as_zero_or_one():
    assert scoring.milestone_progress(True) == 1.0
    assert scoring.milestone_progress(False) == 0.0


# Objective progress and summaries


def test_it_weights_the_mean_of_key_results():
    assert scoring.weighted_mean([(1.0, 1), (0.0, 3)]) == 0.25
    assert scoring.weighted_mean([(0.5, D("2")), (1.0, D("2"))]) == 0.75


def test_it_has_no_mean_of_nothing():
    assert scoring.weighted_mean([]) is None


def test_it_uses_the_plain_mean_when_every_weight_is_zero():
    assert scoring.weighted_mean([(1.0, 0), (0.0, 0)]) == 0.5


def test_it_rejects_negative_weights():
    with pytest.raises(ValueError, match="negative"):
        scoring.weighted_mean([(1.0, 1), (0.5, -1)])


def test_it_clamps_key_results_before_averaging_them_into_an_objective():
    # A KR at 150 % cannot make up for one at -50 %: clamped 1 and 0 average to 0.5.
    assert scoring.objective_progress([(1.5, 1), (-0.5, 1)]) == 0.5


def test_it_counts_aligned_children_as_members_of_weight_one():
    assert scoring.objective_progress([(1.0, 3)], child_progress=[0.0]) == 0.75
    assert scoring.objective_progress([], child_progress=[0.2, 0.4]) == pytest.approx(
        0.3
    )


def test_it_reports_an_objective_without_key_results_as_no_progress_not_zero():
    assert scoring.objective_progress([]) is None
    assert scoring.objective_progress([], child_progress=[]) is None


def test_it_averages_summaries_over_objectives_that_have_progress():
    assert scoring.mean([0.2, None, 0.6]) == pytest.approx(0.4)
    assert scoring.mean([None, None]) is None
    assert scoring.mean([]) is None


kr_lists = st.lists(st.tuples(progresses, weights), min_size=1, max_size=8)


@FAST
@given(krs=kr_lists)
def test_it_keeps_an_objective_between_its_weakest_and_strongest_key_result(krs):
    clamped = [scoring.clamp(p) for p, _ in krs]
    progress = scoring.objective_progress(krs)
    assert progress is not None
    assert min(clamped) - 1e-9 <= progress <= max(clamped) + 1e-9


@FAST
@given(krs=kr_lists, factor=positive_factors)
def test_it_ignores_a_common_scale_of_the_weights(krs, factor):
    scaled = [(p, w * factor) for p, w in krs]
    assert scoring.objective_progress(scaled) == pytest.approx(
        scoring.objective_progress(krs), abs=1e-9
    )


# Time share and expected value


def test_it_measures_the_share_of_the_period_elapsed():
    assert scoring.time_share(T0, T0, QUARTER_END) == 0.0
    assert scoring.time_share(T0 + timedelta(days=45), T0, QUARTER_END) == 0.5
    assert scoring.time_share(QUARTER_END, T0, QUARTER_END) == 1.0


def test_it_clamps_the_time_share_before_and_after_the_period():
    assert scoring.time_share(T0 - timedelta(days=3), T0, QUARTER_END) == 0.0
    assert scoring.time_share(QUARTER_END + timedelta(days=3), T0, QUARTER_END) == 1.0


def test_it_treats_an_empty_period_as_not_started_then_over():
    assert scoring.time_share(T0 - timedelta(seconds=1), T0, T0) == 0.0
    assert scoring.time_share(T0, T0, T0) == 1.0


@FAST
@given(start=instants, length=st.integers(1, 400 * 86400), a=instants, b=instants)
def test_it_keeps_the_time_share_between_zero_and_one_and_growing_with_time(
    start, length, a, b
):
    end = start + timedelta(seconds=length)
    earlier, later = sorted((a, b))
    tau_earlier = scoring.time_share(earlier, start, end)
    tau_later = scoring.time_share(later, start, end)
    assert 0.0 <= tau_earlier <= tau_later <= 1.0


def test_it_expects_a_metric_to_move_evenly_over_the_period():
    assert scoring.expected_value(0, 5, 0.4) == D("2.0")
    assert scoring.expected_value(1200, 1000, 0.5) == D("1100.0")
    assert scoring.expected_value(D("10"), D("20"), 0.0) == D("10")
    assert scoring.expected_value(D("10"), D("20"), 1.0) == D("20")


# Pace


def test_it_calls_progress_at_or_ahead_of_time_on_track():
    assert scoring.pace(0.5, 0.5) is Pace.ON_TRACK
    assert scoring.pace(0.9, 0.2) is Pace.ON_TRACK


def test_it_tolerates_a_small_lag_as_on_track():
    assert scoring.pace(0.45, 0.5) is Pace.ON_TRACK


def test_it_flags_a_lag_between_10_and_25_points_as_needing_attention():
    assert scoring.pace(0.3, 0.5) is Pace.NEEDS_ATTENTION
    # Exactly 25 points behind is still "needs attention", not off track.
    assert scoring.pace(0.25, 0.5) is Pace.NEEDS_ATTENTION


def test_it_flags_a_lag_over_25_points_as_off_track():
    assert scoring.pace(0.2, 0.5) is Pace.OFF_TRACK
    assert scoring.pace(0.0, 1.0) is Pace.OFF_TRACK


def test_it_calls_a_key_result_that_reached_its_target_on_track_whatever_the_time():
    assert scoring.pace(1.0, 1.0) is Pace.ON_TRACK
    assert scoring.pace(1.2, 0.0) is Pace.ON_TRACK


def test_it_uses_the_organizations_thresholds():
    # Dyadic gaps keep the boundaries exact in binary floating point.
    strict = PaceThresholds(on_track_gap=0.0625, off_track_gap=0.125)
    assert scoring.pace(0.4375, 0.5, strict) is Pace.ON_TRACK  # d = -0.0625
    assert scoring.pace(0.375, 0.5, strict) is Pace.NEEDS_ATTENTION  # d = -0.125
    assert scoring.pace(0.25, 0.5, strict) is Pace.OFF_TRACK
    assert scoring.pace(0.25, 0.5) is Pace.NEEDS_ATTENTION


def test_it_calls_a_lag_of_exactly_10_points_on_track():
    # docs/okrs.md, "Status": on track if d >= -0.10. A 0 → 10 KR at 3 after 36 of 90 days.
    assert scoring.pace(0.3, 0.4) is Pace.ON_TRACK


@FAST
@given(a=ratios, b=ratios, tau=ratios)
def test_it_never_gives_a_worse_pace_for_more_progress(a, b, tau):
    less, more = sorted((a, b))
    assert severity(scoring.pace(less, tau)) <= severity(scoring.pace(more, tau))


@FAST
@given(p=ratios, tau=ratios)
def test_it_never_calls_a_stale_key_result_from_progress_alone(p, tau):
    assert scoring.pace(p, tau) is not Pace.STALE


# Staleness


def test_it_calls_a_key_result_stale_after_cadence_plus_grace_without_check_in():
    last = T0
    assert not scoring.is_stale(last, T0, T0 + timedelta(days=10), 7, 3)
    assert scoring.is_stale(last, T0, T0 + timedelta(days=10, seconds=1), 7, 3)


def test_it_starts_the_staleness_clock_at_since_when_never_checked_in():
    since = T0 + timedelta(days=30)
    assert not scoring.is_stale(None, since, since + timedelta(days=9), 7, 3)
    assert scoring.is_stale(None, since, since + timedelta(days=11), 7, 3)


def test_it_uses_the_last_check_in_rather_than_since_when_there_is_one():
    since = T0
    recent = T0 + timedelta(days=40)
    assert not scoring.is_stale(recent, since, recent + timedelta(days=2), 7, 3)


# Weakest status


def test_it_picks_stale_before_off_track():
    assert scoring.weakest([Pace.ON_TRACK, Pace.OFF_TRACK, Pace.STALE]) is Pace.STALE
    assert scoring.weakest([Pace.OFF_TRACK, Pace.NEEDS_ATTENTION]) is Pace.OFF_TRACK
    assert scoring.weakest([Pace.ON_TRACK, Pace.NEEDS_ATTENTION]) is (
        Pace.NEEDS_ATTENTION
    )
    assert scoring.weakest(iter([Pace.ON_TRACK])) is Pace.ON_TRACK


def test_it_has_no_weakest_status_without_key_results():
    assert scoring.weakest([]) is None


@FAST
@given(statuses=st.lists(paces, min_size=1, max_size=10))
def test_it_gives_an_objective_a_status_no_better_than_any_key_result(statuses):
    weakest = scoring.weakest(statuses)
    assert weakest is not None
    assert weakest in statuses
    assert all(severity(weakest) <= severity(s) for s in statuses)
    if Pace.STALE in statuses:
        assert weakest is Pace.STALE


# Grading


@pytest.mark.parametrize(
    ("progress", "score"),
    [
        (0.0, "0.00"),
        (0.125, "0.13"),  # half up, not to even
        (0.375, "0.38"),
        (2 / 3, "0.67"),
        (0.994, "0.99"),
        (0.995, "1.00"),
        (1.4, "1.00"),  # clamped
        (-0.5, "0.00"),  # clamped
    ],
)
def test_it_rounds_a_key_result_score_to_two_decimals(progress, score):
    assert scoring.round_score(progress) == D(score)
    assert scoring.round_score(progress).as_tuple().exponent == -2


def test_it_scores_an_objective_as_the_weighted_mean_of_its_key_results():
    assert scoring.objective_score([(D("1.00"), 1), (D("0.50"), 1)]) == D("0.75")
    assert scoring.objective_score([(D("1.00"), 3), (D("0.00"), 1)]) == D("0.75")
    three = [(D("0.70"), 1), (D("0.80"), 1), (D("0.60"), 1)]
    assert scoring.objective_score(three) == D("0.70")
    assert scoring.objective_score([(D("0.33"), 1), (D("0.34"), 2)]) == D("0.34")


def test_it_has_no_objective_score_without_key_results():
    assert scoring.objective_score([]) is None


def test_it_rounds_an_objective_score_half_up_from_the_exact_mean():
    # 0.395 is exactly half way and rounds up to 0.40: yellow, not red.
    assert scoring.objective_score([(D("0.08"), 1), (D("0.71"), 1)]) == D("0.40")


scores = st.decimals(min_value=D("0"), max_value=D("1"), places=2)


@FAST
@given(kr_scores=st.lists(st.tuples(scores, weights), min_size=1, max_size=6))
def test_it_keeps_an_objective_score_between_its_key_result_scores(kr_scores):
    score = scoring.objective_score(kr_scores)
    assert score is not None
    assert min(s for s, _ in kr_scores) <= score <= max(s for s, _ in kr_scores)
    assert score.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (D("0"), Band.RED),
        (D("0.39"), Band.RED),
        (0.3999, Band.RED),
        (D("0.40"), Band.YELLOW),
        (0.4, Band.YELLOW),
        (D("0.69"), Band.YELLOW),
        (D("0.70"), Band.GREEN),
        (0.7, Band.GREEN),
        (D("1.00"), Band.GREEN),
    ],
)
def test_it_colours_scores_red_below_04_yellow_below_07_green_above(score, expected):
    assert scoring.band(score) is expected


@pytest.mark.parametrize(
    ("score", "committed", "achieved"),
    [
        (D("1.00"), True, True),
        (1, True, True),
        (D("0.99"), True, False),
        (D("0.70"), True, False),
        (D("0.70"), False, True),
        (0.7, False, True),
        (D("0.69"), False, False),
        (D("1.00"), False, True),
    ],
)
def test_it_achieves_committed_objectives_at_1_and_aspirational_ones_at_07(
    score, committed, achieved
):
    assert scoring.is_achieved(score, committed) is achieved


@FAST
@given(a=scores, b=scores, committed=st.booleans())
def test_it_never_gives_a_worse_band_or_outcome_for_a_higher_score(a, b, committed):
    low, high = sorted((a, b))
    order = [Band.RED, Band.YELLOW, Band.GREEN]
    assert order.index(scoring.band(low)) <= order.index(scoring.band(high))
    assert scoring.is_achieved(low, committed) <= scoring.is_achieved(high, committed)
