"""Each item of a list is exactly what the object's own endpoint answers."""

from datetime import UTC, timedelta
from decimal import Decimal

from django.utils import timezone

from landmark.api.schemas import plain_decimal
from landmark.kpis import actions as kpi_actions
from landmark.kpis.models import KPI, KPIWindow


def test_each_listed_kpi_is_what_the_kpi_answers_alone(alice_api, org, bob, sales):
    plain = kpi_actions.create_kpi(org=org, name="Plain")
    full = kpi_actions.create_kpi(
        org=org,
        name="Full",
        key="full",
        definition="Every field set",
        owner=bob,
        team=sales,
        unit="EUR",
        category="Sales",
        indicator=KPI.Indicator.LEAD,
        frequency=KPI.Frequency.DAILY,
        aggregation=KPI.Aggregation.SUM,
        target_kind=KPI.TargetKind.BETWEEN,
        target_low=Decimal("10.25"),
        target_high=Decimal("1000"),
        tolerance=Decimal("0.05"),
        is_key=True,
        visibility=KPI.Visibility.PRIVATE,
    )
    for hours, value in ((50, "3.5"), (2, "12.5"), (1, "0.0001")):
        kpi_actions.record_data_point(
            kpi=full,
            value=Decimal(value),
            time=timezone.now() - timedelta(hours=hours),
        )
    latest = KPIWindow.objects.filter(kpi=full).order_by("-start").first()
    assert latest is not None

    listed = alice_api.get("/api/v1/kpis?limit=200").json()

    assert [item["name"] for item in listed["items"]] == ["Full", "Plain"]
    assert listed["next_cursor"] is None
    for item in listed["items"]:
        alone = alice_api.get(f"/api/v1/kpis/{item['id']}")
        assert alone.status_code == 200
        assert item == alone.json()
    by_name = {item["name"]: item for item in listed["items"]}
    # The latest window's value: 12.5001, or 0.0001 just after midnight.
    assert by_name["Full"]["current_value"] == plain_decimal(latest.value)
    assert by_name["Full"]["current_value"] in {"12.5001", "0.0001"}
    assert by_name["Full"]["target_low"] == "10.25"
    assert by_name["Full"]["tolerance"] == "0.05"
    assert by_name["Plain"]["current_value"] is None
    assert by_name["Plain"]["id"] == plain.pk


def test_kpi_pages_follow_each_other_without_gaps_or_repeats(alice_api, org):
    for i in range(7):
        kpi_actions.create_kpi(org=org, name=f"KPI {i}")

    seen, url = [], "/api/v1/kpis?limit=3&sort=-created_at"
    while True:
        page = alice_api.get(url).json()
        seen += [item["name"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        url = f"/api/v1/kpis?limit=3&sort=-created_at&cursor={page['next_cursor']}"

    assert seen == [f"KPI {i}" for i in reversed(range(7))]


def test_times_keep_their_microseconds_in_utc_and_a_time_sent_back_finds_its_point(
    alice_api, org
):
    """The API writes times as pydantic does (landmark/api/renderers.py): ISO 8601 in
    UTC with `Z`, microseconds when there are any, so nothing is rounded away."""
    kpi = kpi_actions.create_kpi(org=org, name="Signups")
    when = timezone.now().replace(microsecond=123456) - timedelta(hours=1)
    point = kpi_actions.record_data_point(kpi=kpi, value=Decimal("2.50"), time=when)
    kpi.refresh_from_db()

    listed = alice_api.get(f"/api/v1/kpis/{kpi.pk}/points").json()["items"]
    alone = alice_api.get(f"/api/v1/kpis/{kpi.pk}").json()

    assert [p["time"] for p in listed] == [
        point.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.123456Z")
    ]
    assert listed[0]["value"] == "2.5"
    assert alone["created_at"] == kpi.created_at.astimezone(UTC).isoformat().replace(
        "+00:00", "Z"
    )
    same = alice_api.get(
        f"/api/v1/kpis/{kpi.pk}/points", {"since": listed[0]["time"]}
    ).json()["items"]
    assert [p["id"] for p in same] == [point.pk]
