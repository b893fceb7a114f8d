"""OKR actions through the database: check-ins, key result validation, alignment,
and closing a period (grading, overrides, carry-over, all-or-nothing)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from landmark.okrs import actions
from landmark.okrs.actions import Grade
from landmark.okrs.models import CheckIn, KeyResult, Objective, Period

D = Decimal
ON_TRACK = KeyResult.Status.ON_TRACK


@pytest.fixture
def metric(key_results: list[KeyResult]) -> KeyResult:
    return key_results[0]


@pytest.fixture
def threshold(key_results: list[KeyResult]) -> KeyResult:
    return key_results[1]


@pytest.fixture
def milestone(key_results: list[KeyResult]) -> KeyResult:
    return key_results[2]


@pytest.fixture
def next_period(org, period) -> Period:
    return actions.create_period(
        org=org,
        name="Next quarter",
        start=period.end + timedelta(days=1),
        end=period.end + timedelta(days=91),
    )


def add_objective(org, period, owner, title, *, krs, **fields) -> Objective:
    """An objective with metric KRs given as (start, target, current, weight)."""
    objective = actions.create_objective(
        org=org, period=period, owner=owner, title=title, **fields
    )
    for n, (start, target, current, weight) in enumerate(krs):
        kr = actions.create_key_result(
            objective=objective,
            title=f"{title} KR {n}",
            start=D(start),
            target=D(target),
            weight=D(weight),
        )
        if current is not None:
            actions.record_checkin(
                key_result=kr, author=owner, status=ON_TRACK, value=D(current)
            )
    return objective


def field_errors(excinfo: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return set(excinfo.value.message_dict)


# Check-ins


def test_it_moves_the_current_value_with_a_check_in(metric, bob):
    checkin = actions.record_checkin(
        key_result=metric,
        author=bob,
        status=KeyResult.Status.NEEDS_ATTENTION,
        value=D("2"),
        confidence=6,
        moved="Two pilots signed",
    )

    metric.refresh_from_db()
    assert metric.current == D("2")
    assert metric.last_checkin_at == checkin.created_at
    assert metric.last_status == KeyResult.Status.NEEDS_ATTENTION
    assert metric.last_confidence == 6
    assert metric.checkins_count == 1
    assert metric.progress() == pytest.approx(0.4)
    assert CheckIn.objects.get(key_result=metric).moved == "Two pilots signed"


def test_it_counts_every_check_in_and_keeps_them_all(metric, bob):
    for value in ("1", "3", "4"):
        actions.record_checkin(
            key_result=metric, author=bob, status=ON_TRACK, value=D(value)
        )

    metric.refresh_from_db()
    assert metric.checkins_count == 3
    assert metric.current == D("4")
    history = CheckIn.objects.filter(key_result=metric).order_by("created_at", "pk")
    assert [c.value for c in history] == [D("1"), D("3"), D("4")]


def test_it_does_not_let_a_back_dated_check_in_overwrite_a_newer_value(metric, bob):
    now = timezone.now()
    actions.record_checkin(
        key_result=metric, author=bob, status=ON_TRACK, value=D("3"), at=now
    )
    actions.record_checkin(
        key_result=metric,
        author=bob,
        status=KeyResult.Status.OFF_TRACK,
        value=D("1"),
        at=now - timedelta(days=7),
    )

    metric.refresh_from_db()
    assert metric.current == D("3")
    assert metric.last_checkin_at == now
    assert metric.last_status == ON_TRACK
    assert metric.checkins_count == 2
    assert CheckIn.objects.filter(key_result=metric).count() == 2


def test_it_lets_a_later_check_in_replace_an_earlier_one(metric, bob):
    now = timezone.now()
    actions.record_checkin(
        key_result=metric,
        author=bob,
        status=ON_TRACK,
        value=D("1"),
        at=now - timedelta(days=7),
    )
    actions.record_checkin(
        key_result=metric, author=bob, status=ON_TRACK, value=D("3"), at=now
    )

    metric.refresh_from_db()
    assert metric.current == D("3")
    assert metric.last_checkin_at == now


def test_it_counts_the_check_ins_that_held_a_threshold(threshold, bob):
    for value in ("96", "94.5", "95", "99"):
        actions.record_checkin(
            key_result=threshold, author=bob, status=ON_TRACK, value=D(value)
        )

    threshold.refresh_from_db()
    assert threshold.checkins_count == 4
    assert threshold.checkins_held == 3
    assert threshold.progress() == 1.0


def test_it_scores_a_threshold_by_its_latest_value(threshold, bob):
    actions.record_checkin(
        key_result=threshold, author=bob, status=ON_TRACK, value=D("97")
    )
    actions.record_checkin(
        key_result=threshold, author=bob, status=ON_TRACK, value=D("90")
    )

    threshold.refresh_from_db()
    assert threshold.checkins_held == 1
    assert threshold.progress() == 0.0


def test_it_requires_a_milestone_check_in_to_say_whether_it_is_done(milestone, bob):
    with pytest.raises(ValidationError) as excinfo:
        actions.record_checkin(
            key_result=milestone, author=bob, status=ON_TRACK, value=D("1")
        )

    assert field_errors(excinfo) == {"done"}
    milestone.refresh_from_db()
    assert milestone.checkins_count == 0
    assert not CheckIn.objects.filter(key_result=milestone).exists()


def test_it_marks_a_milestone_done_with_a_check_in(milestone, bob):
    actions.record_checkin(key_result=milestone, author=bob, status=ON_TRACK, done=True)

    milestone.refresh_from_db()
    assert milestone.done is True
    assert milestone.current is None
    assert milestone.progress() == 1.0


def test_it_requires_a_value_for_a_metric_check_in(metric, bob):
    with pytest.raises(ValidationError) as excinfo:
        actions.record_checkin(key_result=metric, author=bob, status=ON_TRACK)

    assert field_errors(excinfo) == {"value"}
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize("confidence", [0, 11])
def test_it_rejects_a_confidence_outside_1_to_10(metric, bob, confidence):
    with pytest.raises(ValidationError) as excinfo:
        actions.record_checkin(
            key_result=metric,
            author=bob,
            status=ON_TRACK,
            value=D("1"),
            confidence=confidence,
        )

    assert field_errors(excinfo) == {"confidence"}
    metric.refresh_from_db()
    assert metric.current is None
    assert not CheckIn.objects.exists()


# Creating key results


def test_it_creates_key_results_in_order_owned_by_the_objectives_owner(
    key_results, bob
):
    assert [kr.position for kr in key_results] == [0, 1, 2]
    assert {kr.owner for kr in key_results} == {bob}
    assert {kr.organization_id for kr in key_results} == {
        key_results[0].objective.organization_id
    }


@pytest.mark.parametrize(
    ("fields", "error_fields", "message"),
    [
        (
            {"kind": "metric", "start": D("5"), "target": D("5")},
            {"target"},
            "threshold",
        ),
        ({"kind": "metric", "start": None, "target": D("5")}, {"start"}, "baseline"),
        ({"kind": "metric", "start": D("0"), "target": None}, {"target"}, "aim"),
        ({"kind": "threshold", "threshold_op": ""}, {"threshold_op"}, "Choose"),
        (
            {"kind": "threshold", "threshold_op": "at_least"},
            {"threshold_low"},
            "lowest",
        ),
        (
            {"kind": "threshold", "threshold_op": "at_most"},
            {"threshold_high"},
            "highest",
        ),
        (
            {"kind": "threshold", "threshold_op": "between"},
            {"threshold_low", "threshold_high"},
            "acceptable",
        ),
        (
            {
                "kind": "threshold",
                "threshold_op": "between",
                "threshold_low": D("20"),
                "threshold_high": D("10"),
            },
            {"threshold_high"},
            "at least the lowest",
        ),
        (
            {"kind": "milestone", "weight": D("-1")},
            {"weight"},
            "negative",
        ),
    ],
)
def test_it_rejects_an_unmeasurable_key_result_keyed_by_field(
    objective, fields, error_fields, message
):
    with pytest.raises(ValidationError) as excinfo:
        actions.create_key_result(objective=objective, title="Broken", **fields)

    assert field_errors(excinfo) == error_fields
    assert message in " ".join(
        m for messages in excinfo.value.message_dict.values() for m in messages
    )
    assert not KeyResult.objects.filter(objective=objective).exists()


def test_it_saves_nothing_when_an_update_makes_a_key_result_unmeasurable(metric):
    with pytest.raises(ValidationError) as excinfo:
        actions.update_key_result(key_result=metric, title="Renamed", target=D("0"))

    assert field_errors(excinfo) == {"target"}
    metric.refresh_from_db()
    assert metric.title == "Sign new mid-market customers"
    assert metric.target == D("5")


# Alignment


def test_it_aligns_an_objective_under_a_parent_in_the_same_organization(
    org, period, alice, objective
):
    company = actions.create_objective(
        org=org, period=period, owner=alice, title="Grow", level="company"
    )

    actions.update_objective(objective=objective, parent=company)

    objective.refresh_from_db()
    assert objective.parent == company


def test_it_rejects_aligning_an_objective_under_itself(objective):
    with pytest.raises(ValidationError) as excinfo:
        actions.update_objective(objective=objective, parent=objective)

    assert field_errors(excinfo) == {"parent"}
    objective.refresh_from_db()
    assert objective.parent is None


def test_it_rejects_aligning_an_objective_under_its_own_descendant(
    org, period, bob, objective
):
    child = actions.create_objective(
        org=org, period=period, owner=bob, title="Child", parent=objective
    )
    grandchild = actions.create_objective(
        org=org, period=period, owner=bob, title="Grandchild", parent=child
    )

    with pytest.raises(ValidationError, match="sub-objectives"):
        actions.update_objective(objective=objective, parent=grandchild)

    objective.refresh_from_db()
    assert objective.parent is None


def test_it_rejects_a_parent_from_another_organization(
    org, period, bob, objective, other_objective
):
    with pytest.raises(ValidationError) as excinfo:
        actions.create_objective(
            org=org, period=period, owner=bob, title="Sneaky", parent=other_objective
        )
    assert field_errors(excinfo) == {"parent"}
    assert not Objective.objects.filter(title="Sneaky").exists()

    with pytest.raises(ValidationError):
        actions.update_objective(objective=objective, parent=other_objective)
    objective.refresh_from_db()
    assert objective.parent is None


# Closing a period


def test_it_scores_key_results_to_two_decimals_and_objectives_by_weight(
    org, period, bob
):
    # Progress 2/3 → 0.67, -50 % → 0.00 (clamped), 150 % → 1.00; weights 1, 1, 2.
    objective = add_objective(
        org,
        period,
        bob,
        "Weighted",
        krs=[("0", "3", "2", "1"), ("10", "20", "5", "1"), ("0", "4", "6", "2")],
    )

    actions.close_period(period=period, grades=[Grade(objective)], author=bob)

    scores = list(objective.key_results.values_list("score", flat=True))
    assert scores == [D("0.67"), D("0.00"), D("1.00")]
    objective.refresh_from_db()
    # (0.67 + 0 + 2 * 1.00) / 4 = 0.6675 → 0.67
    assert objective.score == D("0.67")
    assert objective.state == Objective.State.CLOSED
    assert objective.outcome == Objective.Outcome.PARTIAL
    period.refresh_from_db()
    assert period.state == Period.State.CLOSED
    assert period.closed_at is not None


def test_it_scores_every_kind_of_key_result_at_close(key_results, objective, bob):
    metric, threshold, _ = key_results
    actions.record_checkin(key_result=metric, author=bob, status=ON_TRACK, value=D("4"))
    actions.record_checkin(
        key_result=threshold, author=bob, status=ON_TRACK, value=D("96")
    )

    actions.close_period(period=objective.period, grades=[Grade(objective)], author=bob)

    assert [kr.score for kr in KeyResult.objects.filter(objective=objective)] == [
        D("0.80"),
        D("1.00"),
        D("0.00"),
    ]
    objective.refresh_from_db()
    assert objective.score == D("0.60")
    assert objective.outcome == Objective.Outcome.PARTIAL


@pytest.mark.parametrize(
    ("current", "commitment", "outcome"),
    [
        ("10", "committed", Objective.Outcome.ACHIEVED),
        ("9.9", "committed", Objective.Outcome.PARTIAL),  # 0.99 is not 1.0
        ("7", "committed", Objective.Outcome.PARTIAL),
        ("7", "aspirational", Objective.Outcome.ACHIEVED),
        ("6.9", "aspirational", Objective.Outcome.PARTIAL),
        ("4", "aspirational", Objective.Outcome.PARTIAL),
        ("3.9", "aspirational", Objective.Outcome.MISSED),
        ("3.9", "committed", Objective.Outcome.MISSED),
    ],
)
def test_it_decides_the_outcome_by_commitment(
    org, period, bob, current, commitment, outcome
):
    objective = add_objective(
        org,
        period,
        bob,
        "Outcome",
        krs=[("0", "10", current, "1")],
        commitment=commitment,
    )

    actions.close_period(period=period, grades=[Grade(objective)], author=bob)

    objective.refresh_from_db()
    assert objective.outcome == outcome


def test_it_rounds_a_half_way_objective_score_up_at_close(org, period, bob):
    objective = add_objective(
        org,
        period,
        bob,
        "Half way",
        krs=[("0", "100", "8", "1"), ("0", "100", "71", "1")],
    )

    actions.close_period(period=period, grades=[Grade(objective)], author=bob)

    objective.refresh_from_db()
    # (0.08 + 0.71) / 2 = 0.395 → 0.40, partially achieved rather than missed.
    assert objective.score == D("0.40")
    assert objective.outcome == Objective.Outcome.PARTIAL


def test_it_misses_an_objective_without_key_results(org, period, bob):
    objective = add_objective(org, period, bob, "Empty", krs=[])

    actions.close_period(period=period, grades=[Grade(objective)], author=bob)

    objective.refresh_from_db()
    assert objective.score is None
    assert objective.outcome == Objective.Outcome.MISSED


def test_it_keeps_both_numbers_when_an_owner_overrides_a_score(org, period, bob):
    objective = add_objective(org, period, bob, "Override", krs=[("0", "10", "5", "1")])

    actions.close_period(
        period=period,
        grades=[
            Grade(
                objective,
                score_override=D("0.80"),
                override_reason="  The last deal closed a day late.  ",
            )
        ],
        author=bob,
    )

    objective.refresh_from_db()
    assert objective.score == D("0.50")
    assert objective.score_override == D("0.80")
    assert objective.final_score == D("0.80")
    assert objective.override_reason == "The last deal closed a day late."
    assert objective.outcome == Objective.Outcome.ACHIEVED


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_requires_a_reason_to_override_a_score(org, period, bob, reason):
    objective = add_objective(org, period, bob, "Override", krs=[("0", "10", "5", "1")])

    with pytest.raises(ValidationError) as excinfo:
        actions.close_period(
            period=period,
            grades=[Grade(objective, score_override=D("0.9"), override_reason=reason)],
            author=bob,
        )

    assert field_errors(excinfo) == {"override_reason"}
    period.refresh_from_db()
    assert period.state == Period.State.ACTIVE


def test_it_records_an_outcome_and_retrospective_chosen_by_the_owner(org, period, bob):
    objective = add_objective(org, period, bob, "Chosen", krs=[("0", "10", "1", "1")])

    actions.close_period(
        period=period,
        grades=[
            Grade(
                objective,
                outcome=Objective.Outcome.ACHIEVED,
                retrospective="We learned a lot.",
            )
        ],
        retrospective="A hard quarter.",
        author=bob,
    )

    objective.refresh_from_db()
    period.refresh_from_db()
    assert objective.outcome == Objective.Outcome.ACHIEVED
    assert objective.retrospective == "We learned a lot."
    assert period.retrospective == "A hard quarter."


def test_it_carries_an_objective_and_its_key_results_into_the_next_period(
    key_results, objective, next_period, bob
):
    metric, threshold, _ = key_results
    actions.record_checkin(key_result=metric, author=bob, status=ON_TRACK, value=D("2"))

    actions.close_period(
        period=objective.period,
        grades=[Grade(objective, carry_over=True)],
        carry_into=next_period,
        author=bob,
    )

    objective.refresh_from_db()
    assert objective.outcome == Objective.Outcome.CARRIED_OVER
    assert objective.score == D("0.13")  # (0.40 + 0 + 0) / 3 = 0.1333
    copy = Objective.objects.get(period=next_period)
    assert copy.carried_from == objective
    assert copy.title == objective.title
    assert copy.owner == objective.owner
    assert copy.team == objective.team
    assert copy.state == Objective.State.DRAFT  # the next period is still planning
    assert copy.score is None
    new_krs = list(copy.key_results.all())
    assert [kr.kind for kr in new_krs] == [kr.kind for kr in key_results]
    assert [kr.title for kr in new_krs] == [kr.title for kr in key_results]
    new_metric, new_threshold, new_milestone = new_krs
    assert (new_metric.start, new_metric.target) == (D("2"), D("5"))
    assert new_metric.current is None
    assert new_metric.checkins_count == 0
    assert new_threshold.threshold_op == threshold.threshold_op
    assert new_threshold.threshold_low == D("95")
    assert new_milestone.done is False


def test_it_needs_a_period_to_carry_objectives_into(objective, bob):
    with pytest.raises(ValidationError) as excinfo:
        actions.close_period(
            period=objective.period,
            grades=[Grade(objective, carry_over=True)],
            author=bob,
        )

    assert field_errors(excinfo) == {"carry_into"}
    objective.period.refresh_from_db()
    assert objective.period.state == Period.State.ACTIVE


def test_it_refuses_to_close_a_period_twice(objective, bob):
    period = objective.period
    actions.close_period(period=period, grades=[Grade(objective)], author=bob)

    with pytest.raises(ValidationError, match="already closed"):
        actions.close_period(period=period, grades=[], author=bob)


def test_it_rolls_everything_back_when_closing_fails_midway(
    org, period, next_period, bob
):
    first = add_objective(org, period, bob, "First", krs=[("0", "10", "5", "1")])
    second = add_objective(org, period, bob, "Second", krs=[("0", "10", "9", "1")])

    with pytest.raises(ValidationError):
        actions.close_period(
            period=period,
            grades=[
                Grade(first, carry_over=True),
                Grade(second, score_override=D("1.00"), override_reason=""),
            ],
            retrospective="Never saved",
            carry_into=next_period,
            author=bob,
        )

    period.refresh_from_db()
    assert period.state == Period.State.ACTIVE
    assert period.closed_at is None
    assert period.retrospective == ""
    for objective in (first, second):
        fresh = Objective.objects.get(pk=objective.pk)
        assert fresh.state == Objective.State.ACTIVE
        assert fresh.score is None
        assert fresh.outcome == ""
    assert not KeyResult.objects.filter(score__isnull=False).exists()
    assert not Objective.objects.filter(period=next_period).exists()


def test_it_refuses_to_carry_into_a_closed_period(org, period, bob):
    closed = actions.create_period(
        org=org,
        name="Closed",
        start=date(2020, 1, 1),
        end=date(2020, 3, 31),
        state=Period.State.CLOSED,
    )
    objective = add_objective(org, period, bob, "Carry", krs=[("0", "10", "5", "1")])

    with pytest.raises(ValidationError) as excinfo:
        actions.close_period(
            period=period,
            grades=[Grade(objective, carry_over=True)],
            carry_into=closed,
            author=bob,
        )

    assert field_errors(excinfo) == {"carry_into"}
    period.refresh_from_db()
    assert period.state == Period.State.ACTIVE
    assert not Objective.objects.filter(period=closed).exists()
