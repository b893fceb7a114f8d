"""KPI history with past times (docs/kpis.md, "Importing history"): an admin sends a
year of values through the batch endpoint or the web's CSV import; every window is
computed, the KPI's current value and health are its latest window's (stale when the
history ends long ago), an older value never replaces a newer one, and a key result
tracking the KPI takes its latest value once, never one check-in per old value."""

import json
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI, DataPoint, KPIWindow
from landmark.okrs import actions as okr_actions
from landmark.okrs.actions import TRACKED_KPI_NOTE
from landmark.okrs.models import CheckIn, KeyResult

URL = "/api/v1/kpis/points/batch"
D = Decimal


@pytest.fixture
def churn(org, alice) -> KPI:
    return kpi_actions.create_kpi(
        org=org,
        name="Churned accounts",
        key="churn",
        owner=alice,
        frequency=KPI.Frequency.MONTHLY,
        aggregation=KPI.Aggregation.LAST,
        target_kind=KPI.TargetKind.AT_MOST,
        target_high=D(10),
    )


def month_starts(back: int) -> list[datetime]:
    """The first days (09:00) of the `back` months before this one, oldest first."""
    today = timezone.localdate()
    firsts = []
    year, month = today.year, today.month
    for _ in range(back):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        firsts.append(today.replace(year=year, month=month, day=1))
    tz = timezone.get_current_timezone()
    return [datetime.combine(d, time(9), tzinfo=tz) for d in reversed(firsts)]


def send(client: Any, rows: list[tuple[datetime, str]], kpi: KPI) -> Any:
    body = {
        "points": [
            {"kpi": kpi.pk, "time": when.isoformat(), "value": value}
            for when, value in rows
        ]
    }
    return client.generic("POST", URL, json.dumps(body), "application/json")


def test_an_admin_sends_a_year_of_history_and_every_window_is_computed(
    alice_api, churn
):
    months = month_starts(12)
    # Sent newest first: the order in a batch does not matter.
    rows = [(when, str(20 - n)) for n, when in enumerate(months)][::-1]

    response = send(alice_api, rows, churn)

    assert response.status_code == 201, response.content
    assert response.json() == {
        "points": 12,
        "created": 12,
        "corrected": 0,
        "unchanged": 0,
    }
    windows = list(KPIWindow.objects.filter(kpi=churn).order_by("start"))
    assert [(w.start, w.value) for w in windows] == [
        (when.date(), D(20 - n)) for n, when in enumerate(months)
    ]
    churn.refresh_from_db()
    assert churn.current_value == D(9)  # last month's
    assert churn.current_start == months[-1].date()
    assert churn.current_health == "healthy"
    assert set(DataPoint.objects.values_list("author_id", flat=True)) == {
        churn.owner_id
    }


def test_history_that_ends_long_ago_reads_as_stale(alice_api, churn):
    old = month_starts(6)[:2]  # five and six months ago

    assert send(alice_api, [(old[0], "12"), (old[1], "8")], churn).status_code == 201

    kpi = KPI.objects.with_health().get(pk=churn.pk)
    assert kpi.current_value == D(8)
    assert kpi.health == "stale"  # type: ignore[attr-defined]  # annotated


def test_an_older_value_never_replaces_the_newer_one_in_its_window(
    alice_api, alice, churn
):
    now = timezone.now()
    kpi_actions.record_data_point(kpi=churn, value=D(7), time=now, author=alice)
    earlier_same_window = max(
        now - timedelta(hours=2),
        datetime.combine(
            timezone.localdate().replace(day=1), time.min, tzinfo=now.tzinfo
        ),
    )

    response = send(alice_api, [(earlier_same_window, "40")], churn)

    assert response.status_code == 201
    churn.refresh_from_db()
    assert churn.current_value == D(7)
    assert KPIWindow.objects.get(kpi=churn, start=churn.current_start).value == D(7)


def test_the_web_csv_import_takes_past_times_too(alice_client, churn):
    months = month_starts(3)
    text = "time,value\n" + "".join(
        f"{when.date().isoformat()},{n + 11}\n" for n, when in enumerate(months)
    )
    url = reverse("kpi_import", args=[churn.pk])

    response = alice_client.post(url, {"content": text, "confirm": "1"})

    assert response.status_code == 302, response.content.decode()[:500]
    assert [
        (w.start, w.value)
        for w in KPIWindow.objects.filter(kpi=churn).order_by("start")
    ] == [(when.date(), D(n + 11)) for n, when in enumerate(months)]
    churn.refresh_from_db()
    assert churn.current_value == D(13)
    assert churn.current_health == "unhealthy"


@pytest.fixture
def tracking(objective, churn, alice) -> KeyResult:
    """A key result tracking the KPI, whose value it starts at (this month: 10)."""
    kpi_actions.record_data_point(
        kpi=churn, value=D(10), time=timezone.now() - timedelta(minutes=1), author=alice
    )
    return okr_actions.create_key_result(
        objective=objective,
        title="Bring churn down to 5",
        start=D(10),
        target=D(5),
        kpi=churn,
    )


def kpi_checkins(kr: KeyResult) -> list[tuple[Decimal | None, str]]:
    return list(
        CheckIn.objects.filter(key_result=kr)
        .order_by("created_at", "pk")
        .values_list("value", "source")
    )


def test_older_history_leaves_a_tracking_key_result_as_it_was(
    alice_api, tracking, churn
):
    assert kpi_checkins(tracking) == [(D(10), "kpi")]

    response = send(alice_api, [(when, "30") for when in month_starts(4)], churn)

    assert response.status_code == 201
    tracking.refresh_from_db()
    assert tracking.current == D(10)
    assert kpi_checkins(tracking) == [(D(10), "kpi")]


def test_a_tracking_key_result_takes_the_histories_latest_value_once(
    alice_api, objective, churn
):
    kr = okr_actions.create_key_result(
        objective=objective, title="Keep churn low", start=D(20), target=D(5), kpi=churn
    )
    assert kpi_checkins(kr) == []  # the KPI had no value yet

    months = month_starts(3)
    response = send(alice_api, [(m, str(15 - n)) for n, m in enumerate(months)], churn)

    assert response.status_code == 201
    kr.refresh_from_db()
    assert kr.current == D(13)
    assert kpi_checkins(kr) == [(D(13), "kpi")]
    assert kr.checkins.get().moved == TRACKED_KPI_NOTE
