"""Importing check-in history (docs/okrs.md, "Importing check-in history"): check-ins
at past times keep the latest one current, are refused in the future and before the
period, are marked as imported, and the web import of a CSV file is all or nothing
with every problem named by its line."""

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from landmark.okrs import actions
from landmark.okrs.models import CheckIn, KeyResult, Period, day_start

D = Decimal
ON_TRACK = KeyResult.Status.ON_TRACK
OFF_TRACK = KeyResult.Status.OFF_TRACK


@pytest.fixture
def metric(key_results: list[KeyResult]) -> KeyResult:
    return key_results[0]  # 0 → 5 customers


@pytest.fixture
def milestone(key_results: list[KeyResult]) -> KeyResult:
    return key_results[2]


def days_in(period: Period, days: int, hours: int = 9) -> Any:
    """A past time: `days` after the period's first midnight (tests run weeks into
    their quarter, so the first 30 days are always past)."""
    return day_start(period.start) + timedelta(days=days, hours=hours)


def text(page: str) -> str:
    """A page's words, without its markup."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


def imported(kr: KeyResult, author: Any, value: str, at: Any, **kw: Any) -> CheckIn:
    return actions.record_checkin(
        key_result=kr,
        author=author,
        status=kw.pop("status", ON_TRACK),
        value=D(value),
        at=at,
        source=CheckIn.Source.IMPORT,
        **kw,
    )


# The action


def test_an_older_check_in_joins_the_history_without_replacing_the_current_value(
    metric, bob, alice, period
):
    actions.record_checkin(
        key_result=metric, author=bob, status=ON_TRACK, value=D("4"), confidence=8
    )

    imported(metric, alice, "1", days_in(period, 3), status=OFF_TRACK, confidence=2)

    metric.refresh_from_db()
    assert metric.current == D("4")
    assert metric.last_status == ON_TRACK
    assert metric.last_confidence == 8
    assert metric.progress() == pytest.approx(0.8)
    assert metric.checkins_count == 2
    values = list(metric.checkins.values_list("value", "source"))
    assert values == [(D("4"), "person"), (D("1"), "import")]  # newest first


def test_the_latest_check_in_by_time_is_current_whatever_order_they_arrive_in(
    metric, alice, period
):
    imported(metric, alice, "3", days_in(period, 20), status=OFF_TRACK)
    imported(metric, alice, "1", days_in(period, 5))
    imported(metric, alice, "2", days_in(period, 10))

    metric.refresh_from_db()
    assert metric.current == D("3")
    assert metric.last_status == OFF_TRACK
    assert metric.last_checkin_at == days_in(period, 20)
    assert metric.checkins_count == 3


def test_a_newer_imported_check_in_becomes_current(metric, bob, alice, period):
    actions.record_checkin(
        key_result=metric,
        author=bob,
        status=ON_TRACK,
        value=D("1"),
        at=days_in(period, 2),
    )

    imported(metric, alice, "3", timezone.now() - timedelta(hours=1))

    metric.refresh_from_db()
    assert metric.current == D("3")


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (lambda p: timezone.now() + timedelta(minutes=6), "in the future"),
        (lambda p: day_start(p.start) - timedelta(seconds=1), "before"),
    ],
)
def test_it_refuses_an_imported_check_in_in_the_future_or_before_the_period(
    metric, alice, period, when, message
):
    with pytest.raises(ValidationError) as excinfo:
        imported(metric, alice, "2", when(period))

    assert message in excinfo.value.message_dict["checked_in_at"][0]
    metric.refresh_from_db()
    assert metric.checkins_count == 0
    assert not metric.checkins.exists()


def test_a_clock_a_little_ahead_is_not_the_future(metric, alice):
    imported(metric, alice, "2", timezone.now() + timedelta(minutes=4))

    metric.refresh_from_db()
    assert metric.current == D("2")


def test_the_import_saves_every_row_or_none(metric, milestone, alice, period):
    good = actions.CheckInRow(
        line=2,
        key_result=metric,
        at=days_in(period, 1),
        value=D("1"),
        done=None,
        status=ON_TRACK,
        confidence=None,
        note="",
    )
    bad = actions.CheckInRow(
        line=3,
        key_result=milestone,
        at=days_in(period, 2),
        value=None,
        done=None,  # a milestone must say whether it is done
        status=ON_TRACK,
        confidence=None,
        note="",
    )

    with pytest.raises(ValidationError) as excinfo:
        actions.import_checkins(rows=[good, bad], author=alice)

    assert excinfo.value.messages == ["Line 3: Say whether the milestone is done."]
    assert not CheckIn.objects.exists()
    metric.refresh_from_db()
    assert (metric.current, metric.checkins_count) == (None, 0)


# The web import


def upload(client: Any, period: Period, text: str) -> Any:
    return client.post(
        reverse("period_import_checkins", args=[period.pk]),
        {"file": SimpleUploadedFile("history.csv", text.encode(), "text/csv")},
    )


def test_an_admin_imports_a_file_of_check_in_history(
    alice_client, alice, bob, metric, milestone, period
):
    actions.record_checkin(
        key_result=metric, author=bob, status=ON_TRACK, value=D("4"), confidence=9
    )
    d1, d2, d3 = (days_in(period, n).date().isoformat() for n in (1, 8, 15))
    text = (
        "Key Result,Time,Value,Status,Confidence,Note\n"
        f"{metric.pk},{d1},1,off track,3,Slow start\n"
        f'"{metric.title}",{d2}T10:30,2.5,Needs attention,,"Two deals, one half"\n'
        f"{milestone.title},{d3},done,,,\n"
    )

    response = upload(alice_client, period, text)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('tree')}?period={period.pk}"
    rows = list(
        CheckIn.objects.filter(source=CheckIn.Source.IMPORT)
        .order_by("created_at")
        .values_list("key_result_id", "value", "done", "status", "confidence", "moved")
    )
    assert rows == [
        (metric.pk, D("1"), None, OFF_TRACK, 3, "Slow start"),
        (metric.pk, D("2.5"), None, "needs_attention", None, "Two deals, one half"),
        (milestone.pk, None, True, "", None, ""),
    ]
    assert all(c.author_id == alice.pk for c in CheckIn.objects.filter(source="import"))
    metric.refresh_from_db()
    milestone.refresh_from_db()
    assert metric.current == D("4")  # Bob's check-in today is still the latest
    assert metric.last_confidence == 9
    assert milestone.done is True
    assert milestone.last_checkin_at == days_in(period, 15, hours=0)


def test_a_file_with_any_problem_imports_nothing_and_names_every_line(
    alice_client, metric, milestone, period
):
    ok_day = days_in(period, 1).date().isoformat()
    before = (period.start - timedelta(days=1)).isoformat()
    future = (timezone.localdate() + timedelta(days=2)).isoformat()
    text = (
        "key_result,time,value,confidence\n"
        f"{metric.pk},{ok_day},1,\n"
        f"{metric.pk},{before},1,\n"
        f"{metric.pk},{future},1,\n"
        f"No such key result,{ok_day},1,\n"
        f"{metric.pk},{ok_day}T12:00,1,5\n"
        f"{milestone.pk},{ok_day},maybe,\n"
        f'{metric.pk},{ok_day}T13:00,"1,5",\n'
        f"{metric.pk},{ok_day}T14:00,2,11\n"
        f"{metric.pk},{ok_day},3,\n"
    )

    response = upload(alice_client, period, text)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was imported." in page
    for expected in [
        f"Line 3: &#x27;{before}&#x27;: this time is before {period.name} starts",
        f"Line 4: &#x27;{future}&#x27;: this time is in the future",
        "Line 5: &#x27;No such key result&#x27;: no key result in",
        "Line 7: &#x27;maybe&#x27; does not say whether the milestone is done",
        "Line 8: &#x27;1,5&#x27; has a decimal comma",
        "Line 9: &#x27;11&#x27; is not a confidence",
        "Line 10: the same key result and time as line 2",
    ]:
        assert expected in page
    assert "Line 2:" not in page and "Line 6:" not in page
    assert not CheckIn.objects.exists()


def test_a_title_two_key_results_share_must_be_named_by_id(
    alice_client, objective, metric, period
):
    twin = actions.create_key_result(
        objective=objective, title=metric.title, start=D(0), target=D(1)
    )
    day = days_in(period, 1).date().isoformat()

    response = upload(
        alice_client, period, f"key_result,time,value\n{metric.title},{day},1\n"
    )

    assert (
        f"2 key results of {period.name} are titled &#x27;{metric.title}&#x27; "
        f"(ids {metric.pk}, {twin.pk}); name it by its id"
    ) in response.content.decode()
    assert not CheckIn.objects.exists()


def test_a_header_without_the_needed_columns_is_refused(alice_client, period):
    response = upload(alice_client, period, "kr,when,value\n1,2026-01-01,2\n")

    page = response.content.decode()
    assert "Line 1: unknown column &#x27;kr&#x27;, &#x27;when&#x27;" in page
    assert not CheckIn.objects.exists()


def test_only_the_periods_own_key_results_take_its_history(
    alice_client, alice, org, metric, period
):
    later = actions.create_period(
        org=org,
        name="Later",
        start=period.end + timedelta(days=1),
        end=period.end + timedelta(days=91),
    )
    day = days_in(period, 1).date().isoformat()

    response = upload(
        alice_client, later, f"key_result,time,value\n{metric.pk},{day},1\n"
    )

    assert f"Line 2: &#x27;{metric.pk}&#x27;: no key result with this id in Later" in (
        response.content.decode()
    )
    assert not CheckIn.objects.exists()


def test_a_closed_period_takes_no_history(alice_client, alice, metric, period):
    actions.close_period(period=period, grades=[], author=alice)
    day = days_in(period, 1).date().isoformat()

    response = upload(
        alice_client, period, f"key_result,time,value\n{metric.pk},{day},1\n"
    )

    assert "is closed; reopen it to import check-ins." in response.content.decode()
    assert not CheckIn.objects.exists()


def test_members_and_viewers_may_not_import_history(
    bob_client, viewer_client, metric, period
):
    day = days_in(period, 1).date().isoformat()
    text = f"key_result,time,value\n{metric.pk},{day},1\n"

    assert upload(bob_client, period, text).status_code == 403
    assert upload(viewer_client, period, text).status_code == 403
    assert (
        bob_client.get(reverse("period_import_checkins", args=[period.pk])).status_code
        == 403
    )
    assert not CheckIn.objects.exists()


def test_another_organizations_period_is_not_found(charlie_client, metric, period):
    day = days_in(period, 1).date().isoformat()

    response = upload(
        charlie_client, period, f"key_result,time,value\n{metric.pk},{day},1\n"
    )

    assert response.status_code == 404
    assert not CheckIn.objects.exists()


def test_the_page_explains_the_columns_and_the_periods_page_links_it(
    alice_client, bob_client, period
):
    page = alice_client.get(
        reverse("period_import_checkins", args=[period.pk])
    ).content.decode()
    assert f"Import check-in history into {period.name}" in page
    assert "key_result,time,value" in page
    link = reverse("period_import_checkins", args=[period.pk])
    assert link in alice_client.get(reverse("periods")).content.decode()
    assert link not in bob_client.get(reverse("periods")).content.decode()


# Imported history says so


def test_the_objective_page_and_the_activity_log_say_a_check_in_was_imported(
    alice_client, alice, bob, metric, objective, period
):
    imported(metric, alice, "2", days_in(period, 4))
    actions.record_checkin(key_result=metric, author=bob, status=ON_TRACK, value=D(3))

    page = alice_client.get(reverse("objective", args=[objective.pk])).content.decode()
    assert (
        page.count('title="Imported from history by Alice Adams">Imported</span>') == 1
    )

    log = text(alice_client.get(reverse("organization_log")).content.decode())
    assert f"Alice Adams imported a check-in that moved {metric.title} from" in log
    assert f"Bob Brown moved {metric.title} from" in log


def test_the_import_saves_in_bulk_not_row_by_row(metric, key_results, alice, period):
    threshold = key_results[1]

    def rows(count: int, offset: int) -> list[actions.CheckInRow]:
        return [
            actions.CheckInRow(
                line=n + 2,
                key_result=metric if n % 2 else threshold,
                at=days_in(period, 1) + timedelta(minutes=count * offset + n),
                value=D(n % 100),
                done=None,
                status=ON_TRACK,
                confidence=None,
                note="",
            )
            for n in range(count)
        ]

    counts = []
    for count, offset in ((10, 0), (300, 1)):
        with CaptureQueriesContext(connection) as queries:
            actions.import_checkins(rows=rows(count, offset), author=alice)
        counts.append(len(queries.captured_queries))

    # Inserts in batches (SQLite: as many rows as its 999 parameters hold), two
    # updates per key result: never a statement per row.
    assert counts[0] <= 8
    assert counts[1] <= 20
    assert CheckIn.objects.count() == 310
    assert CheckIn.history.filter(history_user=alice).count() == 310
    metric.refresh_from_db()
    threshold.refresh_from_db()
    assert metric.checkins_count == 155
    assert threshold.checkins_held == sum(
        1 for n in (*range(0, 10, 2), *range(0, 300, 2)) if n % 100 >= 95
    )
    assert metric.current == D(299 % 100)  # the latest row's value
