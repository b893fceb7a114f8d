"""The objective page tells the truth right after an in-place check-in: the htmx
response swaps in, out of band, the objective's headline numbers, status and chart,
its check-in history and activity, and the menu's My focus count.

The objective is seed article 000's: "Increase Brand Awareness in the Midwest".
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from landmark.okrs import actions
from landmark.okrs.models import KeyResult, Objective, Period, week_start

D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}


def html(response) -> str:
    return response.content.decode()


def element(page: str, id_: str) -> str:
    """The markup of the element with this id, up to its closing tag."""
    match = re.search(rf'<(\w+)[^>]* id="{id_}"[^>]*>', page)
    assert match is not None, f"no #{id_}"
    tag = match[1]
    depth, at = 0, match.start()
    for m in re.finditer(rf"<(/?){tag}\b[^>]*>", page[at:]):
        depth += -1 if m[1] else 1
        if depth == 0:
            return page[at : at + m.end()]
    raise AssertionError(f"#{id_} is not closed")


@pytest.fixture
def midwest(org, period, bob, sales) -> Objective:
    return actions.create_objective(
        org=org,
        period=period,
        owner=bob,
        title="Increase Brand Awareness in the Midwest",
        team=sales,
    )


@pytest.fixture
def krs(midwest, period) -> list[KeyResult]:
    """Three key results of bob's, tracked since the period began."""
    return [
        actions.create_key_result(
            objective=midwest,
            title=title,
            start=D(0),
            target=D(target),
            start_date=period.start,
        )
        for title, target in [
            ("Sign 5 tier one accounts out of the top 20", 5),
            ("Launch virtual midwest road show tour in three cities", 3),
            ("Be featured in three midwest media outlets", 3),
        ]
    ]


def check_in(client, kr: KeyResult, value: str, **extra: str):
    return client.post(
        reverse("key_result_checkin", args=[kr.pk]),
        {"value": value, "status": "on_track", "confidence": "7", **extra},
        **HTMX,
    )


def test_the_response_swaps_in_the_objectives_numbers(bob_client, midwest, krs):
    page = html(bob_client.get(reverse("objective", args=[midwest.pk])))
    assert '<strong id="objective-progress">0%</strong>' in page

    response = check_in(bob_client, krs[0], "4", moved="Signed two more")

    assert response.status_code == 200
    body = html(response)
    assert body.lstrip().startswith(f'<li class="kr-row" id="kr-{krs[0].pk}">')
    summary = element(body, "objective-summary")
    assert 'hx-swap-oob="true"' in summary
    # (0.8 + 0 + 0) / 3
    assert '<strong id="objective-progress">27%</strong>' in summary
    assert 'aria-valuenow="27"' in summary
    # The chart has the new point: two dots, the start and the check-in.
    chart = element(body, "objective-chart")
    assert 'hx-swap-oob="true"' in chart
    assert chart.count('<circle class="dot"') == 2
    assert ": 27%</title>" in chart


def test_the_status_in_the_response_is_the_new_one(bob_client, midwest, krs):
    for kr in krs[1:]:
        actions.record_checkin(
            key_result=kr, author=midwest.owner, value=D(3), status="on_track"
        )

    body = html(check_in(bob_client, krs[0], "5"))

    # Every key result reached: on track, whatever the day.
    status = element(body, "objective-status")
    assert 'class="status on_track"' in status and ">On track<" in status
    assert '<strong id="objective-progress">100%</strong>' in body


def test_the_response_swaps_in_the_history_and_activity(bob_client, midwest, krs):
    body = html(check_in(bob_client, krs[0], "4", moved="Signed two more"))

    history = element(body, "checkins")
    assert 'hx-swap-oob="true"' in history
    assert "Signed two more" in history and "Bob Brown" in history
    activity = element(body, "activity")
    assert 'hx-swap-oob="true"' in activity
    assert (
        f'<strong>Bob Brown</strong> moved <em><a href="/objectives/{midwest.pk}/#kr-{krs[0].pk}">{krs[0].title}</a></em> from'
        in activity
    )
    assert "“Signed two more”" in activity


def test_the_response_swaps_in_the_focus_count(bob_client, midwest, krs):
    page = html(bob_client.get(reverse("objective", args=[midwest.pk])))
    assert element(page, "focus-count").endswith(">3</span>")

    body = html(check_in(bob_client, krs[0], "4"))

    count = element(body, "focus-count")
    assert 'hx-swap-oob="true"' in count
    assert count.endswith(">2</span>")
    for kr in krs[1:]:
        body = html(check_in(bob_client, kr, "1"))
    count = element(body, "focus-count")
    assert " hidden" in count and count.endswith(">0</span>")


def test_the_swapped_numbers_are_what_the_page_then_shows(bob_client, midwest, krs):
    body = html(check_in(bob_client, krs[1], "2"))

    page = html(bob_client.get(reverse("objective", args=[midwest.pk])))

    for id_ in ("objective-progress", "objective-status", "objective-expected"):
        assert element(body, id_) == element(page, id_)
    assert element(body, "checkins").replace(' hx-swap-oob="true"', "") == element(
        page, "checkins"
    )
    assert element(body, "focus-count").replace(' hx-swap-oob="true"', "") == element(
        page, "focus-count"
    )


def test_a_refused_check_in_changes_nothing_else(bob_client, midwest, krs):
    body = html(check_in(bob_client, krs[0], ""))

    assert "This field is required" in body
    assert "hx-swap-oob" not in body
    assert not krs[0].checkins.exists()


def test_a_plain_post_still_goes_back_to_the_page(bob_client, midwest, krs):
    response = bob_client.post(
        reverse("key_result_checkin", args=[krs[0].pk]),
        {"value": "4", "status": "on_track"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("objective", args=[midwest.pk])


def test_a_viewer_cannot_check_in(viewer_client, midwest, krs):
    response = check_in(viewer_client, krs[0], "4")

    assert response.status_code == 403
    assert not krs[0].checkins.exists()


def test_another_organization_gets_a_404(charlie_client, midwest, krs):
    response = check_in(charlie_client, krs[0], "4")

    assert response.status_code == 404
    assert not krs[0].checkins.exists()


def test_the_check_in_refuses_get(bob_client, krs):
    response = bob_client.get(reverse("key_result_checkin", args=[krs[0].pk]))

    assert response.status_code == 405


# The count and My focus agree


@pytest.mark.parametrize(
    "cadence,grace,first_day,zone",
    [
        (7, 3, 0, "UTC"),
        (1, 0, 6, "Pacific/Auckland"),
        (2, 1, 3, "America/Los_Angeles"),
    ],
)
def test_the_menus_count_is_my_focus_list(
    bob_client, org, midwest, period, bob, fixed_clock, cadence, grace, first_day, zone
):
    org.checkin_cadence_days, org.checkin_grace_days = cadence, grace
    org.week_start, org.time_zone = first_day, zone
    org.save(
        update_fields=[
            "checkin_cadence_days",
            "checkin_grace_days",
            "week_start",
            "time_zone",
        ]
    )
    now = timezone.now()
    monday = week_start(now, org)
    planned = actions.create_period(
        org=org,
        name="Later",
        start=period.end + timedelta(days=1),
        end=period.end + timedelta(days=91),
        state=Period.State.ACTIVE,  # active, not started yet
    )
    later = actions.create_objective(
        org=org, period=planned, owner=bob, title="Plan the next roadshow"
    )
    moments = [
        None,
        monday - timedelta(minutes=1),
        monday + timedelta(minutes=1),
        now - timedelta(days=1, minutes=1),
        now - timedelta(hours=2),
        now - timedelta(days=3, minutes=1),
    ]
    for objective in (midwest, later):
        for n, at in enumerate(moments):
            kr = actions.create_key_result(
                objective=objective,
                title=f"KR {n}",
                start=D(0),
                target=D(10),
                start_date=objective.period.start,
            )
            if at is not None and at <= now:
                actions.record_checkin(
                    key_result=kr, author=bob, value=D(1), status="on_track", at=at
                )

    page = html(bob_client.get(reverse("focus")))
    heading = re.search(r'<span class="count">(\d+)</span>', page)
    assert heading is not None
    shown = int(heading[1])
    counted = html(bob_client.get(reverse("tree")))

    assert element(page, "focus-count").endswith(f">{shown}</span>")
    assert element(counted, "focus-count").endswith(f">{shown}</span>"), (
        "the menu (SQL) and My focus (Python) disagree"
    )
    python = sum(
        kr.awaits_checkin(kr.objective.period, org)
        for kr in KeyResult.objects.filter(owner=bob).select_related(
            "objective__period"
        )
    )
    assert shown == python
