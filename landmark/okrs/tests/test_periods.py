"""Periods that make sense: a quarter is about a quarter long, a year about a year,
a name fits on one line, and a reopened period forgets how it was closed."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from landmark.okrs import actions
from landmark.okrs.models import KeyResult, Objective, Period

D = Decimal


def html(response) -> str:
    return response.content.decode()


# The rule


@pytest.mark.parametrize(
    ("kind", "start", "end"),
    [
        ("quarter", date(2026, 1, 1), date(2026, 3, 31)),  # 90 days
        ("quarter", date(2024, 1, 1), date(2024, 3, 31)),  # 91 (leap year)
        ("quarter", date(2026, 7, 1), date(2026, 9, 30)),  # 92
        ("quarter", date(2026, 1, 4), date(2026, 4, 4)),  # 13 weeks (4-4-5)
        ("quarter", date(2026, 1, 4), date(2026, 4, 11)),  # 14 weeks, 53-week year
        ("year", date(2026, 1, 1), date(2026, 12, 31)),
        ("year", date(2024, 1, 1), date(2024, 12, 31)),  # 366 days
        ("year", date(2025, 12, 28), date(2026, 12, 26)),  # 52 weeks, a fiscal year
        ("custom", date(2026, 5, 1), date(2026, 5, 1)),  # a one-day sprint
        ("custom", date(2026, 1, 1), date(2027, 6, 30)),
    ],
)
def test_it_accepts_periods_whose_kind_fits_their_length(org, kind, start, end):
    period = actions.create_period(
        org=org, name=f"{kind} {start}", kind=kind, start=start, end=end
    )

    assert (period.kind, period.start, period.end) == (kind, start, end)


@pytest.mark.parametrize(
    ("kind", "start", "end", "days"),
    [
        ("quarter", date(2026, 1, 1), date(2026, 1, 31), 31),
        ("quarter", date(2026, 1, 1), date(2026, 4, 30), 120),
        ("quarter", date(2026, 1, 1), date(2030, 12, 31), 1826),
        ("year", date(2026, 1, 1), date(2026, 6, 30), 181),
        ("year", date(2026, 1, 1), date(2027, 1, 31), 396),
    ],
)
def test_it_refuses_a_kind_that_does_not_fit_the_length(org, kind, start, end, days):
    with pytest.raises(ValidationError) as caught:
        actions.create_period(org=org, name="Odd", kind=kind, start=start, end=end)

    message = caught.value.message_dict["kind"][0]
    assert f"these dates span {days} days" in message
    assert "choose Custom" in message
    assert not Period.objects.filter(organization=org).exists()


@pytest.mark.parametrize("name", ["Q3\n2026", "Q3\r2026", "Q3\t2026", "Q3\u20282026"])
def test_it_refuses_a_name_on_more_than_one_line(org, name):
    with pytest.raises(ValidationError) as caught:
        actions.create_period(
            org=org, name=name, start=date(2026, 7, 1), end=date(2026, 9, 30)
        )

    assert "on one line" in caught.value.message_dict["name"][0]
    assert not Period.objects.filter(organization=org).exists()


def test_an_edit_is_checked_against_the_periods_other_values(period):
    with pytest.raises(ValidationError) as caught:
        actions.update_period(period=period, kind=Period.Kind.YEAR)

    assert "A year lasts 52 or 53 weeks" in caught.value.message_dict["kind"][0]
    period.refresh_from_db()
    assert period.kind == Period.Kind.QUARTER


# The web form


def period_form(**changes: str) -> dict[str, str]:
    return {
        "name": "Q3 2031",
        "kind": "quarter",
        "start": "2031-07-01",
        "end": "2031-09-30",
        "state": "planning",
        **changes,
    }


def field_errors(page: str, field: str) -> str:
    start = page.index(f'id="field-{field}"')
    end = page.find('<div class="field', start + 1)
    return page[start : end if end != -1 else len(page)]


def test_the_form_refuses_the_reported_quarter_with_field_errors(alice_client, org):
    # The report: a "quarter" from year 9 to 2112, with a newline in its name.
    response = alice_client.post(
        reverse("period_create"),
        period_form(name="Q3\nof the ages", start="0009-01-01", end="2112-12-31"),
    )

    assert response.status_code == 200
    page = html(response)
    assert "Enter a date from 1970-01-01 to 2200-12-31." in field_errors(page, "start")
    assert not Period.objects.filter(organization=org).exists()


def test_the_form_refuses_a_long_quarter_next_to_the_kind(alice_client, org):
    response = alice_client.post(
        reverse("period_create"), period_form(end="2032-06-30")
    )

    assert "A quarter lasts 12 to 14 weeks; these dates span 366 days" in (
        field_errors(html(response), "kind")
    )
    assert not Period.objects.filter(organization=org).exists()


def test_the_form_refuses_a_name_with_a_line_break(alice_client, org):
    response = alice_client.post(reverse("period_create"), period_form(name="Q3\n2031"))

    assert "Write the name on one line" in field_errors(html(response), "name")
    assert not Period.objects.filter(organization=org).exists()


def test_the_edit_form_refuses_a_kind_that_no_longer_fits(alice_client, period):
    response = alice_client.post(
        reverse("period_edit", args=[period.pk]),
        {
            "name": period.name,
            "kind": "year",
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        },
    )

    assert "A year lasts 52 or 53 weeks" in field_errors(html(response), "kind")
    period.refresh_from_db()
    assert period.kind == Period.Kind.QUARTER


# Reopening


@pytest.fixture
def closed(period, objective, key_results, bob, alice) -> Period:
    metric, threshold, _ = key_results
    actions.record_checkin(key_result=metric, author=bob, value=D(3), status="on_track")
    actions.record_checkin(
        key_result=threshold, author=bob, value=D(96), status="on_track"
    )
    actions.close_period(
        period=period,
        grades=[
            actions.Grade(
                objective=objective,
                score_override=D("0.9"),
                override_reason="The market shrank",
                retrospective="We learned to qualify earlier.",
            )
        ],
        retrospective="A good quarter.",
        author=alice,
    )
    period.refresh_from_db()
    assert period.closed_at is not None
    return period


def test_reopening_clears_when_and_how_the_period_was_closed(
    closed, objective, key_results
):
    actions.set_period_state(period=closed, state=Period.State.ACTIVE)

    closed.refresh_from_db()
    objective.refresh_from_db()
    assert (closed.state, closed.closed_at) == (Period.State.ACTIVE, None)
    assert objective.state == Objective.State.ACTIVE
    assert (objective.score, objective.score_override) == (None, None)
    assert (objective.override_reason, objective.outcome) == ("", "")
    assert list(
        KeyResult.objects.filter(objective=objective).values_list("score", flat=True)
    ) == [None, None, None]
    # The notes people wrote stay, for the next close.
    assert closed.retrospective == "A good quarter."
    assert objective.retrospective == "We learned to qualify earlier."


def test_the_as_of_history_keeps_the_grades_until_the_reopening(
    closed, objective, fixed_clock
):
    graded_at = objective.history.latest().history_date
    fixed_clock.shift(timedelta(hours=1))

    actions.set_period_state(period=closed, state=Period.State.ACTIVE)

    versions = list(objective.history.order_by("history_date", "history_id"))
    assert versions[-1].score is None and versions[-1].state == "active"
    then = objective.history.as_of(graded_at)
    assert (then.score, then.outcome) == (D("0.53"), "achieved")


def test_the_reopened_periods_close_page_offers_the_notes_again(
    alice_client, closed, objective
):
    actions.set_period_state(period=closed, state=Period.State.ACTIVE)

    page = html(alice_client.get(reverse("period_close", args=[closed.pk])))

    assert "A good quarter." in page
    assert "We learned to qualify earlier." in page


def test_reopening_through_the_page_clears_the_close_time(alice_client, closed):
    response = alice_client.post(
        reverse("period_set_state", args=[closed.pk]), {"state": "active"}
    )

    assert response.status_code == 302
    closed.refresh_from_db()
    assert (closed.state, closed.closed_at) == (Period.State.ACTIVE, None)
