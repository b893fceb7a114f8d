"""New OKRs are not born red: a key result is expected to move from when it began to
be tracked (the later of its period's start and its start date or, without one, the
moment it was added), and its objective's expected progress is the same weighted
mean as its progress.

The quarter here is 13 weeks around today, 8 of them gone: a key result added now
is added in week 9, the report's example.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from landmark.okrs import actions, scoring
from landmark.okrs.models import KeyResult, Objective, Period
from landmark.okrs.tree import evaluate, expected_line

D = Decimal
PACE = scoring.Pace


@pytest.fixture
def week9(org) -> Period:
    today = timezone.localdate()
    return actions.create_period(
        org=org,
        name="The quarter",
        start=today - timedelta(weeks=8),
        end=today - timedelta(weeks=8) + timedelta(days=90),
        state=Period.State.ACTIVE,
    )


@pytest.fixture
def awareness(org, week9, bob) -> Objective:
    return actions.create_objective(
        org=org,
        period=week9,
        owner=bob,
        title="Increase Brand Awareness in the Midwest",
        level=Objective.Level.COMPANY,
    )


def add_kr(objective: Objective, title: str, **fields) -> KeyResult:
    return actions.create_key_result(
        objective=objective,
        title=title,
        start=fields.pop("start", D(0)),
        target=fields.pop("target", D(3)),
        **fields,
    )


def html(response) -> str:
    return response.content.decode()


# The key result


def test_a_key_result_added_in_week_9_is_on_track_on_its_first_day(
    awareness, week9, org, bob
):
    kr = add_kr(awareness, "Be featured in three midwest media outlets")
    actions.record_checkin(key_result=kr, author=bob, value=D(0), status="on_track")

    assert kr.time_share(week9) == pytest.approx(0, abs=1e-4)
    assert kr.expected_value(week9) == pytest.approx(D(0), abs=D("0.001"))
    assert kr.pace(week9, org) == PACE.ON_TRACK
    # Measured from the period's start it would be 8 weeks of 13 behind.
    assert scoring.pace(0.0, 8 / 13) == PACE.OFF_TRACK


def test_its_expected_progress_runs_from_then_to_the_end(
    awareness, week9, org, bob, fixed_clock
):
    kr = add_kr(awareness, "Be featured in three midwest media outlets")
    left = week9.ends_at - kr.created_at

    fixed_clock.shift(left / 2)

    assert kr.time_share(week9) == pytest.approx(0.5, abs=1e-3)
    assert kr.expected_value(week9) == pytest.approx(D("1.5"), abs=D("0.01"))


def test_a_start_date_says_when_measuring_began(awareness, week9, org, bob):
    kr = add_kr(
        awareness, "Sign 5 tier one accounts", target=D(5), start_date=week9.start
    )
    # Tracked for 8 weeks without a check-in: stale.
    assert kr.pace(week9, org) == PACE.STALE
    actions.record_checkin(key_result=kr, author=bob, value=D(0), status="on_track")

    assert kr.tracked_from(week9) == week9.starts_at
    assert kr.time_share(week9) == pytest.approx(week9.time_share(), abs=1e-4)
    assert kr.pace(week9, org) == PACE.OFF_TRACK  # 0 of 5, 8 weeks of 13 gone


def test_a_key_result_drafted_before_its_period_starts_runs_from_the_start(
    org, awareness, week9, bob, fixed_clock
):
    planned = actions.create_period(
        org=org,
        name="Next quarter",
        start=week9.end + timedelta(days=1),
        end=week9.end + timedelta(days=91),
    )
    objective = actions.create_objective(
        org=org, period=planned, owner=bob, title="Plan ahead", level="company"
    )
    kr = add_kr(objective, "Launch virtual midwest road show tour in three cities")

    assert kr.tracked_from(planned) == planned.starts_at


def test_silence_is_counted_from_when_it_began_too(awareness, week9, org, fixed_clock):
    kr = add_kr(awareness, "Be featured in three midwest media outlets")
    fixed_clock.shift(timedelta(days=org.checkin_cadence_days + 1))
    assert not kr.is_stale(week9, org)

    fixed_clock.shift(timedelta(days=org.checkin_grace_days))
    assert kr.is_stale(week9, org)


# The objective


def test_the_objectives_expected_progress_is_the_weighted_mean_of_its_krs(
    awareness, week9, org, bob
):
    old = add_kr(awareness, "Sign 5 tier one accounts", start_date=week9.start)
    new = add_kr(awareness, "Be featured", weight=D(3))

    view = evaluate([awareness], org)[awareness.pk]

    taus = {k.kr.pk: k.tau for k in view.key_results}
    assert taus[new.pk] == pytest.approx(0, abs=1e-4)
    assert view.expected == pytest.approx((taus[old.pk] * 1 + 0 * 3) / 4, abs=1e-4)
    assert view.tau == pytest.approx(week9.time_share(), abs=1e-4)


@given(
    items=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1),
            st.integers(min_value=0, max_value=5),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_an_objectives_expected_progress_lies_between_its_krs(items):
    expected = scoring.objective_expected(items)

    assert expected is not None
    assert (
        min(t for t, _ in items) - 1e-9 <= expected <= max(t for t, _ in items) + 1e-9
    )


def test_an_objective_compares_like_with_like(awareness, week9, org, bob):
    # Two key results, one tracked from the start and one added now, both moving
    # exactly as expected: the objective is on track and its progress equals its
    # expected progress.
    old = add_kr(
        awareness, "Sign 5 tier one accounts", target=D(100), start_date=week9.start
    )
    at = round(old.time_share(week9) * 100, 2)
    actions.record_checkin(key_result=old, author=bob, value=D(at), status="on_track")
    new = add_kr(awareness, "Be featured")
    actions.record_checkin(key_result=new, author=bob, value=D(0), status="on_track")

    view = evaluate([awareness], org)[awareness.pk]

    assert view.progress == pytest.approx(view.expected, abs=1e-3)
    assert view.pace == PACE.ON_TRACK


def test_the_chart_bends_where_a_key_result_starts(awareness, week9, org):
    add_kr(awareness, "Sign 5 tier one accounts", start_date=week9.start)
    new = add_kr(awareness, "Be featured")

    line = expected_line(evaluate([awareness], org)[awareness.pk])

    assert [t for t, _ in line] == [
        week9.starts_at,
        new.created_at,
        week9.ends_at,
    ]
    values = [v for _, v in line]
    assert values[0] == 0 and values[-1] == pytest.approx(1)
    # At the new key result's start only the old one is expected to have moved.
    assert values[1] == pytest.approx(
        (new.created_at - week9.starts_at) / (week9.ends_at - week9.starts_at) / 2,
        abs=1e-4,
    )


# The page says so


def test_the_objective_page_says_when_a_key_result_is_measured_from(
    bob_client, awareness, week9, bob
):
    old = add_kr(awareness, "Sign 5 tier one accounts", start_date=week9.start)
    new = add_kr(awareness, "Be featured in three midwest media outlets")

    page = html(bob_client.get(reverse("objective", args=[awareness.pk])))

    new_row = page[page.index(f'id="kr-{new.pk}"') :]
    new_row = new_row[: new_row.index("</li>")]
    old_row = page[page.index(f'id="kr-{old.pk}"') :]
    old_row = old_row[: old_row.index("</li>")]
    today = timezone.localdate()
    assert f"Measured from</span>{today:%b} {today.day}</div>" in new_row
    assert "Measured from" not in old_row
    view = evaluate([awareness], awareness.organization)[awareness.pk]
    shown = re.search(
        r'id="objective-expected">Expected by now: (\d+)% · (\d+)% of the period '
        r"elapsed",
        page,
    )
    assert shown is not None
    # Half the period's share: one key result runs with the period, one from now.
    assert abs(int(shown[1]) - round(view.tau * 50)) <= 1
    assert abs(int(shown[2]) - round(view.tau * 100)) <= 1
    assert "after the period's start for 1 of them" in page
    assert 'class="status off_track"' not in new_row


def test_the_tree_does_not_paint_a_new_objective_red(
    bob_client, org, awareness, week9, bob
):
    kr = add_kr(awareness, "Be featured in three midwest media outlets")
    actions.record_checkin(key_result=kr, author=bob, value=D(0), status="on_track")

    response = bob_client.get(reverse("tree"), {"period": week9.pk})

    node = html(response)
    node = node[node.index(f'data-objective="{awareness.pk}"') :]
    node = node[: node.index("</summary>")]
    assert 'class="status on_track"' in node


# Setting the start date


def kr_form(**changes: str) -> dict[str, str]:
    return {
        "title": "Be featured in three midwest media outlets",
        "kind": "metric",
        "start": "0",
        "target": "3",
        "weight": "1",
        **changes,
    }


def test_the_form_takes_a_start_date_within_the_period(bob_client, awareness, week9):
    day = week9.start + timedelta(days=14)
    response = bob_client.post(
        reverse("key_result_create", args=[awareness.pk]),
        kr_form(start_date=day.isoformat()),
    )

    assert response.status_code == 302
    assert awareness.key_results.get().start_date == day


def test_the_form_refuses_a_start_date_outside_the_period(bob_client, awareness, week9):
    response = bob_client.post(
        reverse("key_result_create", args=[awareness.pk]),
        kr_form(start_date=(week9.start - timedelta(days=1)).isoformat()),
    )

    assert response.status_code == 200
    assert "Choose a day within The quarter" in html(response)
    assert not awareness.key_results.exists()


def test_the_api_takes_and_shows_the_start_date(bob, awareness, week9):
    from landmark.api.tests.conftest import api_client

    api = api_client(bob)
    day = week9.start + timedelta(days=7)

    made = api.send(
        "POST",
        f"/api/v1/objectives/{awareness.pk}/key-results",
        {"title": "Be featured", "start": "0", "target": "3", "start_date": str(day)},
    )
    outside = api.send(
        "POST",
        f"/api/v1/objectives/{awareness.pk}/key-results",
        {
            "title": "Be featured",
            "start": "0",
            "target": "3",
            "start_date": "2199-01-01",
        },
    )

    assert made.status_code == 201, made.content
    assert made.json()["start_date"] == str(day)
    assert outside.status_code == 422
    assert [e["field"] for e in outside.json()["errors"]] == ["start_date"]


def test_the_progress_line_starts_when_tracking_began(bob_client, awareness, week9):
    add_kr(awareness, "Be featured in three midwest media outlets")

    page = html(bob_client.get(reverse("objective", args=[awareness.pk])))

    today = timezone.now()  # (the chart labels times as stored)
    first = re.search(r'<circle class="dot"[^>]*><title>([^<]*)</title>', page)
    assert first is not None
    assert first[1] == f"{today:%b %d}: 0%"
